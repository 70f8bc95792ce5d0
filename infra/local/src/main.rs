//! `local-gateway [serve]` runs the service locally; `local-gateway token ACCOUNT_ID [TTL_SECONDS]`
//! prints a bearer token the local authorizer accepts.

#![recursion_limit = "256"]

use local_gateway::{auth, start, LocalConfig};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("token") => token(&args[1..]),
        Some(other) => Err(format!("unknown command {other}; use `serve` or `token ACCOUNT_ID [TTL_SECONDS]`")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("local-gateway: {message}");
            ExitCode::FAILURE
        }
    }
}

fn token(args: &[String]) -> Result<(), String> {
    let account = args.first().ok_or("usage: local-gateway token ACCOUNT_ID [TTL_SECONDS]")?;
    if cppo_domain::AccountId::parse(account).is_none() {
        return Err(format!("{account} is not a 12-digit AWS account ID"));
    }
    let ttl = match args.get(1) {
        Some(raw) => raw.parse::<i64>().map_err(|_| format!("TTL_SECONDS must be a number, not {raw}"))?,
        None => 3600,
    };
    let secret = std::env::var("CPPO_LOCAL_JWT_SECRET").unwrap_or_else(|_| local_gateway::DEFAULT_SECRET.into());
    let claim = std::env::var("CPPO_ACCOUNT_CLAIM").unwrap_or_else(|_| "account_id".into());
    println!("{}", auth::mint(&secret, &claim, account, chrono::Utc::now().timestamp(), ttl));
    Ok(())
}

async fn serve() -> Result<(), String> {
    cppo_platform::telemetry::init();
    let config = LocalConfig::from_env()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await.map_err(|e| format!("binding 127.0.0.1:{}: {e}", config.port))?;
    let running = start(config, listener).await?;
    tracing::info!(url = %running.url(), "gateway listening");
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
