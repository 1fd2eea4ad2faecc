//! `switchboard load`'s flags (contract §7) and their checks.

use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::timefmt::parse_ttl;

/// How the harness's queue hands chats to analysts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadRouting {
    /// The router assigns each chat at once (`chat_assigned`).
    Auto,
    /// The router offers each chat; the simulated analyst accepts it.
    Offer,
}

impl LoadRouting {
    pub fn as_str(self) -> &'static str {
        match self {
            LoadRouting::Auto => "auto",
            LoadRouting::Offer => "offer",
        }
    }
}

/// Simulates users and analysts over real WebSocket connections against a running engine.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// The engine's base URL; repeat it for the nodes of a cluster (contract §11): connections
    /// go to them round-robin, provisioning and tokens to the first.
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    pub url: Vec<String>,
    /// JWT secret to mint admin, analyst and user tokens with (default: this machine's
    /// configured `auth.jwt_secret`, as `switchboard token` uses). Tokens carry this machine's
    /// `auth.issuer`, `auth.audience`, `auth.role_claim` and `auth.name_claim` (set them, e.g.
    /// `SWITCHBOARD__AUTH__ISSUER`, as the server under load has them).
    #[arg(long)]
    pub secret: Option<String>,
    /// An admin token made elsewhere, for provisioning. Without `--secret`, analyst and user tokens
    /// then come from the server's `POST /dev/token` (servers with `auth.dev_login` on).
    #[arg(long)]
    pub token: Option<String>,
    /// Simulated analysts.
    #[arg(long, default_value_t = 10)]
    pub analysts: usize,
    /// Simulated users; each starts one chat.
    #[arg(long, default_value_t = 100)]
    pub users: usize,
    /// Open chats each analyst may hold.
    #[arg(long, default_value_t = 10)]
    pub capacity: usize,
    /// The queue's routing mode.
    #[arg(long, value_enum, default_value_t = LoadRouting::Auto)]
    pub routing: LoadRouting,
    /// Messages per second in total, spread over the chats and both sides.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// How long to converse, e.g. 30s, 2m.
    #[arg(long, default_value = "30s", value_parser = parse_ttl)]
    pub duration: Duration,
    /// Extra connects and disconnects per second, each by a fresh user, during the conversation.
    #[arg(long, default_value_t = 0)]
    pub churn: u32,
    /// Users starting their chat per second in the start phase (0: all at once, a burst).
    #[arg(long, default_value_t = 0)]
    pub start_rate: u32,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Exit 1 when errors exceed this share of the operations attempted.
    #[arg(long, default_value_t = 0.001)]
    pub max_error_rate: f64,
    /// The queue the harness provisions and uses.
    #[arg(long, default_value = "load")]
    pub queue: String,
    /// WebSocket handshakes in flight at once while connecting (keep it under the server's listen
    /// backlog, often 128, or dropped SYNs add 1 s to some connects).
    #[arg(long, default_value_t = 100)]
    pub connect_concurrency: usize,
    /// Longest wait for every chat to be answered before conversing anyway.
    #[arg(long, default_value = "60s", value_parser = parse_ttl)]
    pub assign_timeout: Duration,
    /// Characters in each message body.
    #[arg(long, default_value_t = 64)]
    pub body_chars: usize,
    /// The estimated-wait scenario (contract §8.4): each analyst closes every chat this long
    /// after it was assigned (a fixed handle time), and the report gives the error of each
    /// user's first estimate against the wait it then had. Pair it with `--start-rate` above
    /// what the analysts serve (`analysts × capacity / handle time` chats a second).
    #[arg(long, value_parser = parse_ttl)]
    pub handle_time: Option<Duration>,
    /// Routing with skills (contract §8.1): the queue lists 20 skills and 3 expansion
    /// steps (level after 1 s and 2 s, all after 3 s), each analyst holds 5 of them at levels
    /// 1–5, each user asks 1–2 of them.
    #[arg(long)]
    pub skills: bool,
}

/// Skills in the `--skills` queue's list.
pub const SKILLS: usize = 20;

impl LoadArgs {
    /// Refuses flags that cannot describe a run, naming the flag.
    pub fn check(&self) -> Result<(), String> {
        if self.analysts == 0 || self.users == 0 {
            return Err("--analysts and --users must be at least 1".into());
        }
        if self.capacity == 0 {
            return Err("--capacity must be at least 1".into());
        }
        if !(self.rate.is_finite() && self.rate >= 0.0) {
            return Err("--rate must be a number of messages per second, 0 or more".into());
        }
        if !(0.0..=1.0).contains(&self.max_error_rate) {
            return Err("--max-error-rate must be between 0 and 1".into());
        }
        if self.connect_concurrency == 0 {
            return Err("--connect-concurrency must be at least 1".into());
        }
        if !(1..=8000).contains(&self.body_chars) {
            return Err("--body-chars must be between 1 and 8000".into());
        }
        if !crate::domain::is_valid_id(&self.queue) {
            return Err(format!("--queue {:?} is not a valid queue id", self.queue));
        }
        if self.url.is_empty() {
            return Err("--url is needed at least once".into());
        }
        if let Some(bad) = self
            .url
            .iter()
            .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(format!("--url {bad:?} must start with http:// or https://"));
        }
        Ok(())
    }

    /// The first `--url`, without a trailing `/`: provisioning and tokens go there.
    pub fn base_url(&self) -> String {
        self.url
            .first()
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_default()
    }

    /// The WebSocket endpoint of each `--url`, in order.
    pub fn ws_urls(&self) -> Vec<String> {
        self.url
            .iter()
            .map(|url| {
                let base = url.trim_end_matches('/');
                match base.strip_prefix("http") {
                    Some(rest) => format!("ws{rest}/ws"),
                    None => format!("{base}/ws"),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        load: super::LoadArgs,
    }

    #[test]
    fn url_repeats_once_per_node_and_defaults_to_one() {
        let cli = Cli::try_parse_from([
            "load",
            "--url",
            "http://127.0.0.1:8081/",
            "--url",
            "https://b.example:8082",
        ])
        .unwrap();
        assert!(cli.load.check().is_ok());
        assert_eq!(cli.load.base_url(), "http://127.0.0.1:8081");
        assert_eq!(
            cli.load.ws_urls(),
            ["ws://127.0.0.1:8081/ws", "wss://b.example:8082/ws"]
        );
        let one = Cli::try_parse_from(["load"]).unwrap();
        assert_eq!(one.load.ws_urls(), ["ws://127.0.0.1:8080/ws"]);
        let bad = Cli::try_parse_from(["load", "--url", "http://a", "--url", "ftp://b"]).unwrap();
        assert!(bad.load.check().unwrap_err().contains("ftp://b"));
    }
}
