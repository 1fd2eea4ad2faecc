//! Tells the test suite what this machine cannot run, so `cargo test` reports those tests as
//! ignored (with how to run them) instead of passing them without running anything:
//! `switchboard_no_pg` when `SWITCHBOARD_TEST_PG=0`, `switchboard_no_browser` when `chromium` or
//! `chromedriver` is not on `PATH`. With `CI` set neither is ever set: there every such test runs,
//! and a missing PostgreSQL or browser fails it. `switchboard_no_node` when there is no Node with
//! a WebSocket client (22+, or 20 with `--experimental-websocket`) for the client library's tests,
//! except on CI, where those tests then run and fail saying so; with such a Node,
//! `SWITCHBOARD_NODE_FLAGS` says what it needs.
// A build script speaks to cargo on stdout.
#![allow(clippy::print_stdout)]

use std::process::Command;

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

/// The flags under which `node` has a global WebSocket (none from Node 22 on,
/// `--experimental-websocket` on Node 20 and 21), or `None` without such a Node.
fn node_websocket_flags() -> Option<&'static [&'static str]> {
    let with: &[&[&str]] = &[&[], &["--experimental-websocket"]];
    with.iter().copied().find(|flags| {
        Command::new("node")
            .args(*flags)
            .args([
                "-e",
                "process.exit(typeof WebSocket === 'function' ? 0 : 1)",
            ])
            .output()
            .is_ok_and(|out| out.status.success())
    })
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(switchboard_no_pg)");
    println!("cargo::rustc-check-cfg=cfg(switchboard_no_browser)");
    println!("cargo::rustc-check-cfg=cfg(switchboard_no_node)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=SWITCHBOARD_TEST_PG");
    println!("cargo::rerun-if-env-changed=PATH");
    // Installing chromium changes its folder: look again then.
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths).filter(|d| d.is_absolute() && d.is_dir()) {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
    match node_websocket_flags() {
        Some(flags) => println!(
            "cargo::rustc-env=SWITCHBOARD_NODE_FLAGS={}",
            flags.join(" ")
        ),
        None if std::env::var_os("CI").is_some() => {}
        None => println!("cargo::rustc-cfg=switchboard_no_node"),
    }
    if std::env::var_os("CI").is_some() {
        return;
    }
    if std::env::var("SWITCHBOARD_TEST_PG").is_ok_and(|v| v == "0") {
        println!("cargo::rustc-cfg=switchboard_no_pg");
    }
    let browser = on_path("chromium") || on_path("chromium-browser");
    if !(browser && on_path("chromedriver")) {
        println!("cargo::rustc-cfg=switchboard_no_browser");
    }
}
