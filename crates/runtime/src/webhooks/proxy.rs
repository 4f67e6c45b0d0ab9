//! The client's address behind a reverse proxy (setting `trustedProxies`, docs/security.md).
//!
//! The socket's address is the client's unless it is one of the proxies the administrator
//! trusts. Then the address is taken from the header those proxies write (setting
//! `clientAddressHeader`: `X-Forwarded-For`, the default, or `Forwarded`), reading its entries
//! from the right: each proxy appends the address it received from, so the right-most entry
//! that is not a trusted proxy is the client. Entries to the left of it are whatever the client
//! sent and are never used. An entry that cannot be read (`unknown`, an obfuscated name, junk)
//! stops the walk at the trusted proxy that wrote it, which then counts as the client: a
//! spoofed or broken header can make a request share the proxy's bucket, never choose another.
//! Only one header is read: a client can send the other one, and no proxy would correct it.
//!
//! With no trusted proxy (the default) nothing here reads a header.

use crate::Runtime;
use axum::http::HeaderMap;
use std::net::IpAddr;

/// An address range: a network address and its prefix length (the host bits are zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// `10.0.0.0/8`, `fd00::/8`, or one address (`192.0.2.7`, `::1`). An IPv4 address written
    /// as IPv6 (`::ffff:a.b.c.d`) is the IPv4 address. Host bits are cleared.
    pub(crate) fn parse(text: &str) -> Option<Net> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((a, p)) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 3 {
                    return None;
                }
                (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?))
            }
            None => (text.trim().parse::<IpAddr>().ok()?, None),
        };
        let (addr, prefix) = match (addr, prefix) {
            // A mapped IPv4 address with an IPv6 prefix of 96 or more is the IPv4 range.
            (IpAddr::V6(v6), p) if v6.to_ipv4_mapped().is_some() => {
                let v4 = IpAddr::V4(v6.to_ipv4_mapped()?);
                match p {
                    None => (v4, None),
                    Some(p) if (96..=128).contains(&p) => (v4, Some(p - 96)),
                    Some(_) => return None,
                }
            }
            other => other,
        };
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(width);
        if prefix > width {
            return None;
        }
        Some(Net {
            addr: mask(addr, prefix),
            prefix,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == self.addr
    }
}

/// `ip` with all but its first `prefix` bits cleared.
fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - prefix as u32).unwrap_or(0);
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - prefix as u32).unwrap_or(0);
            IpAddr::V6((bits & m).into())
        }
    }
}

/// Which header trusted proxies write the client's address in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ForwardHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl ForwardHeader {
    pub(crate) const NAMES: [&'static str; 2] = ["X-Forwarded-For", "Forwarded"];

    pub(crate) fn parse(text: &str) -> Option<ForwardHeader> {
        if text.eq_ignore_ascii_case("X-Forwarded-For") {
            Some(ForwardHeader::XForwardedFor)
        } else if text.eq_ignore_ascii_case("Forwarded") {
            Some(ForwardHeader::Forwarded)
        } else {
            None
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            ForwardHeader::XForwardedFor => Self::NAMES[0],
            ForwardHeader::Forwarded => Self::NAMES[1],
        }
    }
}

/// An address as a hop writes it: `192.0.2.7`, `192.0.2.7:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`, in double quotes or not (None: anything else).
fn hop_address(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(t)
        .trim();
    if let Some(rest) = t.strip_prefix('[') {
        let (inner, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        return if port_ok {
            inner.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            None
        };
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Some(ip);
    }
    // IPv4 with a port.
    let (a, p) = t.split_once(':')?;
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    a.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The `for=` value of one element of a `Forwarded` header.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("for") {
            hop_address(value)
        } else {
            None
        }
    })
}

/// The hops `header` lists, right-most first (None for an entry that cannot be read).
fn hops(headers: &HeaderMap, header: ForwardHeader) -> Vec<Option<IpAddr>> {
    let name = match header {
        ForwardHeader::XForwardedFor => "x-forwarded-for",
        ForwardHeader::Forwarded => "forwarded",
    };
    let values: Vec<_> = headers.get_all(name).iter().collect();
    let mut out = Vec::new();
    for value in values.into_iter().rev() {
        let Ok(text) = value.to_str() else {
            out.push(None);
            return out;
        };
        for entry in text.rsplit(',') {
            if entry.trim().is_empty() {
                continue;
            }
            out.push(match header {
                ForwardHeader::XForwardedFor => hop_address(entry),
                ForwardHeader::Forwarded => forwarded_for(entry),
            });
        }
    }
    out
}

