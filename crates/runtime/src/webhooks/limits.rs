//! Rate limits on the doors without a token (`/webhook/...`, `/hooks/{token}`): a token bucket
//! per client address, `rateLimitBurst` deep, refilled at `rateLimitPerMinute` (settings). The
//! address is the socket's, or the one a proxy the administrator trusts reports (`proxy`);
//! IPv6 addresses share one bucket per /64, since one host usually holds a whole /64. A refused request is answered 429 with
//! Retry-After before its body is read, and is not recorded in the request log (a flood would
//! otherwise write the log it is refused from). It is counted instead, in memory: a total and
//! a count per address (the bucket's: an IPv6 /64), with when it was first and last refused,
//! shown to administrators beside the request log (`rateLimited`, `requests`). At most
//! `MAX_COUNTED` addresses are counted one by one; refusals from further addresses count in
//! the total and in `otherAddresses`.
//!
//! Time comes from the runtime's clock, so tests move it instead of sleeping. The table of
//! buckets is bounded: past `MAX_BUCKETS` addresses, the full (idle) buckets are dropped, and
//! if that is not enough the table starts again (a flood from that many addresses is beyond
//! what a per-address limit can hold anyway).

use crate::Runtime;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Addresses tracked at most.
const MAX_BUCKETS: usize = 100_000;
/// Addresses whose refusals are counted one by one, at most.
const MAX_COUNTED: usize = 10_000;
/// Addresses shown, the most refused first.
pub(super) const SHOWN: usize = 100;

/// Tokens left and when they were counted (microseconds on the runtime's clock).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: i64,
}

/// Refusals of one address: how many, first and last (microseconds on the runtime's clock).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Refusals {
    pub(super) count: u64,
    pub(super) first: i64,
    pub(super) last: i64,
}

/// Every refusal since the runtime started.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct Refused {
    pub(super) total: u64,
    /// Refusals of addresses past `MAX_COUNTED`.
    pub(super) other: u64,
    pub(super) by: HashMap<IpAddr, Refusals>,
}

impl Refused {
    fn count(&mut self, key: IpAddr, now_us: i64) {
        self.total = self.total.saturating_add(1);
        let room = self.by.len() < MAX_COUNTED;
        match self.by.get_mut(&key) {
            Some(r) => {
                r.count = r.count.saturating_add(1);
                r.last = r.last.max(now_us);
            }
            None if room => {
                self.by.insert(
                    key,
                    Refusals {
                        count: 1,
                        first: now_us,
                        last: now_us,
                    },
                );
            }
            None => self.other = self.other.saturating_add(1),
        }
    }

    /// The `SHOWN` most refused addresses, the most refused first (then the latest).
    pub(super) fn top(&self) -> Vec<(IpAddr, Refusals)> {
        let mut all: Vec<(IpAddr, Refusals)> = self.by.iter().map(|(k, v)| (*k, *v)).collect();
        all.sort_by(|a, b| {
            b.1.count
                .cmp(&a.1.count)
                .then(b.1.last.cmp(&a.1.last))
                .then(a.0.cmp(&b.0))
        });
        all.truncate(SHOWN);
        all
    }
}

/// The buckets of one runtime.
#[derive(Default)]
pub(crate) struct Limiter {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    refused: Mutex<Refused>,
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

    /// Counts a refusal of `ip` (by its bucket's address).
    fn refused(&self, ip: IpAddr, now_us: i64) {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .count(bucket_key(ip), now_us);
    }

    /// The refusals so far.
    pub(super) fn refusals(&self) -> Refused {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
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
        let limiter = &self.webhook_cache.limiter;
        let taken = limiter.take(ip, now_us, s.rate_limit_per_minute, s.rate_limit_burst);
        if taken.is_err() {
            limiter.refused(ip, now_us);
        }
        taken
    }
}

/// An address as counted: IPv4 as it is, IPv6 as its /64.
fn shown(key: IpAddr) -> String {
    match key {
        IpAddr::V6(v6) => format!("{v6}/64"),
        v4 => v4.to_string(),
    }
}

/// A time on the runtime's clock (microseconds) as the API writes times.
fn time_text(us: i64) -> Value {
    jiff::Timestamp::from_microsecond(us)
        .map(|t| json!(format!("{t:.6}")))
        .unwrap_or(Value::Null)
}

impl Runtime {
    /// What the rate limits refused since start, for administrators: the total, the most
    /// refused addresses, and the refusals of addresses past those counted one by one.
    pub(super) fn rate_limited_view(&self) -> Value {
        let r = self.webhook_cache.limiter.refusals();
        let addresses: Vec<Value> = r
            .top()
            .into_iter()
            .map(|(ip, n)| {
                json!({
                    "address": shown(ip),
                    "count": n.count,
                    "firstAt": time_text(n.first),
                    "lastAt": time_text(n.last),
                })
            })
            .collect();
        json!({
            "total": r.total,
            "addressCount": r.by.len(),
            "addresses": addresses,
            "otherAddresses": r.other,
        })
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
    fn refusals_are_counted_per_address_and_bounded() {
        let mut r = Refused::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "2001:db8::".parse().unwrap();
        r.count(a, 5);
        r.count(b, 6);
        r.count(a, 9);
        assert_eq!(r.total, 3);
        let top = r.top();
        assert_eq!(top[0].0, a);
        assert_eq!(
            top[0].1,
            Refusals {
                count: 2,
                first: 5,
                last: 9
            }
        );
        // Past MAX_COUNTED addresses, new ones count in the total and `other` only.
        for i in 0..MAX_COUNTED as u32 {
            r.count(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i)), 1);
        }
        assert_eq!(r.by.len(), MAX_COUNTED);
        assert!(r.other > 0);
        assert_eq!(r.total, 3 + MAX_COUNTED as u64);
        assert_eq!(r.top().len(), SHOWN);
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
