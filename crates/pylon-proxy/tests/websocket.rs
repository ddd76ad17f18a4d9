//! WebSocket (HTTP/1.1 Upgrade) through a location with a rewrite and request headers.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::util::{ENV, bounded, tls_connect};

#[tokio::test]
async fn websocket_echo_through_rewrite_and_headers() {
    let env = &*ENV;
    let uri = format!("ws://127.0.0.1:{}/ws/chat?room=7", env.plain.port());
    let (mut ws, resp) = bounded(tokio_tungstenite::connect_async(uri)).await.unwrap();
    assert_eq!(resp.status(), 101);
    assert_eq!(
        resp.headers().get("x-ws-response").and_then(|v| v.to_str().ok()),
        Some("pylon"),
        "response_set_headers on the 101"
    );

    // The upstream's first message says what the upgrade request looked like to it.
    let first = bounded(ws.next()).await.expect("a first message").unwrap();
    assert_eq!(first, Message::text("path=/echo/chat?room=7 via=pylon http"));

    let sent: Vec<Message> = vec![
        Message::text("hello"),
        Message::binary(vec![0u8, 1, 2, 255, 254]),
        Message::text("ünïcödé ✓"),
        Message::binary(vec![7u8; 70_000]),
        Message::text(""),
        Message::binary((0..=255u8).collect::<Vec<_>>()),
    ];
    for m in &sent {
        bounded(ws.send(m.clone())).await.unwrap();
    }
    for want in &sent {
        let got = bounded(ws.next()).await.expect("an echo").unwrap();
        assert_eq!(&got, want);
    }
    // Interleaved: one at a time, both ways.
    for i in 0..5u8 {
        let m = Message::binary(vec![i; usize::from(i) * 1000 + 1]);
        bounded(ws.send(m.clone())).await.unwrap();
        assert_eq!(bounded(ws.next()).await.expect("an echo").unwrap(), m);
    }
    bounded(ws.close(None)).await.unwrap();
}

#[tokio::test]
async fn websocket_over_a_tls_listener_with_h2_enabled() {
    let env = &*ENV;
    // A WebSocket client offers http/1.1 only: the h2-enabled listener must agree to it.
    let tls = tls_connect(env.sni, "a.example.test", &[b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let uri = format!("wss://a.example.test:{}/ws/secure", env.sni.port());
    let (mut ws, resp) = bounded(tokio_tungstenite::client_async(uri, tls)).await.unwrap();
    assert_eq!(resp.status(), 101);
    let first = bounded(ws.next()).await.expect("a first message").unwrap();
    assert_eq!(first, Message::text("path=/echo/secure via=pylon https"));
    for m in [Message::text("over tls"), Message::binary(vec![42u8; 100_000])] {
        bounded(ws.send(m.clone())).await.unwrap();
        assert_eq!(bounded(ws.next()).await.expect("an echo").unwrap(), m);
    }
    bounded(ws.close(None)).await.unwrap();
}

#[tokio::test]
async fn websocket_upgrade_to_an_unknown_location_is_404() {
    let env = &*ENV;
    let uri = format!("ws://127.0.0.1:{}/nowhere", env.plain.port());
    let err = bounded(tokio_tungstenite::connect_async(uri)).await.unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 404),
        other => panic!("expected an HTTP 404, got {other}"),
    }
}
