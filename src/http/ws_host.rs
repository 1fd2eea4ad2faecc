//! The leader's side of tunnelled WebSockets (contract §11): while this node leads it answers
//! `{name}.ws.open` (only the leader subscribes, so a standby never answers) with the checks a
//! local `/ws` runs (`ws::admit`: ticket or bearer token, the per-principal cap across the
//! cluster, since every session is in this hub), listens on the tunnel's `.in` subject before it
//! answers, and runs an ordinary `Session` in a `WebsocketContext` whose input is the bytes from
//! NATS and whose output it publishes on `.out`. It holds no socket per tunnelled session. The
//! session ends when the standby's end marker arrives, a message is missing, or the standby's
//! heartbeats stop (`cluster::tunnel::watch`): then it stops as for a dropped socket
//! (`Disconnect`, grace rules), and its end marker tells the standby to close the client's socket.

use std::sync::Arc;

use actix_web::web;
use actix_web::web::Bytes;
use actix_web_actors::ws::WebsocketContext;
use futures_util::StreamExt;
use futures_util::stream::{AbortHandle, Stream, abortable};

use crate::actors::socket::SocketAbort;
use crate::cluster::Cluster;
use crate::cluster::tunnel::{self, OpenReply, OpenRequest, Relay};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::ws;
use crate::state::AppState;

/// Answers open requests for as long as the subscription lasts (the process ends when this node
/// loses its lease).
pub async fn serve(state: web::Data<AppState>, cluster: Arc<Cluster>) -> anyhow::Result<()> {
    let mut opens = cluster.nats.subscribe(cluster.subject("ws.open")).await?;
    while let Some(message) = opens.next().await {
        let Some(reply_to) = message.reply.clone() else {
            continue;
        };
        let (state, cluster) = (state.clone(), cluster.clone());
        actix_web::rt::spawn(async move {
            let answer = match open(&state, &cluster, &message.payload).await {
                Ok(()) => OpenReply::Open {
                    leader: cluster.node_id.clone(),
                },
                Err(err) => OpenReply::Refused {
                    code: err.code,
                    message: err.message,
                },
            };
            match serde_json::to_vec(&answer) {
                Ok(body) => {
                    if let Err(err) = cluster.nats.publish(reply_to, body.into()).await {
                        tracing::warn!(error = %err, "tunnel: open answer not published");
                    }
                }
                Err(err) => tracing::warn!(error = %err, "tunnel: open answer not encoded"),
            }
        });
    }
    Ok(())
}

/// Admits the client and starts its session, listening before it answers.
async fn open(state: &web::Data<AppState>, cluster: &Arc<Cluster>, body: &[u8]) -> AppResult<()> {
    if !cluster.leading() {
        return Err(AppError::new(
            ErrorCode::Unavailable,
            format!(
                "node {} does not lead cluster {}",
                cluster.node_id, cluster.name
            ),
        ));
    }
    let request: OpenRequest = serde_json::from_slice(body).map_err(|e| {
        AppError::bad_request(format!("a tunnel open request that does not parse: {e}"))
    })?;
    let principal = ws::admit(state, request.ticket.as_deref(), request.bearer.as_deref()).await?;
    let from_client = cluster
        .nats
        .subscribe(tunnel::inbound_subject(cluster, &request.tunnel))
        .await
        .map_err(|e| {
            AppError::new(
                ErrorCode::Unavailable,
                format!("cannot listen on the tunnel: {e}"),
            )
        })?;
    let (input, stop) = abortable(tunnel::inbound(from_client, "from the standby"));
    cluster
        .hosted
        .insert(request.tunnel.clone(), request.node.clone(), stop.clone());
    tracing::info!(tunnel = %request.tunnel, node = %request.node, "hosting a relayed websocket");
    let session = ws::session(state, principal, SocketAbort::new(None));
    let input = input.map(Ok::<_, actix_web::error::PayloadError>);
    let output = WebsocketContext::with_codec(session, input, ws::codec(state));
    let to_client = Relay::new(
        cluster.nats.clone(),
        tunnel::outbound_subject(cluster, &request.tunnel),
    );
    actix_web::rt::spawn(pump(
        output,
        to_client,
        stop,
        cluster.clone(),
        request.tunnel,
    ));
    Ok(())
}

/// Publishes the session's bytes until it stops, then the end marker.
async fn pump(
    output: impl Stream<Item = Result<Bytes, actix_web::Error>>,
    mut to_client: Relay,
    stop: AbortHandle,
    cluster: Arc<Cluster>,
    tunnel: String,
) {
    let mut output = std::pin::pin!(output);
    while let Some(chunk) = output.next().await {
        let sent = match chunk {
            Ok(bytes) => to_client.send(bytes).await.map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        if let Err(err) = sent {
            tracing::debug!(error = %err, "tunnel: session bytes not relayed; ending it");
            stop.abort();
        }
    }
    to_client.end().await;
    cluster.hosted.remove(&tunnel);
}
