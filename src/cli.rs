//! The command line: `switchboard [serve]`, `switchboard migrate`, `switchboard token`,
//! `switchboard load`.

use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::domain::Role;
use crate::timefmt::parse_ttl;

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
        /// user, analyst, manager, admin or service (the host's integration account).
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
