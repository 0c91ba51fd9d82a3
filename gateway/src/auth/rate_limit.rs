//! Per-caller rate limits: a token bucket per key, refilled at a steady rate, so a
//! burst is served and a flood is refused instead of starving other callers.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Limits;

pub struct RateLimits {
    /// None when limits are switched off (`rate_per_second = 0`).
    buckets: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(limits: &Limits) -> Self {
        let buckets = NonZeroU32::new(limits.rate_per_second).map(|rate| {
            let burst = NonZeroU32::new(limits.rate_burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            buckets,
            clock: DefaultClock::default(),
        }
    }

    /// Takes a token from `caller`'s bucket; when it is empty, how long until the
    /// next token.
    pub fn check(&self, caller: &str) -> Result<(), Duration> {
        let Some(buckets) = &self.buckets else {
            return Ok(());
        };
        // Callers are API keys, a small set; forgetting idle buckets bounds memory
        // anyway.
        if buckets.len() > 10_000 {
            buckets.retain_recent();
        }
        buckets
            .check_key(&caller.to_string())
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_served_then_refused_per_caller() {
        let limits = Limits {
            rate_per_second: 1,
            rate_burst: 3,
            ..Limits::default()
        };
        let rate = RateLimits::new(&limits);
        for _ in 0..3 {
            assert!(rate.check("key:a").is_ok());
        }
        let wait = rate.check("key:a").expect_err("the bucket is empty");
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
        assert!(rate.check("key:b").is_ok(), "buckets are per caller");
    }

    #[test]
    fn zero_rate_switches_limits_off() {
        let limits = Limits {
            rate_per_second: 0,
            ..Limits::default()
        };
        let rate = RateLimits::new(&limits);
        assert!((0..1000).all(|_| rate.check("key:a").is_ok()));
    }
}
