//! A raw HTTP/1 origin that records exactly what it received: every byte of every
//! connection, the messages those bytes parse into under the strict parser of [`crate::h1`],
//! and the bytes that did not make a complete message. Tests assert "reached no upstream"
//! and "the upstream received exactly one well-formed message" on it.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

use crate::h1::{self, Message};

/// What the origin sends for a request.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The raw response bytes.
    pub bytes: Vec<u8>,
    /// Wait this long before writing them.
    pub delay: Duration,
    /// Close the connection after writing them.
    pub close: bool,
}

impl Answer {
    /// `bytes` at once, keeping the connection open.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Answer {
        Answer { bytes: bytes.into(), delay: Duration::ZERO, close: false }
    }

    /// A well-formed response: status, fields, and `body` with a Content-Length.
    pub fn ok(body: &str) -> Answer {
        Answer::raw(response(200, &[], body.as_bytes()))
    }

    /// The same, after `delay`.
    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }

    /// The same, then close the connection.
    pub fn then_close(mut self) -> Answer {
        self.close = true;
        self
    }
}

/// The bytes of a well-formed HTTP/1.1 response with a Content-Length.
pub fn response(status: u16, fields: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len()).into_bytes();
    for (n, v) in fields {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The answer for each complete request.
pub type Responder = Arc<dyn Fn(&Message) -> Answer + Send + Sync>;

/// What one connection to the origin carried.
#[derive(Debug, Clone, Default)]
pub struct ConnLog {
    /// Every byte received, in order.
    pub raw: Vec<u8>,
    /// The complete, well-formed messages, in order.
    pub messages: Vec<Message>,
    /// Received bytes after the last complete message (an incomplete message).
    pub pending: Vec<u8>,
    /// Why the bytes after the last complete message are not a well-formed message.
    pub malformed: Option<String>,
    /// The peer closed its side.
    pub closed: bool,
}

#[derive(Default)]
struct State {
    conns: Mutex<Vec<Arc<Mutex<ConnLog>>>>,
}

/// A raw HTTP/1 origin on 127.0.0.1 (see the module docs).
pub struct RawOrigin {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
    responder: Arc<Mutex<Responder>>,
    early: Arc<Mutex<Option<Answer>>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for RawOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawOrigin").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl RawOrigin {
    /// An origin answering every request with `200` and the body `"origin: N bytes"`.
    pub async fn start() -> RawOrigin {
        RawOrigin::with(|m: &Message| Answer::ok(&format!("origin: {} bytes", m.body.len()))).await
    }

    /// An origin answering each complete request with `responder(request)`.
    pub async fn with(responder: impl Fn(&Message) -> Answer + Send + Sync + 'static) -> RawOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind raw origin");
        let addr = listener.local_addr().expect("raw origin addr");
        let state = Arc::new(State::default());
        let responder: Arc<Mutex<Responder>> = Arc::new(Mutex::new(Arc::new(responder)));
        let early: Arc<Mutex<Option<Answer>>> = Arc::new(Mutex::new(None));
        let task = tokio::spawn(accept(listener, state.clone(), responder.clone(), early.clone()));
        RawOrigin { addr, state, responder, early, task }
    }

    /// From now on, answer with `answer` as soon as a request head has arrived, before
    /// its body (what a plain Python `http.server` does), and keep reading and recording.
    pub fn answer_early(&self, answer: Answer) {
        *self.early.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer);
    }

    /// Replace the responder.
    pub fn respond_with(&self, responder: impl Fn(&Message) -> Answer + Send + Sync + 'static) {
        *self.responder.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(responder);
    }

    /// A snapshot of every connection that sent at least one byte.
    pub fn connections(&self) -> Vec<ConnLog> {
        let conns = self.state.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns
            .iter()
            .map(|c| c.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .filter(|c| !c.raw.is_empty())
            .collect()
    }

    /// Every complete message received, over all connections, in arrival order per connection.
    pub fn messages(&self) -> Vec<Message> {
        self.connections().into_iter().flat_map(|c| c.messages).collect()
    }

    /// Whether any byte reached this origin.
    pub fn touched(&self) -> bool {
        !self.connections().is_empty()
    }

    /// Every byte received, all connections joined (for failure messages).
    pub fn dump(&self) -> String {
        self.connections()
            .iter()
            .enumerate()
            .map(|(i, c)| format!("conn {i}: {:?}\n", String::from_utf8_lossy(&c.raw)))
            .collect()
    }

    /// The one message this origin received: panics unless exactly one complete,
    /// well-formed message arrived and no other byte did.
    pub fn only_message(&self) -> Message {
        let conns = self.connections();
        let messages: Vec<&Message> = conns.iter().flat_map(|c| &c.messages).collect();
        let stray = conns.iter().any(|c| !c.pending.is_empty() || c.malformed.is_some());
        match (messages.as_slice(), stray) {
            ([one], false) => (*one).clone(),
            _ => panic!(
                "expected exactly one well-formed message upstream, got:\n{}{conns:#?}",
                self.dump()
            ),
        }
    }

    /// Wait (up to `within`) until `n` complete messages have arrived.
    pub async fn wait_messages(&self, n: usize, within: Duration) -> Vec<Message> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let m = self.messages();
            if m.len() >= n || tokio::time::Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Forget every recorded connection.
    pub fn clear(&self) {
        self.state.conns.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl Drop for RawOrigin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(
    listener: TcpListener,
    state: Arc<State>,
    responder: Arc<Mutex<Responder>>,
    early: Arc<Mutex<Option<Answer>>>,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let log = Arc::new(Mutex::new(ConnLog::default()));
                state.conns.lock().unwrap_or_else(|e| e.into_inner()).push(log.clone());
                let responder = responder.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let early = early.lock().unwrap_or_else(|e| e.into_inner()).clone();
                conns.spawn(serve(stream, log, responder, early));
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn serve(
    mut stream: TcpStream,
    log: Arc<Mutex<ConnLog>>,
    responder: Responder,
    early: Option<Answer>,
) {
    let lock = || log.lock().unwrap_or_else(|e| e.into_inner());
    let mut buf: Vec<u8> = Vec::new();
    let mut eof = false;
    let mut answered_head = false;
    loop {
        // Take every complete message off the front of the buffer.
        loop {
            if let (Some(answer), false) = (&early, answered_head) {
                if h1::head_end(&buf).is_some() {
                    answered_head = true;
                    if write(&mut stream, answer).await.is_err() {
                        return;
                    }
                }
            }
            match h1::parse_message(&buf, None, eof) {
                Ok(Some((message, len))) => {
                    buf.drain(..len);
                    let answer = (early.is_none()).then(|| responder(&message));
                    {
                        let mut l = lock();
                        l.messages.push(message);
                        l.pending.clone_from(&buf);
                    }
                    answered_head = false;
                    if let Some(answer) = answer {
                        if write(&mut stream, &answer).await.is_err() || answer.close {
                            return;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    lock().malformed = Some(e.0);
                    // Keep reading (and recording) until the peer gives up.
                    break;
                }
            }
        }
        if eof {
            return;
        }
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                eof = true;
                lock().closed = true;
            }
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                let mut l = lock();
                l.raw.extend_from_slice(&chunk[..n]);
                l.pending.clone_from(&buf);
            }
        }
    }
}

async fn write(stream: &mut TcpStream, answer: &Answer) -> std::io::Result<()> {
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    stream.write_all(&answer.bytes).await?;
    stream.flush().await?;
    if answer.close {
        let _ = stream.shutdown().await;
    }
    Ok(())
}
