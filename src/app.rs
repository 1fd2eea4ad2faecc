//! Assembles and runs the server: database, migrations, demo seed, shared state, the HTTP app.
//! `Application::build` binds the listener (port 0 picks a free one) so tests can ask for the port
//! before the server runs. In cluster mode (contract §11) the node connects to NATS, starts as a
//! standby, and loads its router and starts its webhook worker only once it takes the lease.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use actix::{Actor, Arbiter, AsyncContext};

use crate::actors::chat::ChatDirectory;
use crate::actors::feed::Feed;
use crate::actors::hub::Hub;
use crate::actors::router::{LoadDirectory, Router, RouterDeps};
use crate::actors::socket;
use crate::actors::store_writer::{Drain, StoreWriter};
use crate::actors::webhooks::WebhookWorker;
use crate::auth::{Jwks, JwtKeys, Tickets};
use crate::cluster::{self, Cluster};
use crate::settings::Settings;
use crate::state::AppState;
use crate::{http, seed, store, telemetry};

/// A built server, bound and ready to run.
pub struct Application {
    addr: SocketAddr,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = store::connect(&settings.database)
            .await
            .context("database.url: cannot open the database")?;
        let demo = settings.seed.demo;
        let offer = i32::try_from(settings.routing.offer_timeout_secs).unwrap_or(i32::MAX);
        let prepare = async |db: &sea_orm::DatabaseConnection| -> anyhow::Result<()> {
            store::migrate(db).await.context("migrations failed")?;
            if demo {
                seed::demo(db, offer).await.context("demo seed failed")?;
            }
            Ok(())
        };
        if settings.cluster.enabled() {
            // Nodes started together take turns.
            store::exclusively(&settings.database, prepare).await?;
        } else {
            prepare(&db).await?;
        }
        let listener = TcpListener::bind(settings.server.bind)
            .with_context(|| format!("server.bind: cannot listen on {}", settings.server.bind))?;
        let addr = listener.local_addr()?;
        let cluster = if settings.cluster.enabled() {
            Some(Cluster::connect(&settings.cluster, addr).await?)
        } else {
            None
        };
        let settings = Arc::new(settings);
        let hub = Arc::new(Hub::default());
        let directory = Arc::new(ChatDirectory::default());
        let feed = Arc::new(Feed::default());
        let store_healthy = Arc::new(AtomicBool::new(true));
        let writer_db = match &cluster {
            // Paused mid-transaction for longer than it may decide, its transaction is ended.
            Some(c) => {
                let idle = c.settings.lease_ms - c.settings.renew_ms;
                store::connect_fenced_writer(&settings.database, idle).await
            }
            None => store::connect_writer(&settings.database).await,
        }
        .context("database.url: cannot open the store writer's connection")?;
        if store::is_sqlite(&settings.database) {
            let checkpointer = store::connect_checkpointer(&settings.database)
                .await
                .context("database.url: cannot open the checkpointer's connection")?;
            let every = Duration::from_millis(settings.database.sqlite_checkpoint_ms);
            actix_web::rt::spawn(store::checkpoint::run(checkpointer, every));
        }
        let webhooks_wake = Arc::new(tokio::sync::Notify::new());
        let writer = StoreWriter::new(writer_db, &settings.store, store_healthy.clone())
            .waking(webhooks_wake.clone())
            .fenced(cluster.as_ref().map(|c| c.fence.clone()));
        // Its own thread: commits are not held up behind the actors' work, and the encoding of
        // each batch does not take the actors' time.
        let writer = StoreWriter::start_in_arbiter(&Arbiter::new().handle(), move |_| writer);
        let deps = RouterDeps {
            delivery: hub.clone(),
            directory: directory.clone(),
            writer: writer.clone(),
            feed: feed.clone(),
            db: db.clone(),
            settings: settings.clone(),
        };
        let router = Router::create(|ctx| Router::new(deps, ctx.address().recipient()));
        let lead = {
            let (router, db, writer) = (router.clone(), db.clone(), writer.clone());
            let (webhooks, wake) = (settings.webhooks.clone(), webhooks_wake.clone());
            move || async move {
                router
                    .send(LoadDirectory)
                    .await
                    .context("router did not start")?
                    .context("loading queues, analysts and open chats")?;
                crate::actors::webhooks::retention::spawn(writer.clone(), &webhooks);
                WebhookWorker::start(db, writer, webhooks, wake);
                anyhow::Ok(())
            }
        };
        // A single node leads at once; a cluster node once it takes the lease (below).
        let lead = match &cluster {
            Some(_) => Some(lead),
            None => {
                lead().await?;
                None
            }
        };
        let mut keys = JwtKeys::from_settings(&settings.auth);
        if let Some(jwks) = Jwks::from_settings(&settings.auth).map_err(anyhow::Error::msg)? {
            // Fetched now and on schedule, in the background: `/readyz` waits for the first.
            jwks.clone().spawn_refresher();
            keys = keys.with_jwks(jwks);
        }
        let state = web::Data::new(AppState {
            keys,
            tickets: Tickets::new(Duration::from_secs(settings.auth.ticket_ttl_secs)),
            allowed_origins: allowed_origins(&settings, addr),
            hub,
            directory,
            feed,
            router,
            writer,
            store_healthy,
            webhooks_wake,
            uploads: Arc::new(tokio::sync::Semaphore::new(
                settings.limits.max_concurrent_uploads,
            )),
            db,
            settings: settings.clone(),
            cluster,
        });
        if let (Some(cluster), Some(lead)) = (&state.cluster, lead) {
            // Only the leader routes, delivers webhooks and runs sessions (a standby relays its
            // clients' WebSockets to it): a standby waits for the lease.
            let (hosting, host_state) = (cluster.clone(), state.clone());
            let elected: cluster::Elected = Box::new(move |_epoch| {
                Box::pin(async move {
                    lead().await?;
                    actix_web::rt::spawn(async move {
                        if let Err(err) = http::ws_host::serve(host_state, hosting).await {
                            tracing::error!(error = %err, "tunnelled websockets: cannot subscribe");
                        }
                    });
                    anyhow::Ok(())
                })
            });
            actix_web::rt::spawn(cluster::leadership::run(
                cluster.clone(),
                state.db.clone(),
                elected,
            ));
            actix_web::rt::spawn(cluster::presence::publish(cluster.clone()));
            actix_web::rt::spawn(cluster::tunnel::watch(cluster.clone()));
            let listening = cluster.clone();
            actix_web::rt::spawn(async move {
                if let Err(err) = cluster::presence::listen(listening).await {
                    tracing::error!(error = %err, "cluster presence: cannot subscribe");
                }
            });
        }
        let dev_login = settings.auth.dev_login;
        let (origins, cors_max_age) = (
            state.allowed_origins.clone(),
            settings.server.cors_max_age_secs,
        );
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                // Per worker: awc's client lives on one thread.
                .app_data(http::forward::Forwarder::new(&app_state.settings.cluster))
                .wrap(from_fn(http::forward::forward))
                .wrap(from_fn(telemetry::request_span))
                .configure(|cfg| {
                    http::configure(cfg, dev_login, http::cors::policy(&origins, cors_max_age))
                })
        })
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        // Small frames (acks, relayed messages) must leave at once, not wait out Nagle's
        // algorithm against the peer's delayed ACK (a 40 ms stall per burst on Linux).
        .tcp_nodelay(true)
        // A client that stops reading is cut off by the kernel after the heartbeat's timeout,
        // even while its session (which runs only when its socket takes writes) is frozen.
        .on_connect(socket::on_connect(Duration::from_secs(
            settings.ws.client_timeout_secs,
        )))
        .disable_signals();
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server.listen(listener)?.run();
        Ok(Application {
            addr,
            server,
            state,
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state (tests read the database through it).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGTERM or SIGINT, then stops gracefully: no new connections, every socket
    /// closed with 1012, every message handed to the store writer committed, then exit.
    /// A cluster node that loses its lease stops serving and returns an error (contract §11).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let state = self.state.clone();
        actix_web::rt::spawn(async move {
            if wait_for_stop_signal().await.is_ok() {
                tracing::info!("stopping: closing connections and flushing messages");
                handle.pause().await;
                state.hub.close_all();
                let _ = state.writer.send(Drain).await;
                if let Some(cluster) = &state.cluster {
                    cluster.resign(&state.db).await;
                }
                handle.stop(true).await;
                tracing::info!("stopped cleanly");
            }
        });
        if let Some(cluster) = self.state.cluster.clone() {
            let (handle, state) = (self.server.handle(), self.state.clone());
            actix_web::rt::spawn(async move {
                cluster.lost().await;
                state.hub.close_all();
                handle.stop(false).await;
            });
        }
        self.server.await?;
        match &self.state.cluster {
            Some(cluster) if cluster.has_lost() => Err(std::io::Error::other(format!(
                "node {} lost the cluster lease and stopped deciding; start it again to rejoin as a standby",
                cluster.node_id
            ))),
            _ => Ok(()),
        }
    }
}

/// `server.allowed_origins`, or when empty the origins the server itself is reached at.
fn allowed_origins(settings: &Settings, addr: SocketAddr) -> Vec<String> {
    if !settings.server.allowed_origins.is_empty() {
        return settings.server.allowed_origins.clone();
    }
    let port = addr.port();
    let mut own = vec![format!("http://{addr}")];
    if addr.ip().is_loopback() {
        own.push(format!("http://localhost:{port}"));
        own.push(format!("http://127.0.0.1:{port}"));
    }
    own.dedup();
    own
}

/// Resolves on SIGTERM or SIGINT.
async fn wait_for_stop_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
