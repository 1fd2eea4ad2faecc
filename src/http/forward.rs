//! HTTP on any node of a cluster (contract §11): a standby forwards every HTTP request to the
//! leader (its address from presence) and returns the leader's answer, streaming both bodies
//! (uploads, downloads, the open `GET /api/v1/events` stream) with awc. A node answers
//! `/healthz`, `/readyz`, `/metrics`, `/api/openapi.json` and `GET /api/v1/cluster` itself, and
//! `/ws` (which it relays to the leader over NATS: `ws_relay`). With
//! no leader heard, or none reachable, a standby answers 503 `unavailable` with `Retry-After`.
//!
//! A forwarded request carries `x-switchboard-forwarded-by`; a node that does not lead refuses
//! such a request instead of forwarding it again, so two nodes with stale views never bounce a
//! request between them.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::body::{BodySize, EitherBody, MessageBody, SizedStream};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};

use crate::cluster::Cluster;
use crate::error::{AppError, ErrorCode};
use crate::settings::ClusterSettings;
use crate::state::AppState;

/// Marks a request a standby forwarded, with that standby's node id.
const FORWARDED_BY: &str = "x-switchboard-forwarded-by";

/// `Retry-After` on a standby's refusal, in seconds: a takeover takes about that long per try.
const RETRY_AFTER_SECS: &str = "1";

/// Headers that belong to one connection, never passed on (RFC 9110 §7.6.1), plus the framing
/// headers the forwarded body sets again itself.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
];

/// One worker's HTTP client to the leader (awc's client is per thread; pooled connections).
pub struct Forwarder {
    /// Keeps connections to the leader open between requests; no limit on how many (an open
    /// event stream holds one).
    client: awc::Client,
}

impl Forwarder {
    /// A client that waits `cluster.forward_connect_ms` for a connection and
    /// `cluster.forward_timeout_ms` for the leader's status and headers.
    pub fn new(settings: &ClusterSettings) -> Forwarder {
        let connector = awc::Connector::new()
            .limit(0)
            .timeout(Duration::from_millis(settings.forward_connect_ms));
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(Duration::from_millis(settings.forward_timeout_ms))
            .no_default_headers()
            .disable_redirects()
            .finish();
        Forwarder { client }
    }
}

/// Paths every node answers itself.
fn served_locally(path: &str) -> bool {
    matches!(
        path,
        "/healthz" | "/readyz" | "/metrics" | "/api/openapi.json" | "/api/v1/cluster" | "/ws"
    )
}

/// On a cluster standby, forwards every request but those it answers itself to the leader.
pub async fn forward(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let standby = req
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.cluster.clone())
        .filter(|cluster| !cluster.leading() && !served_locally(req.path()));
    let Some(cluster) = standby else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let res = match to_leader(&cluster, req.headers()) {
        Err(refusal) => refused(refusal),
        Ok(address) => match req.app_data::<Forwarder>() {
            Some(forwarder) => {
                let client = forwarder.client.clone();
                let (http, payload) = req.into_parts();
                let res = send(&client, &cluster, &address, &http, payload).await;
                return Ok(ServiceResponse::new(http, res).map_into_right_body());
            }
            None => {
                AppError::new(ErrorCode::Internal, "no forwarder on this worker").error_response()
            }
        },
    };
    Ok(req.into_response(res).map_into_right_body())
}

/// Where the leader is, or why this standby cannot forward.
fn to_leader(cluster: &Cluster, headers: &HeaderMap) -> Result<String, AppError> {
    let standby = format!(
        "node {} is a standby of cluster {}",
        cluster.node_id, cluster.name
    );
    if let Some(by) = headers.get(FORWARDED_BY) {
        let by = by.to_str().unwrap_or("?");
        return Err(unavailable(format!(
            "{standby}, and {by} forwarded this request here as if it led: try again"
        )));
    }
    match leader(cluster) {
        Some((id, _)) if id == cluster.node_id => Err(unavailable(format!(
            "{standby}: it has just stopped leading, and no other leader is known yet"
        ))),
        Some((_, address)) => Ok(address),
        None => Err(unavailable(format!("{standby}: no leader is known yet"))),
    }
}

/// The leader heard within `cluster.node_timeout_ms`.
fn leader(cluster: &Cluster) -> Option<(String, String)> {
    cluster.leader_heard(Duration::from_millis(cluster.settings.node_timeout_ms))
}

