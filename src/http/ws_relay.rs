//! `/ws` on a cluster standby (contract §11): the standby completes the client's TCP connection
//! and WebSocket handshake itself and relays the raw WebSocket bytes, both ways, over NATS to
//! the leader, which runs the session (`ws_host`). It listens on the tunnel's `.out` subject
//! before it asks `{name}.ws.open`, so the session's first frame (`hello`) is not missed; the
//! leader's refusal becomes this handshake's HTTP answer, and no leader answering within
//! `cluster.tunnel_open_ms` (or none subscribed) is 503 `unavailable`. Either end finishing
//! ends the other: the client's socket closing sends the end marker to the leader, the leader's
//! end marker (or a gap in its numbering, or the watcher in `cluster::tunnel` seeing the leader
//! change) closes the client's socket, so the client reconnects and resumes.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use actix_web_actors::ws;
use futures_util::stream::{LocalBoxStream, abortable};
use futures_util::{Stream, StreamExt};

use crate::cluster::Cluster;
use crate::cluster::tunnel::{self, OpenReply, OpenRequest, Relay};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::caller::bearer_token;

/// Opens a tunnel to the leader for this handshake, or answers why not.
pub async fn relay(
    req: &HttpRequest,
    payload: web::Payload,
    ticket: Option<String>,
    cluster: &Arc<Cluster>,
) -> AppResult<HttpResponse> {
    // A handshake that cannot succeed must not spend the client's ticket.
    let mut response = ws::handshake(req).map_err(|e| AppError::bad_request(e.to_string()))?;
    let id = uuid::Uuid::now_v7().simple().to_string();
    let from_leader = cluster
        .nats
        .subscribe(tunnel::outbound_subject(cluster, &id))
        .await
        .map_err(|e| unavailable(format!("cannot listen for the leader: {e}")))?;
    let open = OpenRequest {
        bearer: bearer_token(req).map(str::to_owned),
        ticket,
        node: cluster.node_id.clone(),
        tunnel: id.clone(),
    };
    let leader = ask_to_open(cluster, &open).await?;
    let (from_leader, stop) = abortable(tunnel::inbound(from_leader, "from the leader"));
    cluster.relayed.insert(id.clone(), leader.clone(), stop);
    let mut to_leader = Relay::new(cluster.nats.clone(), tunnel::inbound_subject(cluster, &id));
    tracing::info!(tunnel = %id, leader = %leader, "websocket relayed to the leader");
    // The client's bytes, as they come, until its socket closes.
    actix_web::rt::spawn(async move {
        let mut payload = payload;
        while let Some(Ok(bytes)) = payload.next().await {
            if let Err(err) = to_leader.send(bytes).await {
                tracing::debug!(error = %err, "tunnel: client bytes not relayed");
                break;
            }
        }
        to_leader.end().await;
    });
    let body = Relayed {
        inner: Box::pin(from_leader),
        cluster: cluster.clone(),
        id,
    };
    Ok(response.streaming(body))
}

/// Sends the open request; the leader's node id, or the HTTP answer for the client.
async fn ask_to_open(cluster: &Cluster, open: &OpenRequest) -> AppResult<String> {
    let body =
        serde_json::to_vec(open).map_err(|e| AppError::new(ErrorCode::Internal, e.to_string()))?;
    let request = async_nats::Request::new()
        .payload(body.into())
        .timeout(Some(Duration::from_millis(cluster.settings.tunnel_open_ms)));
    let answer = cluster
        .nats
        .send_request(cluster.subject("ws.open"), request)
        .await
        .map_err(|e| match e.kind() {
            async_nats::RequestErrorKind::NoResponders => unavailable(format!(
                "node {} is a standby of cluster {} and no leader answers right now",
                cluster.node_id, cluster.name
            )),
            _ => unavailable(format!("the leader did not answer: {e}")),
        })?;
    match serde_json::from_slice::<OpenReply>(&answer.payload) {
        Ok(OpenReply::Open { leader }) => Ok(leader),
        Ok(OpenReply::Refused { code, message }) => Err(AppError::new(code, message)),
        Err(err) => Err(AppError::new(
            ErrorCode::Internal,
            format!("the leader's answer does not parse: {err}"),
        )),
    }
}

fn unavailable(message: String) -> AppError {
    AppError::new(ErrorCode::Unavailable, message)
}

/// The response body: the leader's bytes; once it is dropped (either end finished) the tunnel
/// leaves the registry.
struct Relayed {
    /// The session's bytes from the leader, ending at its end marker, a gap, or an abort.
    inner: LocalBoxStream<'static, Bytes>,
    cluster: Arc<Cluster>,
    id: String,
}

impl Stream for Relayed {
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx).map(|b| b.map(Ok))
    }
}

impl Drop for Relayed {
    fn drop(&mut self) {
        self.cluster.relayed.remove(&self.id);
    }
}