/// The client's address: `peer`, or when it is a trusted proxy the right-most hop that is
/// not one (see the module's text).
pub(crate) fn client_address(
    peer: IpAddr,
    trusted: &[Net],
    header: ForwardHeader,
    headers: &HeaderMap,
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    for hop in hops(headers, header) {
        let Some(ip) = hop else { break };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

impl Runtime {
    /// The address a request to a door without a token counts as coming from (rate limits,
    /// `allowedIPs`, the request log): the socket's `peer`, unless the administrator trusts it
    /// as a proxy (then what that proxy says). None for in-process callers.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        let s = self.security();
        if s.trusted_proxies.is_empty() {
            return Some(peer);
        }
        Some(client_address(
            peer,
            &s.trusted_proxies,
            s.client_address_header,
            headers,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<Net> {
        list.iter().map(|t| Net::parse(t).unwrap()).collect()
    }

    fn with(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, v.parse().unwrap());
        }
        h
    }

    fn ip(t: &str) -> IpAddr {
        t.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_match() {
        let n = Net::parse("10.1.2.3/8").unwrap();
        assert!(n.contains(ip("10.200.0.1")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.0.0.9")), "mapped IPv4 is IPv4");
        assert!(Net::parse("::ffff:192.0.2.0/120")
            .unwrap()
            .contains(ip("192.0.2.200")));
        assert!(Net::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(!Net::parse("fd00::/8").unwrap().contains(ip("10.0.0.1")));
        assert!(Net::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.1")));
        assert!(Net::parse("::1").unwrap().contains(ip("::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/0008",
            "example.com",
            "10.0.0.0/8/8",
            "::ffff:1.2.3.4/95",
        ] {
            assert!(Net::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        let xff = ForwardHeader::XForwardedFor;
        // An untrusted peer: its header is ignored.
        let h = with("x-forwarded-for", &["198.51.100.1"]);
        assert_eq!(
            client_address(ip("203.0.113.5"), &trusted, xff, &h),
            ip("203.0.113.5")
        );
        // Through two trusted proxies; the left-most entry is the client's own claim.
        let h = with("x-forwarded-for", &["1.1.1.1, 198.51.100.7", "10.0.0.2"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &trusted, xff, &h),
            ip("198.51.100.7")
        );
        // Every hop trusted: the left-most.
        let h = with("x-forwarded-for", &["10.9.9.9, 10.0.0.2"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &trusted, xff, &h),
            ip("10.9.9.9")
        );
        // No header, or an unreadable hop: the trusted proxy that wrote it.
        assert_eq!(
            client_address(ip("10.0.0.1"), &trusted, xff, &HeaderMap::new()),
            ip("10.0.0.1")
        );
        let h = with("x-forwarded-for", &["198.51.100.7, unknown, 10.0.0.3"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &trusted, xff, &h),
            ip("10.0.0.3")
        );
        // Ports and brackets.
        let h = with("x-forwarded-for", &["[2001:db8::5]:4711"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &trusted, xff, &h),
            ip("2001:db8::5")
        );
        let h = with("x-forwarded-for", &["198.51.100.9:80"]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &trusted, xff, &h),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn only_the_chosen_header_is_read() {
        let trusted = nets(&["127.0.0.1"]);
        let mut h = with(
            "forwarded",
            &[r#"for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711""#],
        );
        h.append("x-forwarded-for", "198.51.100.1".parse().unwrap());
        assert_eq!(
            client_address(ip("127.0.0.1"), &trusted, ForwardHeader::Forwarded, &h),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            client_address(ip("127.0.0.1"), &trusted, ForwardHeader::XForwardedFor, &h),
            ip("198.51.100.1")
        );
        // An element without `for`, or an obfuscated one, stops at the proxy.
        let h = with("forwarded", &["for=192.0.2.60, proto=https"]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &trusted, ForwardHeader::Forwarded, &h),
            ip("127.0.0.1")
        );
        let h = with("forwarded", &["for=_hidden"]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &trusted, ForwardHeader::Forwarded, &h),
            ip("127.0.0.1")
        );
    }
}
