//! `GET /api/v1/cluster` (admins): the cluster's leader, its epoch and the nodes heard lately
//! (contract §11); 404 `not_found` on a single node (`cluster.nats_url` unset). Every node answers
//! it itself (a standby does not forward it to the leader: see `forward`).

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::caller::Caller;
use crate::state::AppState;
use crate::store;
use crate::timefmt::rfc3339;

/// The cluster as this node sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterState {
    /// The node holding a live routing lease, or null while none does (a takeover is due).
    pub leader: Option<String>,
    /// The fencing epoch of the last lease taken (0 before the first).
    pub epoch: i64,
    /// The nodes heard within `cluster.node_timeout_ms`, by id.
    pub nodes: Vec<ClusterNode>,
}

/// One node of the cluster.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterNode {
    /// Its `cluster.node_id`.
    pub id: String,
    /// Where it is reached (`host:port`).
    pub address: String,
    /// Its open WebSocket connections, at its last heartbeat.
    pub connections: i64,
    /// Whether it holds the live lease.
    pub leader: bool,
    /// When its last heartbeat was heard here (RFC 3339).
    pub last_seen: String,
}

#[utoipa::path(
    tag = "ops",
    responses(
        (status = 200, description = "The cluster's leader, epoch and nodes", body = ClusterState),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Only admins may read it", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in cluster mode (`cluster.nats_url` is not set)", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
#[get("/cluster")]
pub async fn get_cluster(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    if !caller.is_admin() {
        return Err(AppError::forbidden("the cluster's state is for admins"));
    }
    let Some(cluster) = &state.cluster else {
        return Err(AppError::new(
            ErrorCode::NotFound,
            "not in cluster mode: cluster.nats_url is not set",
        ));
    };
    let lease = store::lease::current(&state.db, &cluster.name).await?;
    let leader = lease.as_ref().filter(|l| l.live).map(|l| l.holder.clone());
    let timeout = Duration::from_millis(cluster.settings.node_timeout_ms);
    let nodes = cluster
        .nodes
        .live(timeout)
        .into_iter()
        .map(|n| ClusterNode {
            leader: leader.as_deref() == Some(n.id.as_str()),
            id: n.id,
            address: n.address,
            connections: n.connections,
            last_seen: rfc3339(n.last_seen),
        })
        .collect();
    Ok(HttpResponse::Ok().json(ClusterState {
        leader,
        epoch: lease.map_or(0, |l| l.epoch),
        nodes,
    }))
}
