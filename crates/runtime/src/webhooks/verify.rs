//! Signature schemes: Standard Webhooks, Paystack, Stripe, Flutterwave, plain HMAC-SHA256.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::Value;

type HmacSha256 = Hmac<sha2::Sha256>;
type HmacSha512 = Hmac<sha2::Sha512>;

/// Verification schemes a configuration may use.
pub(super) const SCHEMES: &[&str] = &[
    "standardWebhooks",
    "paystack",
    "stripe",
    "flutterwave",
    "hmacSha256",
    "none",
];

/// How far a signed timestamp (Standard Webhooks, Stripe) may be from the runtime's clock.
const TOLERANCE_SECONDS: i64 = 300;

/// The key bytes of a Standard Webhooks secret `whsec_<base64>`.
pub(crate) fn standard_key(secret: &str) -> Result<Vec<u8>, String> {
    let b64 = secret.strip_prefix("whsec_").ok_or_else(|| {
        "a standardWebhooks secret starts with whsec_ followed by base64".to_string()
    })?;
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| "the part of the secret after whsec_ is not base64".to_string())
}

/// Equal bytes, in time that does not depend on where they differ.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.trim())
}

fn sha256_matches(key: &[u8], parts: &[&[u8]], sig: &[u8]) -> bool {
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return false;
    };
    for p in parts {
        mac.update(p);
    }
    mac.verify_slice(sig).is_ok()
}

fn timestamp_fresh(ts: &str, now: i64) -> Result<(), String> {
    let t: i64 = ts
        .trim()
        .parse()
        .map_err(|_| format!("the timestamp '{ts}' is not a whole number of seconds"))?;
    // Any i64 may arrive: the distance is computed without overflow (i64::MIN - now wraps).
    let off = now.checked_sub(t).and_then(i64::checked_abs);
    if off.is_none_or(|d| d > TOLERANCE_SECONDS) {
        return Err(format!(
            "the timestamp {t} is more than {TOLERANCE_SECONDS} seconds from the server's clock ({now})"
        ));
    }
    Ok(())
}

/// Checks a request's signature against the configuration's scheme; Err says why not.
pub(super) fn verify(
    verification: &Value,
    headers: &[(String, String)],
    body: &[u8],
    now: i64,
) -> Result<(), String> {
    let scheme = verification["scheme"].as_str().unwrap_or("none");
    let secret = verification["secret"].as_str().unwrap_or_default();
    let need = |name: &str| header(headers, name).ok_or_else(|| format!("no {name} header"));
    match scheme {
        "none" => Ok(()),
        "standardWebhooks" => {
            let key = standard_key(secret)?;
            let id = need("webhook-id")?;
            let ts = need("webhook-timestamp")?;
            let sigs = need("webhook-signature")?;
            timestamp_fresh(ts, now)?;
            let ok = sigs.split_whitespace().any(|s| {
                s.strip_prefix("v1,")
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                    .is_some_and(|sig| {
                        sha256_matches(
                            &key,
                            &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
                            &sig,
                        )
                    })
            });
            ok.then_some(())
                .ok_or_else(|| "no v1 signature in webhook-signature matches".into())
        }
        "paystack" => {
            let sig = hex::decode(need("x-paystack-signature")?)
                .map_err(|_| "x-paystack-signature is not hex".to_string())?;
            let mut mac =
                HmacSha512::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
            mac.update(body);
            mac.verify_slice(&sig)
                .map_err(|_| "x-paystack-signature does not match".into())
        }
        "stripe" => {
            let h = need("stripe-signature")?;
            let mut t = None;
            let mut v1 = Vec::new();
            for part in h.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", v)) => t = Some(v),
                    Some(("v1", v)) => v1.push(v),
                    _ => {}
                }
            }
            let t = t.ok_or("Stripe-Signature has no t=")?;
            timestamp_fresh(t, now)?;
            let ok = v1.iter().any(|s| {
                hex::decode(s).is_ok_and(|sig| {
                    sha256_matches(secret.as_bytes(), &[t.as_bytes(), b".", body], &sig)
                })
            });
            ok.then_some(())
                .ok_or_else(|| "no v1 signature in Stripe-Signature matches".into())
        }
        "flutterwave" => same_bytes(need("verif-hash")?.as_bytes(), secret.as_bytes())
            .then_some(())
            .ok_or_else(|| "verif-hash does not match".into()),
        "hmacSha256" => {
            let name = verification["header"].as_str().unwrap_or("x-signature");
            let given = need(name)?;
            let given = given.strip_prefix("sha256=").unwrap_or(given);
            let sig = hex::decode(given).map_err(|_| format!("{name} is not hex"))?;
            sha256_matches(secret.as_bytes(), &[body], &sig)
                .then_some(())
                .ok_or_else(|| format!("{name} does not match"))
        }
        other => Err(format!("unknown verification scheme '{other}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_at_the_ends_of_i64_are_stale_not_a_panic() {
        let now = 1_800_000_000;
        assert!(timestamp_fresh(&now.to_string(), now).is_ok());
        assert!(timestamp_fresh(&(now - 300).to_string(), now).is_ok());
        assert!(timestamp_fresh(&(now + 300).to_string(), now).is_ok());
        assert!(timestamp_fresh(&(now - 301).to_string(), now).is_err());
        assert!(timestamp_fresh(&(now + 301).to_string(), now).is_err());
        // t = now - 2^63 (i64::MIN side), the largest t, and both ends with now at either end.
        for (t, now) in [
            (i64::MIN, now),
            (i64::MAX, now),
            (i64::MIN + 1, now),
            (i64::MIN, i64::MAX),
            (i64::MAX, i64::MIN),
            (i64::MIN, 0),
            (0, i64::MIN),
            (i64::MIN, -1),
        ] {
            let why = timestamp_fresh(&t.to_string(), now).unwrap_err();
            assert!(why.contains("more than 300 seconds"), "{t} {now}: {why}");
        }
        assert!(timestamp_fresh(&i64::MIN.to_string(), i64::MIN).is_ok());
        assert!(timestamp_fresh(&i64::MAX.to_string(), i64::MAX).is_ok());
        // Past i64: not a number of seconds.
        assert!(timestamp_fresh("9223372036854775808", now)
            .unwrap_err()
            .contains("not a whole number"));
    }

    #[test]
    fn stale_stripe_and_standard_timestamps_at_i64_min_are_refused() {
        let now = 1_800_000_000;
        let stripe = serde_json::json!({"scheme": "stripe", "secret": "s"});
        let h = vec![(
            "stripe-signature".to_string(),
            format!("t={},v1=00", i64::MIN),
        )];
        assert!(verify(&stripe, &h, b"{}", now).is_err());
        let std = serde_json::json!({"scheme": "standardWebhooks", "secret": "whsec_c2VjcmV0"});
        let h = vec![
            ("webhook-id".to_string(), "m1".to_string()),
            (
                "webhook-timestamp".to_string(),
                (now.wrapping_sub(i64::MIN)).to_string(),
            ),
            ("webhook-signature".to_string(), "v1,AAAA".to_string()),
        ];
        assert!(verify(&std, &h, b"{}", now).is_err());
    }

    #[test]
    fn constant_time_compare() {
        assert!(same_bytes(b"abc", b"abc"));
        assert!(!same_bytes(b"abc", b"abd"));
        assert!(!same_bytes(b"abc", b"ab"));
    }
}
