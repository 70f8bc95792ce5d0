//! `target/bench/results.json` and the table printed beside it, with each figure's limit.

use crate::load::Load;
use crate::relay::Relay;
use crate::sweep::Scaling;
use serde::Serialize;
use std::collections::BTreeMap;

pub const FLOOR_KEY: &str = "floor";
/// Every function's package but notify's, which also carries SES and SQS clients, and those that
/// reach the document bucket, which carry the S3 client (0.85 MB zipped: its endpoint rules,
/// XML, checksums) and, to compile legal files, lopdf (0.6 MB more).
pub const MAX_PACKAGE_BYTES: u64 = 3_000_000;
pub const MAX_NOTIFY_PACKAGE_BYTES: u64 = 3_500_000;
pub const MAX_DOCUMENT_PACKAGE_BYTES: u64 = 4_500_000;
pub const DOCUMENT_FUNCTIONS: &[&str] = &["documents", "create-opportunity", "update-opportunity", "query"];
pub const MAX_RSS_KIB: u64 = 40 * 1024;
pub const MAX_INIT_OVER_FLOOR: f64 = 1.75;
/// A state-changing route's round trips: its reads and one transactional write; a clone also
/// reads its source.
pub const MAX_WRITE_ROUND_TRIPS: f64 = 2.0;
pub const MAX_CLONE_ROUND_TRIPS: f64 = 3.0;

pub fn max_package_bytes(function: &str) -> u64 {
    match function {
        "notify" => MAX_NOTIFY_PACKAGE_BYTES,
        f if DOCUMENT_FUNCTIONS.contains(&f) => MAX_DOCUMENT_PACKAGE_BYTES,
        _ => MAX_PACKAGE_BYTES,
    }
}

/// The most round trips `operation` (a route key, or one with `(Idempotency-Key)`) may take, if
/// it changes state; reads have no budget here.
pub fn max_round_trips(operation: &str) -> Option<f64> {
    let route = operation.split(" (").next().unwrap_or(operation);
    if route.starts_with("GET ") || !route.contains(' ') {
        return None;
    }
    let keyed = operation.contains("(Idempotency-Key)");
    let base = if route.ends_with("/clone") { MAX_CLONE_ROUND_TRIPS } else { MAX_WRITE_ROUND_TRIPS };
    // The key's claim is one conditional put before the change; its answer rides in the change's
    // own transaction.
    Some(if keyed { base + 1.0 } else { base })
}

#[derive(Debug, Default, Serialize)]
pub struct Results {
    pub init_ms: BTreeMap<String, f64>,
    pub first_invoke_ms: BTreeMap<String, f64>,
    pub package_bytes: BTreeMap<String, u64>,
    pub peak_rss_kib: BTreeMap<String, u64>,
    pub round_trips: BTreeMap<String, f64>,
    /// A typical request's round trips by operation, in order: `GetItem`, `TransactWriteItems`, ...
    pub round_trips_ops: BTreeMap<String, Vec<String>>,
    pub own_time_us: BTreeMap<String, f64>,
    pub sweep: Vec<Scaling>,
    pub load: Load,
    pub relay: Relay,
}

/// Three decimals are far below what these clocks can tell apart.
pub fn rounded(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn line(out: &mut String, text: String) {
    out.push_str(&text);
    out.push('\n');
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "OVER"
    }
}

impl Results {
    pub fn floor_ms(&self) -> f64 {
        self.init_ms.get(FLOOR_KEY).copied().unwrap_or(0.0)
    }

