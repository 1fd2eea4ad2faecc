//! The run, phase by phase: provision, connect the analysts (and set them available), connect the
//! users, start one chat per user and wait for them to be answered, converse open-loop at the set
//! rate (with churn alongside), drain and close. A progress line goes to stderr each second.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use tokio::sync::watch;

use super::args::LoadArgs;
use super::client::{Client, Kind, Phase, Shared};
use super::connect;
use super::estimate::EstimateReport;
use super::provision::{self, Minter};
use super::report::{Progress, Report, error_share};
use super::stats::Stats;
use crate::domain::Role;
use crate::settings::AuthSettings;

/// How long the harness waits for connections to settle and for replies to drain.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(300);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the load test; true when the error share stayed within `--max-error-rate`.
/// `auth` is this machine's configuration: its secret (unless `--secret`) and claim rules sign the
/// tokens.
pub async fn run(args: LoadArgs, auth: AuthSettings) -> anyhow::Result<bool> {
    args.check().map_err(|e| anyhow!(e))?;
    let url = args.base_url();
    let http = connect::http_client();
    let minter = Rc::new(Minter::new(
        args.secret.as_deref(),
        args.token.is_some(),
        &auth,
    ));
    let admin = match &args.token {
        Some(token) => token.clone(),
        None => {
            minter
                .token(&http, &url, "load-admin", Role::Admin, "Load Admin")
                .await?
        }
    };
    provision::provision(&http, &args, &admin).await?;

    let stats = Rc::new(RefCell::new(Stats::new()?));
    let (phase_tx, phase_rx) = watch::channel(Phase::Connect);
    let per_side_period =
        (args.rate > 0.0).then(|| Duration::from_secs_f64(2.0 * args.users as f64 / args.rate));
    let shared = Rc::new(Shared {
        stats: stats.clone(),
        http: http.clone(),
        ws_urls: args.ws_urls(),
        next_node: Cell::new(0),
        queue: args.queue.clone(),
        routing: args.routing,
        per_side_period,
        body: "x".repeat(args.body_chars),
        phase: phase_rx,
        connecting: tokio::sync::Semaphore::new(args.connect_concurrency),
        start_pace: (args.start_rate > 0).then(|| Duration::from_secs(1) / args.start_rate),
        starts_taken: Cell::new(0),
        handle_time: args.handle_time,
        skills: args.skills,
    });
    let phase_name = Rc::new(Cell::new("connect"));
    let progress = actix_web::rt::spawn(progress(stats.clone(), phase_name.clone()));
    // Users get fresh ids each run, so a run never trips over an earlier run's open chats.
    let run_id = chrono::Utc::now().timestamp_millis() % 100_000_000;
    let settled = Rc::new(Cell::new(0usize));

    for i in 0..args.analysts {
        let id = provision::analyst_id(i);
        spawn_client(
            &shared,
            &minter,
            &settled,
            &url,
            id,
            Kind::Analyst,
            format!("Load Analyst {i}"),
        );
    }
    wait_until(SETTLE_TIMEOUT, || {
        let s = stats.borrow();
        settled.get() >= args.analysts && s.analysts_ready + s.error_count() >= args.analysts as u64
    })
    .await;
    for i in 0..args.users {
        let id = format!("load-u{run_id}-{i}");
        spawn_client(
            &shared,
            &minter,
            &settled,
            &url,
            id,
            Kind::User,
            format!("Load User {i}"),
        );
    }
    wait_until(SETTLE_TIMEOUT, || {
        settled.get() >= args.analysts + args.users
    })
    .await;

    phase_name.set("start");
    stats.borrow_mut().routing_from = Some(Instant::now());
    phase_tx.send_replace(Phase::Start);
    wait_until(args.assign_timeout, || {
        stats.borrow().chats_routed >= args.users as u64
    })
    .await;

    phase_name.set("converse");
    stats.borrow_mut().converse_from = Some(Instant::now());
    phase_tx.send_replace(Phase::Converse);
    let churn = (args.churn > 0).then(|| {
        actix_web::rt::spawn(churn(
            shared.clone(),
            minter.clone(),
            url.clone(),
            args.churn,
            run_id,
        ))
    });
    actix_web::rt::time::sleep(args.duration).await;
    if let Some(churn) = churn {
        churn.abort();
    }

    phase_name.set("drain");
    phase_tx.send_replace(Phase::Drain);
    wait_until(DRAIN_TIMEOUT, || {
        let s = stats.borrow();
        s.messages_acked + s.messages_failed >= s.messages_sent
    })
    .await;
    {
        let mut s = stats.borrow_mut();
        s.converse_until = s.last_acked;
        let unanswered =
            s.messages_sent - (s.messages_acked + s.messages_failed).min(s.messages_sent);
        if unanswered > 0 {
            *s.errors.entry("no_reply".into()).or_insert(0) += unanswered;
        }
    }
    phase_name.set("close");
    phase_tx.send_replace(Phase::Close);
    let open_chats = stats.borrow().chats_started;
    wait_until(DRAIN_TIMEOUT, || stats.borrow().chats_closed >= open_chats).await;
    phase_tx.send_replace(Phase::Done);
    wait_until(DRAIN_TIMEOUT, || stats.borrow().connections == 0).await;
    progress.abort();

    let stats = stats.borrow();
    let mut report = Report::from_stats(&stats);
    if args.handle_time.is_some() {
        report.estimated_wait = Some(EstimateReport::of(&stats.estimates));
    }
    #[allow(clippy::print_stdout)]
    {
        println!("{}", report.table(&stats));
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .map_err(|e| anyhow!("could not write {}: {e}", path.display()))?;
    }
    if stats.errors.contains_key("rate_limited") {
        eprintln!(
            "switchboard load: the server rate-limited the harness; raise its limits \
             (SWITCHBOARD__LIMITS__MSGS_PER_SEC, SWITCHBOARD__LIMITS__MSGS_BURST)"
        );
    }
    Ok(error_share(&stats) <= args.max_error_rate)
}

