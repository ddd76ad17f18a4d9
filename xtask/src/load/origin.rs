//! The benchmark origin: a small, fast HTTP/1.1 server (hyper on one current-thread tokio
//! runtime), started by the load bench as `xtask origin --addr 127.0.0.1:PORT` in a process
//! of its own so that it can be pinned to a CPU and its CPU time kept apart from the proxy's.
//!
//! `GET /1k` answers 1024 bytes, `GET /1m` 1 MiB (`text/plain`, so a compression plugin
//! applies; keep-alive), `/auth` an empty 200 (the forward_auth plugin's auth service); any
//! other path is a 404. Bodies are built once and shared (a refcount per response).

use std::convert::Infallible;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;

/// The body served at `path`, if any.
pub(crate) fn body_size(path: &str) -> Option<usize> {
    match path {
        "/1k" => Some(1024),
        "/1m" => Some(1024 * 1024),
        _ => None,
    }
}

fn body(len: usize) -> Bytes {
    // Printable, not all one byte: nothing on the way can shortcut a run of zeros.
    Bytes::from((0..len).map(|i| b'a' + (i % 26) as u8).collect::<Vec<u8>>())
}

/// `xtask origin --addr ADDR`: serve until killed.
pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let addr = match args {
        [flag, addr] if flag == "--addr" => addr.clone(),
        _ => anyhow::bail!("usage: xtask origin --addr 127.0.0.1:PORT"),
    };
    let small = body(1024);
    let large = body(1024 * 1024);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("bind {addr}"))?;
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let (small, large) = (small.clone(), large.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let resp = match body_size(req.uri().path()) {
                        Some(1024) => ok(small.clone()),
                        Some(_) => ok(large.clone()),
                        None if req.uri().path() == "/auth" => {
                            Response::builder().body(Full::new(Bytes::new()))
                        }
                        None => Response::builder()
                            .status(StatusCode::NOT_FOUND)
                            .body(Full::new(Bytes::from_static(b"not found\n"))),
                    };
                    std::future::ready(Ok::<_, Infallible>(
                        resp.unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}

fn ok(body: Bytes) -> Result<Response<Full<Bytes>>, hyper::http::Error> {
    Response::builder().header("content-type", "text/plain").body(Full::new(body))
}
