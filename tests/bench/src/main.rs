//! `cppo-bench`: runs every benchmark against a fresh emulator, prints the table and writes
//! `target/bench/results.json`. `make bench` builds the release binaries it starts, then runs it.

#![recursion_limit = "256"]

use aws_lambda_events::sqs::SqsEvent;
use cppo_bench::results::{rounded, Results, FLOOR_KEY};
use cppo_bench::stack::{Moto, Stack};
use cppo_bench::workload::Cast;
use cppo_bench::{cold, environment, load, relay, sweep};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Times every route is called for its round trips and own time (beyond the setup's calls).
const PASSES: usize = 5;

/// What to run: everything (`make bench`), or only the cold starts of another build's packages
/// (`cppo-bench --cold-starts-only --packages DIR`), which prints its table and writes no file.
struct Options {
    packages: Option<PathBuf>,
    cold_starts_only: bool,
}

fn options() -> Result<Options, String> {
    let mut options = Options { packages: None, cold_starts_only: false };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--packages" => options.packages = Some(args.next().ok_or("--packages needs a folder")?.into()),
            "--cold-starts-only" => options.cold_starts_only = true,
            other => return Err(format!("unknown argument {other}; usage: cppo-bench [--cold-starts-only] [--packages DIR]")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    let started = Instant::now();
    match run().await {
        Ok(results) => {
            println!("{}", results.table());
            println!("bench: {:.0} s", started.elapsed().as_secs_f64());
            let broken = results.broken();
            for problem in &broken {
                eprintln!("bench: {problem}");
            }
            if broken.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("bench: {message}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.join("../..").canonicalize().unwrap_or(manifest)
}

async fn run() -> Result<Results, String> {
    let options = options()?;
    let root = root();
    let packages = options.packages.clone().unwrap_or_else(|| cold::packages(&root));
    let moto = Moto::start(&root).await?;
    let mut results = Results::default();

    let stack = Stack::start(&moto.url, "bench-main").await?;
    let cast = Cast::new(&stack).await?;
    if options.cold_starts_only {
        step("cold starts and memory", cold_starts(&root, &packages, &stack, &cast, &mut results)).await?;
        return Ok(results);
    }
    step("round trips and own time of every route", per_operation(&stack, &cast, &mut results)).await?;
    step("cold starts and memory", cold_starts(&root, &packages, &stack, &cast, &mut results)).await?;

    let bin_dir = std::env::current_exe().map_err(|e| e.to_string())?.parent().map(Path::to_path_buf).ok_or("no binary folder")?;
    results.load = step("load through the local gateway", load::measure(&bin_dir, &moto.url)).await?;

    results.relay = step("event latency through the stream relay", relay::measure(&moto.url)).await?;

    let sweep_stack = Stack::start(&moto.url, "bench-sweep").await?;
    results.sweep = step("sweep scaling", sweep::measure(&sweep_stack)).await?;

    let out = root.join("target/bench/results.json");
    std::fs::create_dir_all(root.join("target/bench")).map_err(|e| e.to_string())?;
    let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
    std::fs::write(&out, json).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("bench: wrote {}", out.display());
    Ok(results)
}

async fn step<T>(name: &str, work: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    let started = Instant::now();
    eprintln!("bench: {name}...");
    let out = work.await.map_err(|e| format!("{name}: {e}"))?;
    eprintln!("bench: {name}: {:.1} s", started.elapsed().as_secs_f64());
    Ok(out)
}

/// Every route `PASSES` times, the sweep with nothing due, notify with one event a batch.
async fn per_operation(stack: &Stack, cast: &Cast, results: &mut Results) -> Result<(), String> {
    for pass in 0..PASSES {
        cast.every_route(stack).await?;
        stack.measure("expire-sweep", fn_expire_sweep::sweep(&stack.app)).await.map_err(|e| e.to_string())?;
        // What an Idempotency-Key adds to a state change.
        let body = cppo_bench::workload::offer_body(&cast.open, &cast.product);
        let key = format!("bench-{pass}");
        stack.ok_keyed("POST", "/offers", cppo_bench::workload::RESELLER, &body, &key).await?;
    }
    for event in cold::queued_events(stack, PASSES).await? {
        let event: SqsEvent = serde_json::from_value(event).map_err(|e| e.to_string())?;
        let answer = stack.measure("notify", fn_notify::handle(&stack.notifier, event)).await;
        if !answer.batch_item_failures.is_empty() {
            return Err("notify failed a record".into());
        }
    }
    let samples = stack.samples.lock().map_err(|e| e.to_string())?;
    results.round_trips = samples.medians(|s| s.round_trips as f64);
    results.own_time_us = samples.medians(|s| s.own_us as f64);
    results.round_trips_ops = samples
        .typical(|s| s.round_trips as f64)
        .into_iter()
        .map(|(op, s)| (op, s.calls.split_whitespace().map(str::to_string).collect()))
        .collect();
    Ok(())
}

async fn cold_starts(root: &Path, packages: &Path, stack: &Stack, cast: &Cast, results: &mut Results) -> Result<(), String> {
    let mut functions = environment::functions(root)?;
    functions.push(cold::FLOOR.to_string());
    for function in functions {
        let figures = cold::measure(packages, &root.join("target/bench"), stack, cast, &function).await?;
        let key = if function == cold::FLOOR { FLOOR_KEY.to_string() } else { function.clone() };
        eprintln!("bench:   {key}: init {:.2} ms, first invoke {:.2} ms", figures.init_ms, figures.first_invoke_ms);
        results.init_ms.insert(key.clone(), rounded(figures.init_ms));
        if function != cold::FLOOR {
            results.first_invoke_ms.insert(key.clone(), rounded(figures.first_invoke_ms));
            results.package_bytes.insert(key.clone(), figures.package_bytes);
            results.peak_rss_kib.insert(key, figures.peak_rss_kib);
        }
    }
    Ok(())
}
