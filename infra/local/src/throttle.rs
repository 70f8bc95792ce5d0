//! The HTTP API stage's throttling, played locally: a token bucket refilled at the rate limit,
//! holding at most the burst limit, as API Gateway's is.

use std::sync::Mutex;
use std::time::Instant;

/// Requests per second and burst, as the template's `ApiRateLimit` and `ApiBurstLimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub rate_per_second: u64,
    pub burst: u64,
}

impl RateLimit {
    /// Far past anything a test or a benchmark sends: the stage's 50 a second would throttle
    /// races, fuzzing and load runs that measure the service, not API Gateway.
    pub const UNTHROTTLED: RateLimit = RateLimit { rate_per_second: 1_000_000, burst: 1_000_000 };
}

/// Tokens are counted in millionths so the refill stays exact at any rate.
const SCALE: u64 = 1_000_000;

pub struct Throttle {
    limit: RateLimit,
    bucket: Mutex<(u64, Instant)>,
}

impl Throttle {
    pub fn new(limit: RateLimit) -> Throttle {
        Throttle { limit, bucket: Mutex::new((limit.burst.saturating_mul(SCALE), Instant::now())) }
    }

    /// Takes a token for one request at `now`; false when the bucket is empty.
    pub fn admit(&self, now: Instant) -> bool {
        let mut bucket = self.bucket.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (tokens, since) = *bucket;
        let elapsed = u64::try_from(now.saturating_duration_since(since).as_micros()).unwrap_or(u64::MAX);
        let refilled =
            tokens.saturating_add(elapsed.saturating_mul(self.limit.rate_per_second)).min(self.limit.burst.saturating_mul(SCALE));
        let admitted = refilled >= SCALE;
        *bucket = (if admitted { refilled - SCALE } else { refilled }, now.max(since));
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_is_admitted_then_the_rate() {
        let throttle = Throttle::new(RateLimit { rate_per_second: 10, burst: 3 });
        let t0 = Instant::now();
        assert_eq!((0..4).map(|_| throttle.admit(t0)).collect::<Vec<_>>(), [true, true, true, false]);
        // 10 per second: one token every 100 ms, never more than the burst.
        assert!(!throttle.admit(t0 + Duration::from_millis(50)));
        assert!(throttle.admit(t0 + Duration::from_millis(100)));
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..4).map(|_| throttle.admit(later)).collect::<Vec<_>>(), [true, true, true, false]);
    }
}
