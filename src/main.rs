//! The `switchboard` binary: parse the command line, load settings, set up logging, run.

use clap::Parser;
use switchboard::app::Application;
use switchboard::auth::{Claims, JwtKeys};
use switchboard::cli::{Cli, Command};
use switchboard::settings::Settings;
use switchboard::{store, telemetry};

/// mimalloc instead of glibc malloc: frames are allocated on one thread and freed on another, which
/// glibc's arenas handle poorly (it was half the actor thread's time at 10,000 msg/s, and memory
/// freed after churn was not given back).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("switchboard: {err}");
            std::process::exit(2);
        }
    };
    if let Err(err) = run(cli.command.unwrap_or(Command::Serve), settings) {
        eprintln!("switchboard: {err:#}");
        std::process::exit(1);
    }
}

fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Token {
            sub,
            role,
            name,
            ttl,
        } => {
            let max = settings.auth.max_token_ttl_secs;
            if ttl.as_secs() > max {
                anyhow::bail!(
                    "--ttl {}s is longer than auth.max_token_ttl_secs ({max}s): the server would refuse the token",
                    ttl.as_secs()
                );
            }
            let exp = chrono::Utc::now().timestamp() + i64::try_from(ttl.as_secs())?;
            let token = JwtKeys::from_settings(&settings.auth).sign(&Claims {
                sub,
                role,
                name,
                exp,
            })?;
            #[allow(clippy::print_stdout)]
            {
                println!("{token}");
            }
            Ok(())
        }
        Command::Load(args) => {
            let auth = settings.auth.clone();
            let passed =
                actix_web::rt::System::new().block_on(switchboard::load::run(*args, auth))?;
            if !passed {
                eprintln!("switchboard load: errors exceeded --max-error-rate");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Migrate => {
            telemetry::init(&settings.log);
            actix_web::rt::System::new().block_on(async {
                let db = store::connect(&settings.database).await?;
                store::migrate(&db).await?;
                tracing::info!("database schema is up to date");
                Ok(())
            })
        }
        Command::Serve => {
            telemetry::init(&settings.log);
            actix_web::rt::System::new().block_on(async {
                let profile = settings.profile.clone();
                let demo = settings.seed.demo;
                let dev_login = settings.auth.dev_login;
                let app = Application::build(settings).await?;
                tracing::info!(profile = %profile, addr = %app.addr(), "switchboard listening");
                if demo {
                    tracing::info!(
                        "demo data ready: queues service-desk (auto), hardware (offer), access (manual); \
                         analysts alice, bob, dave, manager carol"
                    );
                }
                if dev_login {
                    tracing::info!("open http://{}/ to sign in as a demo person", app.addr());
                } else {
                    tracing::info!(
                        "tokens: `switchboard token --sub alice --role analyst --name \"Alice Smith\"`"
                    );
                }
                app.run_until_stopped().await?;
                Ok(())
            })
        }
    }
}
