//! Events' latency through the local stream relay: from a state change's answer to its event's
//! message in notify's queue, and to its email accepted by SES, each over `SAMPLES` offers made
//! one at a time. The relay looks at the stream every 100 ms and the queue poller every 500 ms
//! when idle (no long poll: the emulator serves one request at a time), so these are the local
//! stack's figures, not AWS's: there a pipe polls a shard about four times a second and Lambda's
//! SQS event source long-polls.

use crate::stack::Stack;
use crate::stats::percentile;
use crate::workload::{offer_body, Cast, RESELLER};
use serde::Serialize;
use std::time::{Duration, Instant};

pub const SAMPLES: usize = 30;
/// How long one event may take before the run gives up on it.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Relay {
    pub samples: usize,
    pub queue_p50_ms: f64,
    pub queue_p99_ms: f64,
    pub email_p50_ms: f64,
    pub email_p99_ms: f64,
}

pub async fn measure(moto: &str) -> Result<Relay, String> {
    let queue = to_the_queue(moto).await?;
    let email = to_the_email(moto).await?;
    Ok(Relay {
        samples: SAMPLES,
        queue_p50_ms: percentile(queue.clone(), 50.0),
        queue_p99_ms: percentile(queue, 99.0),
        email_p50_ms: percentile(email.clone(), 50.0),
        email_p99_ms: percentile(email, 99.0),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The relay alone (the gateway's background task for it), the queue read by this run.
async fn to_the_queue(moto: &str) -> Result<Vec<f64>, String> {
    let stack = Stack::start(moto, "bench-relay-queue").await?;
    let cast = Cast::new(&stack).await?;
    let gateway = stack.running.gateway.clone();
    gateway.relay.catch_up().await?;
    // The gateway's own relay task, without its queue poller: this run reads the queue itself.
    let relay = local_gateway::background::spawn_relay(gateway);
    purge(&stack).await?;
    let mut latencies = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        stack.ok("POST", "/offers", RESELLER, Some(&offer_body(&cast.open, &cast.product))).await?;
        let answered = Instant::now();
        while purge(&stack).await? == 0 {
            if answered.elapsed() > PATIENCE {
                relay.abort();
                return Err("an event never reached the queue".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(ms(answered.elapsed()));
    }
    relay.abort();
    Ok(latencies)
}

/// Takes whatever the queue holds off it; how many messages that was.
async fn purge(stack: &Stack) -> Result<usize, String> {
    let gateway = &stack.running.gateway;
    let out = gateway
        .admin_sqs
        .receive_message()
        .queue_url(&gateway.queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    let messages = out.messages.unwrap_or_default();
    for m in &messages {
        gateway
            .admin_sqs
            .delete_message()
            .queue_url(&gateway.queue_url)
            .set_receipt_handle(m.receipt_handle.clone())
            .send()
            .await
            .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(&e).to_string())?;
    }
    Ok(messages.len())
}

/// The whole background (relay, queue poller, notify), the sent emails read from the emulator.
async fn to_the_email(moto: &str) -> Result<Vec<f64>, String> {
    let stack = Stack::start_with(moto, "bench-relay-email", true).await?;
    let cast = Cast::new(&stack).await?;
    let mut seen = settled_count(&stack).await?;
    let mut latencies = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        stack.ok("POST", "/offers", RESELLER, Some(&offer_body(&cast.open, &cast.product))).await?;
        let answered = Instant::now();
        loop {
            let sent = sent_count(&stack).await?;
            if sent > seen {
                seen = sent;
                break;
            }
            if answered.elapsed() > PATIENCE {
                return Err("an event's email was never sent".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(ms(answered.elapsed()));
    }
    Ok(latencies)
}

/// Emails sent so far, once the cast's own have all gone out.
async fn settled_count(stack: &Stack) -> Result<usize, String> {
    let mut last = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let now = sent_count(stack).await?;
        if now == last {
            return Ok(now);
        }
        last = now;
    }
}

async fn sent_count(stack: &Stack) -> Result<usize, String> {
    let gateway = &stack.running.gateway;
    let messages = gateway.http.get_json("/_cppo/ses/messages").await?;
    let sender = &gateway.config.names.sender;
    Ok(messages.as_array().map(|m| m.iter().filter(|m| m["source"].as_str() == Some(sender)).count()).unwrap_or(0))
}
