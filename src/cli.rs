//! The command line: `switchboard [serve]`, `switchboard migrate`, `switchboard token`,
//! `switchboard load`.

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::domain::Role;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Real-time chat routing engine for IT service desks"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the engine (the default).
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Print a token signed with the configured `auth.jwt_secret`.
    Token {
        /// Principal id (user, analyst or admin id).
        #[arg(long)]
        sub: String,
        /// user, analyst, manager or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Lifetime, e.g. 90s, 30m, 8h, 2d; at most `auth.max_token_ttl_secs`.
        #[arg(long, default_value = "8h", value_parser = parse_ttl)]
        ttl: Duration,
    },
    /// Load-test a running engine over real WebSocket connections (see README, "Load testing").
    Load(Box<crate::load::LoadArgs>),
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|e: crate::domain::ParseError| e.0)
}

/// Parses `90s`, `30m`, `8h`, `2d` (a bare number is seconds).
pub fn parse_ttl(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30m or 8h"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{s:?}: unit must be s, m, h or d")),
    };
    if secs == 0 {
        return Err("ttl must be greater than 0".into());
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;
    use std::time::Duration;

    #[test]
    fn ttls_parse_with_units() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(28_800)));
        assert!(parse_ttl("8w").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("0s").is_err());
    }
}