fn unavailable(detail: String) -> AppError {
    AppError::new(ErrorCode::Unavailable, detail)
}

/// 503 `unavailable` with `Retry-After`.
fn refused(err: AppError) -> HttpResponse {
    let mut res = err.error_response();
    res.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_static(RETRY_AFTER_SECS),
    );
    res
}

/// Sends the request to the leader at `address` and turns its answer into this node's.
async fn send(
    client: &awc::Client,
    cluster: &Cluster,
    address: &str,
    http: &actix_web::HttpRequest,
    payload: actix_web::dev::Payload,
) -> HttpResponse {
    let uri = http
        .uri()
        .path_and_query()
        .map_or_else(|| http.path().to_string(), |pq| pq.as_str().to_string());
    let mut request = client.request(http.method().clone(), format!("http://{address}{uri}"));
    let headers = request.headers_mut();
    for (name, value) in end_to_end(http.headers()) {
        headers.append(name, value);
    }
    add_forwarded(headers, http, &cluster.node_id);
    let sent = match body_size(http.headers()) {
        BodySize::None => request.send().await,
        BodySize::Sized(len) => request.send_body(SizedStream::new(len, payload)).await,
        BodySize::Stream => request.send_stream(payload).await,
    };
    match sent {
        Ok(answer) => {
            let mut res = HttpResponse::build(answer.status());
            for (name, value) in end_to_end(answer.headers()) {
                res.append_header((name, value));
            }
            match body_size(answer.headers()) {
                BodySize::Sized(len) => res.body(SizedStream::new(len, answer)),
                _ => res.streaming(answer),
            }
        }
        Err(err) => {
            tracing::warn!(leader = address, error = %err, "forwarding to the leader failed");
            refused(unavailable(format!(
                "node {} is a standby of cluster {} and could not reach the leader at {address}: {err}",
                cluster.node_id, cluster.name
            )))
        }
    }
}

/// The headers of a message minus the hop-by-hop ones, including those its `Connection` names.
fn end_to_end(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect();
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            !HOP_BY_HOP.contains(&name) && !named.iter().any(|n| n == name)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// How a message's body is framed: none, `Content-Length`, or a stream (chunked).
fn body_size(headers: &HeaderMap) -> BodySize {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return BodySize::Stream;
    }
    match headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        Some(len) => BodySize::Sized(len),
        None if headers.contains_key(header::CONTENT_LENGTH) => BodySize::Stream,
        None => BodySize::None,
    }
}

/// Appends this hop to `Forwarded` (RFC 7239) and `X-Forwarded-For`, and marks the request as
/// forwarded by `node_id`.
fn add_forwarded(headers: &mut HeaderMap, http: &actix_web::HttpRequest, node_id: &str) {
    let peer = http.peer_addr();
    let host = http.connection_info().host().to_string();
    let proto = http.connection_info().scheme().to_string();
    let mut hop = String::new();
    if let Some(peer) = peer {
        hop.push_str(&format!("for={};", forwarded_node(peer)));
    }
    hop.push_str(&format!("host=\"{}\";proto={proto}", host.replace('"', "")));
    append_list(headers, header::FORWARDED, &hop);
    if let Some(peer) = peer {
        append_list(
            headers,
            HeaderName::from_static("x-forwarded-for"),
            &peer.ip().to_string(),
        );
    }
    if let Ok(value) = HeaderValue::from_str(node_id) {
        headers.insert(HeaderName::from_static(FORWARDED_BY), value);
    }
}

/// A `for=` node of RFC 7239: IPv4 bare, IPv6 quoted in brackets.
fn forwarded_node(peer: SocketAddr) -> String {
    match peer {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => format!("\"[{}]\"", v6.ip()),
    }
}

/// Adds `item` to the comma-separated list header `name` (creating it).
fn append_list(headers: &mut HeaderMap, name: HeaderName, item: &str) {
    let joined = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(existing) if !existing.trim().is_empty() => format!("{existing}, {item}"),
        _ => item.to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, x-private"),
            ("x-private", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("authorization", "Bearer t"),
            ("content-type", "image/png"),
        ] {
            headers.append(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        let kept: Vec<String> = end_to_end(&headers)
            .into_iter()
            .map(|(n, _)| n.as_str().to_string())
            .collect();
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(kept.contains(&"authorization".to_string()));
        assert!(kept.contains(&"content-type".to_string()));
    }
}