    /// What fails `make bench`: the figures that do not depend on the machine's speed (a failed
    /// request, a sweep reading more than what is due, a package over the limit). Timings are
    /// printed and judged in the table, never failed on.
    pub fn broken(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.load.errors > 0 {
            out.push(format!("{} of the load run's requests failed", self.load.errors));
        }
        for s in self.sweep.iter().filter(|s| s.items_read as f64 > sweep_bound(s.due, s.invoices)) {
            out.push(format!(
                "the sweep read {} items for {} due and {} invoices in a table of {}",
                s.items_read, s.due, s.invoices, s.table_items
            ));
        }
        for (function, bytes) in self.package_bytes.iter().filter(|(f, b)| **b > max_package_bytes(f)) {
            out.push(format!("{function}'s package is {bytes} bytes, over {}", max_package_bytes(function)));
        }
        for (operation, trips) in &self.round_trips {
            if max_round_trips(operation).is_some_and(|most| *trips > most) {
                out.push(format!("{operation} takes {trips} round trips"));
            }
        }
        for (operation, ops) in self.round_trips_ops.iter().filter(|(o, _)| o.contains(' ')) {
            if ops.iter().any(|op| op == "SendMessage") {
                out.push(format!("{operation} calls SQS on the request's path"));
            }
        }
        out
    }

    /// Every figure as a table, each beside the limit the issue sets.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let floor = self.floor_ms();
        let limit = floor * MAX_INIT_OVER_FLOOR;
        line(
            &mut out,
            format!(
                "{:<20} {:>9} {:>8} {:>11} {:>12} {:>13}  check",
                "function", "init ms", "x floor", "first ms", "package MB", "peak RSS MiB"
            ),
        );
        for (function, init) in &self.init_ms {
            let bytes = self.package_bytes.get(function).copied().unwrap_or(0);
            let rss = self.peak_rss_kib.get(function).copied().unwrap_or(0);
            let ok = function == FLOOR_KEY || (*init <= limit && bytes <= max_package_bytes(function) && rss <= MAX_RSS_KIB);
            line(
                &mut out,
                format!(
                    "{function:<20} {init:>9.2} {:>8.2} {:>11.2} {:>12.2} {:>13.1}  {}",
                    init / floor.max(f64::MIN_POSITIVE),
                    self.first_invoke_ms.get(function).copied().unwrap_or(0.0),
                    bytes as f64 / 1e6,
                    rss as f64 / 1024.0,
                    verdict(ok)
                ),
            );
        }
        line(
            &mut out,
            format!("limits: init <= {limit:.2} ms ({MAX_INIT_OVER_FLOOR} x floor), package <= 3 MB (notify 3.5 MB; documents, create-opportunity, update-opportunity and query 4.5 MB), peak RSS <= 40 MiB\n"),
        );
        if !self.round_trips.is_empty() {
            self.operations_table(&mut out);
        }
        if !self.sweep.is_empty() {
            self.sweep_table(&mut out);
        }
        if self.load.requests > 0 {
            self.load_line(&mut out);
        }
        if self.relay.samples > 0 {
            let r = &self.relay;
            line(
                &mut out,
                format!(
                    "relay: {} events; to the queue p50 {:.1} ms, p99 {:.1} ms; to the email p50 {:.1} ms, p99 {:.1} ms",
                    r.samples, r.queue_p50_ms, r.queue_p99_ms, r.email_p50_ms, r.email_p99_ms
                ),
            );
        }
        out
    }

    fn operations_table(&self, out: &mut String) {
        line(out, format!("{:<50} {:>6} {:>8}  calls of a typical request", "operation", "trips", "own us"));
        for (operation, trips) in &self.round_trips {
            let own = self.own_time_us.get(operation).copied().unwrap_or(0.0);
            let ops = self.round_trips_ops.get(operation).map(|o| o.join(" ")).unwrap_or_default();
            let check = max_round_trips(operation).map(|most| verdict(*trips <= most)).unwrap_or("");
            line(out, format!("{operation:<50} {trips:>6.1} {own:>8.0}  {ops}  {check}"));
        }
    }

    fn sweep_table(&self, out: &mut String) {
        line(out, format!("\n{:>12} {:>6} {:>9} {:>11} {:>14}  check", "table items", "due", "invoices", "items read", "limit"));
        for s in &self.sweep {
            let bound = sweep_bound(s.due, s.invoices);
            line(
                out,
                format!(
                    "{:>12} {:>6} {:>9} {:>11} {:>14.0}  {}",
                    s.table_items,
                    s.due,
                    s.invoices,
                    s.items_read,
                    bound,
                    verdict(s.items_read as f64 <= bound)
                ),
            );
        }
    }

    fn load_line(&self, out: &mut String) {
        let load = &self.load;
        line(
            out,
            format!(
                "\nload: {} requests, {} errors, p50 {:.1} ms, p99 {:.1} ms, {:.1} requests/s  {}",
                load.requests,
                load.errors,
                load.p50_ms,
                load.p99_ms,
                load.rps,
                verdict(load.errors == 0)
            ),
        );
    }
}

