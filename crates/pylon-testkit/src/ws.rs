//! A WebSocket origin: echoes every text and binary message, optionally after a first
//! message describing the upgrade request it accepted.

use std::{net::SocketAddr, sync::Arc};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_tungstenite::tungstenite::{
    Message,
    handshake::server::{Request, Response},
};

/// The first message's text, made from the upgrade request.
pub type Greeting = Arc<dyn Fn(&Request) -> String + Send + Sync>;

/// A WebSocket echo origin on 127.0.0.1.
pub struct WsEcho {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for WsEcho {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsEcho").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl WsEcho {
    /// Echo only.
    pub async fn start() -> WsEcho {
        WsEcho::greeting(None).await
    }

    /// Send `greeting(upgrade request)` first (when given), then echo.
    pub async fn greeting(greeting: Option<Greeting>) -> WsEcho {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind ws origin");
        let addr = listener.local_addr().expect("ws origin addr");
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        conns.spawn(serve(stream, greeting.clone()));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        WsEcho { addr, task }
    }
}

impl Drop for WsEcho {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(stream: tokio::net::TcpStream, greeting: Option<Greeting>) {
    let mut first = None;
    #[expect(clippy::result_large_err, reason = "tungstenite's Callback signature")]
    let callback = |req: &Request, resp: Response| {
        first = greeting.as_ref().map(|g| g(req));
        Ok(resp)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    if let Some(text) = first {
        if ws.send(Message::text(text)).await.is_err() {
            return;
        }
    }
    // A close is answered by tungstenite on the next poll, which then ends the stream.
    while let Some(Ok(msg)) = ws.next().await {
        if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
            return;
        }
    }
}
