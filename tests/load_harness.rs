//! `switchboard load`'s open-loop schedule, against a server with a known delay: the real binary
//! serves, the real harness converses at a fixed rate, and the test freezes the server with
//! SIGSTOP for one second mid-run. An open-loop harness keeps sending on schedule through the
//! stall and times each message from when it was due, so the report must show the stall as it
//! was: about the full count of messages, a maximum of at least the stall, a median untouched,
//! and the per-second p99 jumping in the seconds of the stall. A closed-loop harness (one that
//! holds back sends while replies are outstanding) fails here: checked by making it so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::process::ServerProcess;

const RATE: f64 = 200.0;
const CONVERSE_SECS: u64 = 8;
const STALL: Duration = Duration::from_millis(1000);
const TEST_SECRET: &str = "switchboard-test-secret-for-the-test-profile-only";

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {sig} {pid}");
}

/// The harness's phase and elapsed seconds from one of its progress lines (`[    3s converse] …`).
fn progress(line: &str) -> Option<(u64, &str)> {
    let inner = line.strip_prefix('[')?.split(']').next()?;
    let (secs, phase) = inner.trim().split_once("s ")?;
    Some((secs.trim().parse().ok()?, phase.trim()))
}

#[test]
fn the_open_loop_schedule_keeps_sending_through_a_server_stall_and_times_from_the_schedule() {
    let dir = std::env::temp_dir().join("switchboard-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let db_path = dir.join(format!("load-{unique}.db"));
    let report_path = dir.join(format!("load-{unique}.json"));
    let server = ServerProcess::start(&format!("sqlite://{}?mode=rwc", db_path.display()), &[]);

    let mut harness = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["load", "--url", &server.base, "--secret", TEST_SECRET])
        .args(["--analysts", "2", "--users", "20", "--capacity", "10"])
        .args(["--rate", &RATE.to_string()])
        .args(["--duration", &format!("{CONVERSE_SECS}s")])
        .args(["--max-error-rate", "1"])
        .arg("--json")
        .arg(&report_path)
        .env("SWITCHBOARD_CONFIG_DIR", common::config_dir())
        .env("SWITCHBOARD_ENV", "test")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the harness starts");
    let spawned = Instant::now();

    // Wait for the second conversing progress line, then freeze the server for STALL.
    let mut lines = BufReader::new(harness.stderr.take().unwrap()).lines();
    let mut conversing = 0;
    let mut stall_at_secs = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((secs, "converse")) = progress(&line) {
            conversing += 1;
            if conversing == 2 {
                stall_at_secs = Some(secs);
                signal(server.child.id(), "-STOP");
                std::thread::sleep(STALL);
                signal(server.child.id(), "-CONT");
                break;
            }
        }
    }
    let stall_at_secs = stall_at_secs.expect("the harness reached its conversation");
    // Keep draining stderr so the harness never blocks on a full pipe.
    let drain = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let status = harness.wait().unwrap();
    let tail = drain.join().unwrap();
    assert!(status.success(), "the harness failed: {tail:?}");
    assert!(spawned.elapsed() > Duration::from_secs(CONVERSE_SECS));

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    let _ = std::fs::remove_file(&report_path);
    let ack = &report["latency_ms"]["ack"];
    let deliver = &report["latency_ms"]["deliver"];

    // The schedule went on during the stall: nearly RATE × duration messages, all answered.
    // (A closed loop would lose the stalled second's share, an eighth of the run.)
    let expected = RATE * CONVERSE_SECS as f64;
    let acked = report["messages_acked"].as_f64().unwrap();
    assert!(
        acked >= 0.95 * expected && acked <= 1.05 * expected,
        "acked {acked} of {expected} scheduled"
    );
    assert_eq!(report["errors"], serde_json::json!({}), "{report}");

    // Timed from the schedule: a message due as the server froze waited the whole stall, and most
    // messages were nowhere near it.
    let stall_ms = STALL.as_millis() as f64;
    for p in [ack, deliver] {
        let max = p["max"].as_f64().unwrap();
        assert!(max >= 0.9 * stall_ms, "max {max} ms below the stall: {p}");
        assert!(
            max < 4.0 * stall_ms,
            "max {max} ms far beyond the stall: {p}"
        );
        assert!(
            p["p50"].as_f64().unwrap() < 0.25 * stall_ms,
            "median hit: {p}"
        );
    }
    // Messages due during the stall (about one second's share of CONVERSE_SECS) waited from 0 up
    // to the whole stall, so well over 1 % of all waited more than 0.3 stalls: p99 lies inside it.
    assert!(ack["p99"].as_f64().unwrap() >= 0.3 * stall_ms, "{ack}");

    // The per-second p99 shows the stall where it happened.
    let seconds = report["seconds"].as_array().unwrap();
    let worst = seconds
        .iter()
        .filter(|s| s["phase"] == "converse")
        .max_by(|a, b| {
            let p = |s: &serde_json::Value| s["p99_ms"]["ack"].as_f64().unwrap();
            p(a).total_cmp(&p(b))
        })
        .unwrap();
    let t = worst["t"].as_u64().unwrap();
    assert!(
        (stall_at_secs..=stall_at_secs + 3).contains(&t),
        "the worst second is {t}, the stall began at {stall_at_secs}: {seconds:?}"
    );
    assert!(worst["p99_ms"]["ack"].as_f64().unwrap() >= 0.5 * stall_ms);
    drop(server);
    let _ = std::fs::remove_file(&db_path);
}
