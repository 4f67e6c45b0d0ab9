//! Where URLs given by non-administrators may point. A token holder can ask Baton to POST an
//! instance's events to a URL (`config.subscriptions` of StartProcessInstanceCommand); without
//! a rule that reaches whatever the server can reach: its own loopback services, the cloud
//! metadata address (169.254.169.254), the private network behind it.
//!
//! The rule: unless the administrator allows it (`allowPrivateOutboundUrls`), such a URL's host
//! must resolve only to public addresses. It is checked at the command (every address the name
//! resolves to; the error names the field), and the URL is remembered (`outbound_checked`), so
//! that the sender resolves it again on every attempt, checks every address again (a name may
//! be pointed elsewhere after the check), and connects only to the addresses it checked. The
//! sender follows no redirects at all, so a public receiver cannot bounce a delivery inward.
//! URLs set by administrators (event subscriptions, custom webhooks) are theirs to choose.

use crate::{Caller, Error, Runtime};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

/// Why an address is not public, or None when it is.
pub(crate) fn not_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => not_public_v4(v4),
        IpAddr::V6(v6) => {
            // IPv4 inside IPv6 (mapped, NAT64, 6to4) is judged as the IPv4 address it carries.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return not_public_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return not_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            if s[0] == 0x2002 {
                let [a, b] = s[1].to_be_bytes();
                let [c, d] = s[2].to_be_bytes();
                return not_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_loopback() {
                Some("loopback")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xffc0 == 0xfec0 {
                Some("site-local")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if v6.is_multicast() {
                Some("multicast")
            } else if s[0..6] == [0, 0, 0, 0, 0, 0] {
                // ::a.b.c.d (IPv4-compatible, deprecated): never a public destination.
                Some("IPv4-compatible")
            } else {
                None
            }
        }
    }
}

fn not_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, _, _] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 0 {
        Some("this network (0.0.0.0/8)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space (100.64.0.0/10)")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a >= 240 {
        Some("reserved (240.0.0.0/4)")
    } else if a == 198 && (b == 18 || b == 19) {
        Some("benchmarking (198.18.0.0/15)")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("IETF protocol assignments (192.0.0.0/24)")
    } else {
        None
    }
}

/// The host and port of an `http://` or `https://` URL.
fn host_port(url: &str) -> Result<(String, u16), String> {
    let (rest, default_port) = if let Some(r) = url.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, 80)
    } else {
        return Err(format!("'{url}' is not an http:// or https:// address"));
    };
    // A backslash ends the authority too (as HTTP clients read URLs): `http://127.0.0.1\@x/`
    // is a loopback URL, not one at `x`.
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or_default();
    let hostport = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("'{url}' has an unclosed [ in its host"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("'{url}' has no host"));
    }
    let port = match port {
        None | Some("") => default_port,
        Some(p) => p
            .parse()
            .map_err(|_| format!("'{url}' has a port that is not a number from 0 to 65535"))?,
    };
    Ok((host, port))
}

/// How a URL failed the check.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refused {
    /// Its host reaches an address that is not public: final.
    NotPublic(String),
    /// It cannot be resolved now (try again later).
    Unresolved(String),
}

impl Refused {
    pub(crate) fn message(&self) -> &str {
        match self {
            Refused::NotPublic(m) | Refused::Unresolved(m) => m,
        }
    }
}

/// Resolves a URL's host and checks every address: all public, or the first one that is not.
pub(crate) fn public_addresses(url: &str) -> Result<Vec<SocketAddr>, Refused> {
    let (host, port) = host_port(url).map_err(Refused::NotPublic)?;
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| Refused::Unresolved(format!("cannot resolve {host}: {e}")))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(Refused::Unresolved(format!(
            "{host} resolves to no address"
        )));
    }
    for a in &addrs {
        if let Some(why) = not_public(a.ip()) {
            return Err(Refused::NotPublic(format!(
                "{host} resolves to {} ({why}); an administrator may allow private addresses (allowPrivateOutboundUrls)",
                a.ip()
            )));
        }
    }
    Ok(addrs)
}

impl Runtime {
    /// At the command: checks `config.subscriptions` URLs a non-administrator gave, and
    /// remembers them for the sender. An administrator's URLs are not checked.
    pub(crate) fn check_outbound_subscriptions(
        &self,
        subs: &[(String, String, String)],
        caller: &Caller,
    ) -> Result<(), Error> {
        if caller.admin || subs.is_empty() {
            return Ok(());
        }
        if !self.security().allow_private_outbound_urls {
            for (i, (url, _, _)) in subs.iter().enumerate() {
                public_addresses(url).map_err(|r| {
                    Error::field(
                        "config",
                        format!("config.subscriptions[{i}].url: {}", r.message()),
                    )
                })?;
            }
        }
        // Remembered even when allowed now: the sender applies the rule as it stands then.
        let urls: Vec<String> = subs.iter().map(|(u, _, _)| u.clone()).collect();
        let now = self.now();
        self.write(move |tx| {
            for u in &urls {
                tx.mark_outbound_checked(u, &now)?;
            }
            Ok(())
        })
    }