/// The most a sweep may read for `due` items and `invoices` months of usage: each item twice (its
/// key in the keys-only due index, then the item itself) and each month once more (its one usage
/// total), a tenth more for what falls due meanwhile, and a few for empty partitions.
pub fn sweep_bound(due: u64, invoices: u64) -> f64 {
    1.1 * (2.0 * due as f64 + 3.0 * invoices as f64) + 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(init: f64, floor: f64) -> Results {
        let mut r = Results::default();
        r.init_ms.insert(FLOOR_KEY.into(), floor);
        r.init_ms.insert("query".into(), init);
        r.package_bytes.insert("query".into(), 2_200_000);
        r.peak_rss_kib.insert("query".into(), 11_000);
        r.round_trips_ops.insert("GET /offers/{id}".into(), vec!["GetItem".into()]);
        r.round_trips.insert("GET /offers/{id}".into(), 1.0);
        r
    }

    #[test]
    fn the_file_has_exactly_the_issues_keys() {
        let json = serde_json::to_value(results(3.0, 1.5)).unwrap_or_default();
        let keys: Vec<&str> = json.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
        let mut expected = vec![
            "first_invoke_ms",
            "init_ms",
            "load",
            "own_time_us",
            "package_bytes",
            "peak_rss_kib",
            "relay",
            "round_trips",
            "round_trips_ops",
            "sweep",
        ];
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(json["load"].as_object().map(|o| o.len()), Some(5));
    }

    #[test]
    fn failed_requests_and_a_sweep_reading_the_table_break_the_run() {
        let mut r = results(3.0, 1.5);
        assert!(r.broken().is_empty());
        r.load.errors = 2;
        r.sweep.push(crate::sweep::Scaling { table_items: 10_000, due: 100, invoices: 0, items_read: 10_000 });
        assert_eq!(r.broken().len(), 2, "{:?}", r.broken());
    }

    #[test]
    fn writes_over_their_round_trips_sqs_on_a_request_and_a_heavy_package_break_the_run() {
        let mut r = results(2.0, 1.5);
        r.round_trips.insert("POST /offers".into(), 2.0);
        r.round_trips.insert("POST /opportunities/{id}/clone".into(), 3.0);
        r.round_trips.insert("POST /offers (Idempotency-Key)".into(), 3.0);
        r.round_trips.insert("GET /opportunities".into(), 4.0);
        r.round_trips.insert("notify".into(), 9.0);
        assert!(r.broken().is_empty(), "{:?}", r.broken());
        r.round_trips.insert("POST /offers/{id}/accept".into(), 3.0);
        r.round_trips_ops
            .insert("POST /offers/{id}/cancel".into(), vec!["GetItem".into(), "TransactWriteItems".into(), "SendMessage".into()]);
        r.package_bytes.insert("notify".into(), 3_400_000);
        r.package_bytes.insert("sellers".into(), 3_100_000);
        // The S3 client and lopdf are the document functions' alone: the same size breaks nothing there.
        r.package_bytes.insert("create-opportunity".into(), 4_100_000);
        assert_eq!(r.broken().len(), 3, "{:?}", r.broken());
        r.package_bytes.insert("query".into(), 4_600_000);
        assert_eq!(r.broken().len(), 4, "{:?}", r.broken());
    }

    #[test]
    fn a_function_slower_than_its_share_of_the_floor_is_flagged() {
        assert!(results(2.7, 1.5).table().lines().any(|l| l.starts_with("query") && l.ends_with("OVER")));
        assert!(results(2.6, 1.5).table().lines().any(|l| l.starts_with("query") && l.ends_with("ok")));
    }
}