fn spawn_client(
    shared: &Rc<Shared>,
    minter: &Rc<Minter>,
    settled: &Rc<Cell<usize>>,
    url: &str,
    id: String,
    kind: Kind,
    name: String,
) {
    let (shared, minter, settled, url) = (
        shared.clone(),
        minter.clone(),
        settled.clone(),
        url.to_string(),
    );
    actix_web::rt::spawn(async move {
        let role = if kind == Kind::User {
            Role::User
        } else {
            Role::Analyst
        };
        let socket = match minter.token(&shared.http, &url, &id, role, &name).await {
            Ok(token) => connect::connect(&shared, &token).await,
            Err(_) => Err("token_failed".to_string()),
        };
        settled.set(settled.get() + 1);
        match socket {
            Ok(socket) => Client::new(kind, shared, socket).run().await,
            Err(code) => shared.stats.borrow_mut().error(&code),
        }
    });
}

/// `rate` connect-and-leave cycles a second, each by a fresh user, until aborted.
async fn churn(shared: Rc<Shared>, minter: Rc<Minter>, url: String, rate: u32, run_id: i64) {
    let mut ticker = actix_web::rt::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let mut n = 0u64;
    loop {
        ticker.tick().await;
        n += 1;
        let id = format!("load-c{run_id}-{n}");
        let (shared, minter, url) = (shared.clone(), minter.clone(), url.clone());
        actix_web::rt::spawn(async move {
            match minter
                .token(&shared.http, &url, &id, Role::User, "Churn User")
                .await
            {
                Ok(token) => connect::churn_once(shared, token).await,
                Err(_) => shared.stats.borrow_mut().error("token_failed"),
            }
        });
    }
}

async fn progress(stats: Rc<RefCell<Stats>>, phase: Rc<Cell<&'static str>>) {
    let mut ticker = actix_web::rt::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let mut progress = Progress::default();
    loop {
        ticker.tick().await;
        let line = progress.line(phase.get(), &mut stats.borrow_mut());
        eprintln!("{line}");
    }
}

/// Polls `done` every 20 ms until it holds or `timeout` passes.
async fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() && Instant::now() < deadline {
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}
