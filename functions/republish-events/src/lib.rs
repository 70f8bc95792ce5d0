//! republish-events: sends the events of a window through the stream again, from the event items
//! themselves. A stream keeps records for 24 hours, and a pipe's dead-letter queue holds only a
//! failed batch's position and times, never the records; the event items are kept 15 days. An
//! operator gives the window (from the dead-letter message's arrival times, or an outage's), and
//! each event item in it is written again, unchanged but for `republishedAt`: the stream carries
//! it once more, as a `MODIFY`, through both pipes. notify sends no email twice (its deals and
//! claims); the bus gets the entries again, each with the `requestId` it had (at least once).

use chrono::{DateTime, Duration, DurationRound, Utc};
use cppo_platform::store::{events_hour, StoreError};
use cppo_platform::App;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

#[derive(Debug, Default, Serialize)]
pub struct Republished {
    pub republished: u64,
}

/// At most this long a window at once: longer than an event item is kept.
const LONGEST_WINDOW_DAYS: i64 = 15;

pub async fn republish(app: &App, window: &Window) -> Result<Republished, String> {
    if window.to < window.from || window.to - window.from > Duration::days(LONGEST_WINDOW_DAYS) {
        return Err(format!("the window must run forwards, over at most {LONGEST_WINDOW_DAYS} days"));
    }
    let mut done = Republished::default();
    let mut hour = window.from.duration_trunc(Duration::hours(1)).map_err(|e| e.to_string())?;
    while hour <= window.to {
        for partition in events_hour(hour) {
            done.republished += republish_hour(app, &partition, window).await.map_err(|e| e.to_string())?;
        }
        hour += Duration::hours(1);
    }
    tracing::info!(republished = done.republished, from = %window.from, to = %window.to, "events republished");
    Ok(done)
}

async fn republish_hour(app: &App, hour: &str, window: &Window) -> Result<u64, StoreError> {
    let (mut count, mut start) = (0, None);
    loop {
        let (keys, next) = app.store.events_between(hour, window.from, window.to, start).await?;
        for key in &keys {
            app.store.republish(key, app.now()).await?;
            count += 1;
        }
        match next {
            Some(key) => start = Some(key),
            None => return Ok(count),
        }
    }
}
