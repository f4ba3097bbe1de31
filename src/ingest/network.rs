//! Where newswatch may connect on its own. The operator is trusted, the
//! feeds are not: an origin written in the config (or typed on the command
//! line) may be anywhere, but what a feed sends us to (a redirect to another
//! origin) may not reach loopback, private, link-local, CGNAT, multicast or
//! other special-purpose addresses unless `allow_networks` opens them
//! (`deny_networks` closes more). Host names are checked on the addresses
//! they resolve to, by the resolver the HTTP client connects with: a name
//! that resolves to 127.0.0.1, or a DNS answer that changes between a check
//! and the connection, is refused as well.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// The networks open and closed to connections a feed leads us to.
#[derive(Debug, Clone, Default)]
pub struct NetworkPolicy {
    /// Opened although special-purpose (`allow_networks`).
    pub allow: Vec<IpNet>,
    /// Closed although public (`deny_networks`); wins over `allow`.
    pub deny: Vec<IpNet>,
    /// Every special-purpose network open (`allow_private_redirects`).
    pub allow_all: bool,
    /// Origins (scheme, host and port) the operator wrote: they may be
    /// anywhere.
    pub trusted_origins: HashSet<String>,
}

impl NetworkPolicy {
    /// Whether a connection a feed led us to may go to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        if self.deny.iter().any(|n| n.contains(&ip)) {
            return false;
        }
        self.allow_all || self.allow.iter().any(|n| n.contains(&ip)) || !is_special(ip)
    }

    /// Whether `url`'s origin was written by the operator.
    pub fn trusts(&self, url: &url::Url) -> bool {
        self.trusted_origins.contains(&origin(url))
    }
}

/// A URL's origin as compared: `scheme://host:port`.
pub fn origin(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// An IPv6 address that carries an IPv4 one (mapped, compatible, NAT64 or
/// 6to4) as that IPv4 address: `[::ffff:127.0.0.2]`, `[::127.0.0.2]` and
/// `[64:ff9b::127.0.0.2]` are 127.0.0.2.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else {
        return ip;
    };
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let embedded = match s {
        // IPv4-mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0xffff, ..] => Some(low),
        // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks);
        // :: and ::1 are themselves.
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(low),
        // NAT64 (RFC 6052 well-known prefix and the local-use one of RFC 8215).
        [0x64, 0xff9b, 0, 0, 0, 0, ..] | [0x64, 0xff9b, 1, ..] => Some(low),
        // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
        [0x2002, a, b, ..] => Some(Ipv4Addr::new(
            (a >> 8) as u8,
            a as u8,
            (b >> 8) as u8,
            b as u8,
        )),
        _ => None,
    };
    embedded.map_or(ip, IpAddr::V4)
}

/// Loopback, private, link-local, CGNAT, multicast, unspecified, broadcast,
/// documentation, benchmarking and reserved addresses (IANA's special-purpose
/// registries), for IPv4 and IPv6.
fn is_special(ip: IpAddr) -> bool {
    const V4: &[&str] = &[
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    ];
    const V6: &[&str] = &[
        "::/128",
        "::1/128",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ];
    // Parsed once, not on every address checked.
    static NETS: std::sync::LazyLock<Vec<IpNet>> =
        std::sync::LazyLock::new(|| V4.iter().chain(V6).filter_map(|n| n.parse().ok()).collect());
    NETS.iter().any(|n| n.contains(&ip))
}

/// The resolver of the client that follows where feeds lead: a name's
/// addresses only where the policy permits, and an error naming them when
/// none is left.
pub(crate) struct PolicyResolver {
    pub policy: Arc<NetworkPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (open, closed): (Vec<SocketAddr>, Vec<SocketAddr>) =
                found.into_iter().partition(|a| policy.permits(a.ip()));
            if open.is_empty() && !closed.is_empty() {
                let addresses: Vec<String> = closed.iter().map(|a| a.ip().to_string()).collect();
                return Err(format!(
                    "{host} resolves to {} (not a public address): refused (allow_networks opens it)",
                    addresses.join(", ")
                )
                .into());
            }
            Ok(Box::new(open.into_iter()) as Addrs)
        })
    }
}

/// Whether the literal address of a URL a feed led us to is permitted
/// (a host name is checked when it is resolved).
pub fn permits_literal(policy: &NetworkPolicy, host: Option<url::Host<&str>>) -> bool {
    match host {
        Some(url::Host::Ipv4(ip)) => policy.permits(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => policy.permits(IpAddr::V6(ip)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn special_purpose_addresses_are_closed_in_every_spelling() {
        let policy = NetworkPolicy::default();
        for closed in [
            "127.0.0.2",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.2",
            "::127.0.0.2",
            "64:ff9b::127.0.0.2",
            "64:ff9b:1::a9fe:a9fe",
            "2002:7f00:2::",
        ] {
            assert!(!policy.permits(ip(closed)), "{closed}");
        }
        for open in [
            "93.184.216.34",
            "2606:2800:220:1::",
            "64:ff9b::5db8:d822",
            "8.8.8.8",
        ] {
            assert!(policy.permits(ip(open)), "{open}");
        }
    }

    #[test]
    fn allow_opens_and_deny_closes() {
        let policy = NetworkPolicy {
            allow: vec!["127.0.0.2/32".parse().unwrap()],
            deny: vec!["93.184.216.0/24".parse().unwrap()],
            ..NetworkPolicy::default()
        };
        assert!(policy.permits(ip("127.0.0.2")) && policy.permits(ip("::ffff:127.0.0.2")));
        assert!(!policy.permits(ip("127.0.0.3")));
        assert!(!policy.permits(ip("93.184.216.34")));
    }

    #[test]
    fn url_spellings_of_loopback_are_literal_loopback() {
        let policy = NetworkPolicy::default();
        for spelling in [
            "http://0x7f000002/",
            "http://2130706434/",
            "http://0177.0.0.2/",
            "http://127.2/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.2]/",
            "http://[::127.0.0.2]/",
            "http://[64:ff9b::127.0.0.2]/",
        ] {
            let url = url::Url::parse(spelling).unwrap();
            assert!(!permits_literal(&policy, url.host()), "{spelling}");
        }
    }
}