    /// At send time: whether `url` must go through [`Runtime::checked_agent`] (a URL a
    /// non-administrator gave, private addresses not allowed).
    pub(crate) fn outbound_checked(&self, url: &str) -> bool {
        if self.security().allow_private_outbound_urls {
            return false;
        }
        self.store().outbound_checked(url).unwrap_or_else(|e| {
            // Unknown whether it was given by a non-administrator: check it.
            tracing::warn!("cannot read the checked outbound URLs: {e}");
            true
        })
    }

    /// The HTTP client for checked URLs: it resolves each host itself at connection time,
    /// refuses a name with any address that is not public, and connects only to the addresses
    /// it checked (the host as the client read the URL, so no parser can disagree).
    pub(crate) fn checked_agent(&self, timeout: std::time::Duration) -> ureq::Agent {
        self.webhook_cache
            .checked_agent
            .get_or_init(|| {
                ureq::AgentBuilder::new()
                    .timeout(timeout)
                    .redirects(0)
                    .resolver(|netloc: &str| -> std::io::Result<Vec<SocketAddr>> {
                        let addrs: Vec<SocketAddr> = netloc.to_socket_addrs()?.collect();
                        for a in &addrs {
                            if let Some(why) = not_public(a.ip()) {
                                return Err(std::io::Error::new(
                                    std::io::ErrorKind::PermissionDenied,
                                    format!("{REFUSED_MARK}: {netloc} resolves to {} ({why}); an administrator may allow private addresses (allowPrivateOutboundUrls)", a.ip()),
                                ));
                            }
                        }
                        Ok(addrs)
                    })
                    .build()
            })
            .clone()
    }
}

/// How the checked client's refusal starts (the sender tells it from other failures).
pub(crate) const REFUSED_MARK: &str = "refused by the outbound URL policy";

#[cfg(test)]
mod tests {
    use super::*;

    fn why(ip: &str) -> Option<&'static str> {
        not_public(ip.parse().unwrap())
    }

    #[test]
    fn loopback_link_local_and_private_ranges_are_not_public() {
        for (ip, kind) in [
            ("127.0.0.1", "loopback"),
            ("127.255.0.9", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "this network (0.0.0.0/8)"),
            ("100.64.0.1", "shared address space (100.64.0.0/10)"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fe80::1", "link-local"),
            ("fd00::1", "private (unique local)"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local"),
            ("64:ff9b::10.0.0.1", "private"),
            ("2002:c0a8:0101::1", "private"),
            ("::127.0.0.1", "IPv4-compatible"),
        ] {
            assert_eq!(why(ip), Some(kind), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(why(ip), None, "{ip}");
        }
    }

    #[test]
    fn hosts_and_ports_are_read_from_urls() {
        assert_eq!(
            host_port("http://a.example/x").unwrap(),
            ("a.example".into(), 80)
        );
        assert_eq!(
            host_port("https://a.example").unwrap(),
            ("a.example".into(), 443)
        );
        assert_eq!(
            host_port("http://u:p@b.example:8080/p?q#f").unwrap(),
            ("b.example".into(), 8080)
        );
        assert_eq!(host_port("http://[::1]:9/").unwrap(), ("::1".into(), 9));
        assert_eq!(
            host_port("http://[fe80::1]/").unwrap(),
            ("fe80::1".into(), 80)
        );
        assert!(host_port("http://:80/").is_err());
        assert!(host_port("http://h:99999/").is_err());
        assert!(host_port("ftp://h/").is_err());
        // userinfo cannot hide the host: the part after the last @ is the host.
        assert_eq!(
            host_port("http://8.8.8.8@127.0.0.1/").unwrap(),
            ("127.0.0.1".into(), 80)
        );
    }

    #[test]
    fn literal_and_named_loopback_urls_are_refused() {
        for url in [
            "http://127.0.0.1:9/hook",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:7410/api",
        ] {
            match public_addresses(url) {
                Err(Refused::NotPublic(m)) => {
                    assert!(m.contains("allowPrivateOutboundUrls"), "{m}")
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        assert_eq!(
            public_addresses("http://93.184.216.34:8080/x").unwrap(),
            vec!["93.184.216.34:8080".parse().unwrap()]
        );
    }
}
