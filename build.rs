//! Build script: tells the tests whether Node with a WebSocket client is on this machine (cfg
//! `has_node`), so that the client library's Node tests show as ignored, never as passed, where
//! it is not (and `SWITCHBOARD_NODE_FLAGS`, what Node needs for it). Nothing of the engine itself
//! depends on it.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_node)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PATH");
    if let Some(flags) = node_websocket_flags() {
        println!("cargo::rustc-cfg=has_node");
        println!(
            "cargo::rustc-env=SWITCHBOARD_NODE_FLAGS={}",
            flags.join(" ")
        );
    }
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
