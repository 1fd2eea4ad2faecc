//! Connections: the harness's HTTP/WebSocket client (no pool limit, `TCP_NODELAY`), opening a
//! WebSocket and waiting for `hello` (the `connect` latency), and one churn cycle.

use std::rc::Rc;
use std::time::Duration;

use awc::http;
use awc::ws::{Frame, Message};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;

use super::client::{In, Shared, Socket};

/// The harness's HTTP/WebSocket client: no pool limit (every simulated participant holds a
/// connection) and `TCP_NODELAY`, so small frames are not held back by Nagle's algorithm.
pub fn http_client() -> awc::Client {
    use actix_service::Service;
    let tcp = actix_tls::connect::Connector::default().service();
    let nodelay =
        actix_service::fn_service(move |req: actix_tls::connect::ConnectInfo<http::Uri>| {
            let connect = tcp.call(req);
            async move {
                let connection = connect.await?;
                let _ = connection.io_ref().set_nodelay(true);
                Ok::<_, actix_tls::connect::ConnectError>(connection)
            }
        });
    awc::Client::builder()
        .connector(
            awc::Connector::new()
                .connector(nodelay)
                .limit(0)
                .timeout(Duration::from_secs(10)),
        )
        .timeout(Duration::from_secs(30))
        .finish()
}

/// Opens a connection and waits for `hello`; the error is the code to count.
pub async fn connect(shared: &Shared, token: &str) -> Result<Socket, String> {
    let _permit = shared.connecting.acquire().await.map_err(|_| "shutdown")?;
    let started = Instant::now();
    shared.stats.borrow_mut().connects_attempted += 1;
    let request = shared
        .http
        .ws(shared.next_ws_url())
        .bearer_auth(token)
        .max_frame_size(1 << 24);
    let mut socket = match tokio::time::timeout(Duration::from_secs(30), request.connect()).await {
        Ok(Ok((_, socket))) => socket,
        Ok(Err(awc::error::WsClientError::InvalidResponseStatus(status))) => {
            return Err(format!("http_{}", status.as_u16()));
        }
        Ok(Err(_)) => return Err("connect_failed".into()),
        Err(_) => return Err("connect_timeout".into()),
    };
    let hello = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(frame) = socket.next().await {
            if let Ok(Frame::Text(bytes)) = frame {
                return serde_json::from_slice::<In>(&bytes).ok().map(|f| f.kind);
            }
        }
        None
    })
    .await;
    match hello {
        Ok(Some(kind)) if kind == "hello" => {
            let took = started.elapsed().as_micros();
            shared
                .stats
                .borrow_mut()
                .connected(u64::try_from(took).unwrap_or(u64::MAX));
            Ok(socket)
        }
        Ok(Some(_)) => Err("no_hello".into()),
        Ok(None) => Err("closed".into()),
        Err(_) => Err("hello_timeout".into()),
    }
}

/// One churn cycle: a fresh user connects, reads hello, and leaves.
pub async fn churn_once(shared: Rc<Shared>, token: String) {
    match connect(&shared, &token).await {
        Ok(mut socket) => {
            let _ = socket.send(Message::Close(None)).await;
            let mut stats = shared.stats.borrow_mut();
            stats.disconnected();
            stats.churn_cycles += 1;
        }
        Err(code) => shared.stats.borrow_mut().error(&code),
    }
}
