//! `local-gateway [serve]` runs the service locally. (`make token` mints the bearer tokens it accepts.)

#![recursion_limit = "256"]

use local_gateway::{start, LocalConfig};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some(other) => Err(format!("unknown command {other}; the only command is `serve`")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("local-gateway: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> Result<(), String> {
    cppo_platform::telemetry::init();
    let config = LocalConfig::from_env()?;
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await.map_err(|e| format!("binding 127.0.0.1:{}: {e}", config.port))?;
    let running = start(config, listener).await?;
    tracing::info!(url = %running.url(), "gateway listening");
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
