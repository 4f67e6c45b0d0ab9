//! Rate limits on the doors without a token (`/webhook/...`, `/hooks/{token}`): a token bucket
//! per client address, `rateLimitBurst` deep, refilled at `rateLimitPerMinute` (settings). The
//! address is the socket's (never X-Forwarded-For); IPv6 addresses share one bucket per /64,
//! since one host usually holds a whole /64. A refused request is answered 429 with
//! Retry-After before its body is read, and is not recorded in the request log (a flood would
//! otherwise write the log it is refused from).
//!
//! Time comes from the runtime's clock, so tests move it instead of sleeping. The table of
//! buckets is bounded: past `MAX_BUCKETS` addresses, the full (idle) buckets are dropped, and
//! if that is not enough the table starts again (a flood from that many addresses is beyond
//! what a per-address limit can hold anyway).

use crate::Runtime;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Addresses tracked at most.
const MAX_BUCKETS: usize = 100_000;

/// Tokens left and when they were counted (microseconds on the runtime's clock).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: i64,
}

/// The buckets of one runtime.
#[derive(Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

/// The bucket an address draws from: IPv4 as it is (an IPv4-mapped IPv6 address too), IPv6 by
/// its /64.
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

impl Limiter {
    /// Takes one token for `ip` at `now_us`; Err is the whole seconds until one is there.
    fn take(&self, ip: IpAddr, now_us: i64, per_minute: i64, burst: i64) -> Result<(), u64> {
        let rate = per_minute as f64 / 60_000_000.0; // tokens per microsecond
        let depth = burst.max(1) as f64;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|_, b| {
                let elapsed = now_us.saturating_sub(b.at).max(0) as f64;
                b.tokens + elapsed * rate < depth
            });
            if buckets.len() >= MAX_BUCKETS {
                buckets.clear();
            }
        }
        let b = buckets.entry(bucket_key(ip)).or_insert(Bucket {
            tokens: depth,
            at: now_us,
        });
        // A clock moved back counts as no time passed.
        let elapsed = now_us.saturating_sub(b.at).max(0) as f64;
        b.tokens = (b.tokens + elapsed * rate).min(depth);
        b.at = now_us.max(b.at);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let wait_us = (1.0 - b.tokens) / rate;
        Err(((wait_us / 1_000_000.0).ceil() as u64).max(1))
    }

    /// Starts every address afresh (the limits changed).
    pub(crate) fn forget_all(&self) {
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

impl Runtime {
    /// Whether a request from `remote` to a door without a token may go on: Err holds the
    /// seconds to wait (Retry-After). Callers without an address (in-process) are not limited.
    pub fn admit_unauthenticated(&self, remote: Option<IpAddr>) -> Result<(), u64> {
        let Some(ip) = remote else { return Ok(()) };
        let s = self.security();
        if s.rate_limit_per_minute == 0 {
            return Ok(());
        }
        let now_us = self.clock.now().as_microsecond();
        self.webhook_cache
            .limiter
            .take(ip, now_us, s.rate_limit_per_minute, s.rate_limit_burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_then_refills_with_time() {
        let l = Limiter::default();
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        for _ in 0..3 {
            assert!(l.take(ip, 0, 60, 3).is_ok());
        }
        // One token a second: the fourth waits a second.
        assert_eq!(l.take(ip, 0, 60, 3), Err(1));
        assert_eq!(l.take(ip, 500_000, 60, 3), Err(1));
        assert!(l.take(ip, 1_000_000, 60, 3).is_ok());
        // Another address has its own bucket.
        assert!(l.take("203.0.113.10".parse().unwrap(), 0, 60, 3).is_ok());
        // Slow rates answer longer waits.
        let slow: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(l.take(slow, 0, 1, 1).is_ok());
        assert_eq!(l.take(slow, 0, 1, 1), Err(60));
    }

    #[test]
    fn ipv6_shares_a_bucket_per_64_and_mapped_v4_is_v4() {
        let l = Limiter::default();
        assert!(l.take("2001:db8:1:2::1".parse().unwrap(), 0, 60, 1).is_ok());
        assert!(l
            .take("2001:db8:1:2::ffff".parse().unwrap(), 0, 60, 1)
            .is_err());
        assert!(l.take("2001:db8:1:3::1".parse().unwrap(), 0, 60, 1).is_ok());
        assert!(l.take("192.0.2.7".parse().unwrap(), 0, 60, 1).is_ok());
        assert!(l
            .take("::ffff:192.0.2.7".parse().unwrap(), 0, 60, 1)
            .is_err());
    }

    #[test]
    fn a_clock_moved_back_and_huge_values_do_not_panic() {
        let l = Limiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(l.take(ip, i64::MAX, 6_000_000, 1_000_000).is_ok());
        assert!(l.take(ip, i64::MIN, 6_000_000, 1_000_000).is_ok());
        assert!(l.take(ip, 0, 1, 0).is_ok());
    }
}
