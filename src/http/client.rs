//! Who the client is when linli sits behind a reverse proxy: `X-Forwarded-For` and
//! `Forwarded` are believed only when the TCP peer is one of the configured
//! `trusted_proxies`; the client is then the right-most address in the chain that is not a
//! trusted proxy itself (what the nearest proxy saw), so an address a client writes into the
//! header itself is never taken over one a trusted proxy appended.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, request::Parts};

/// Proxy addresses and ranges (`trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Proxies(Vec<(IpAddr, u8)>);

impl Proxies {
    pub fn parse(entries: &[String]) -> Result<Proxies, String> {
        let mut out = Vec::new();
        for e in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
            let (addr, bits) = match e.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (e, None),
            };
            let bad =
                || crate::kernel::i18n::en_zh("config.proxy", &[("entry", &format!("{e:?}"))]);
            let ip = canonical(
                addr.trim_matches(['[', ']'])
                    .parse::<IpAddr>()
                    .map_err(|_| bad())?,
            );
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let n = match bits {
                None => max,
                Some(b) => b.parse::<u8>().ok().filter(|n| *n <= max).ok_or_else(bad)?,
            };
            out.push((ip, n));
        }
        Ok(Proxies(out))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|(net, bits)| in_net(ip, *net, *bits))
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) as the IPv4 address they are.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

/// One hop's address as a proxy wrote it: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:80`,
/// `"[2001:db8::1]"`; `None` for `unknown`, obfuscated names (`_hidden`) and garbage.
fn hop(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    s.strip_prefix('[')
        .and_then(|r| r.split(']').next())
        .and_then(|a| a.parse::<IpAddr>().ok())
        .map(canonical)
}

/// The chain of forwarded addresses, client first: `Forwarded` (RFC 7239) when present,
/// otherwise `X-Forwarded-For`. An entry that does not parse is `None`.
fn chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::to_string)
            .collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| hop(v))
            })
            .collect();
    }
    values("x-forwarded-for").iter().map(|v| hop(v)).collect()
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// right-most forwarded address that is not itself a trusted proxy.
pub fn client_ip(headers: &HeaderMap, peer: IpAddr, trusted: &Proxies) -> IpAddr {
    let peer = canonical(peer);
    if trusted.is_empty() || !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    for entry in chain(headers).into_iter().rev() {
        match entry {
            Some(ip) if trusted.contains(ip) => client = ip,
            Some(ip) => return ip,
            // What the nearest trusted proxy wrote cannot be read: the proxy is all we know.
            None => return client,
        }
    }
    client
}

/// The client's address as a handler argument (see [`client_ip`]).
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<std::sync::Arc<crate::state::AppState>> for ClientAddr {
    type Rejection = crate::kernel::AppError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<crate::state::AppState>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| crate::kernel::AppError::internal("client address", "no ConnectInfo"))?;
        Ok(ClientAddr(client_ip(
            &parts.headers,
            peer,
            &state.cfg.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        m
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_only_from_trusted_proxies() {
        let trusted = Proxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap();
        let xff = h(&[("x-forwarded-for", "203.0.113.9")]);
        // Not from a proxy: the header is the client's own word and is ignored.
        assert_eq!(
            client_ip(&xff, ip("198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(&xff, ip("127.0.0.1"), &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(&xff, ip("127.0.0.1"), &Proxies::default()),
            ip("127.0.0.1")
        );
        // A client that writes a header of its own gets its real address appended after it.
        let spoof = h(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9, 10.0.0.5")]);
        assert_eq!(
            client_ip(&spoof, ip("127.0.0.1"), &trusted),
            ip("203.0.113.9")
        );
        let fwd = h(&[(
            "forwarded",
            "for=1.1.1.1, For=\"[2001:db8:cafe::17]:4711\";proto=https",
        )]);
        assert_eq!(
            client_ip(&fwd, ip("::ffff:127.0.0.1"), &trusted),
            ip("2001:db8:cafe::17")
        );
        let hidden = h(&[("forwarded", "for=_hidden")]);
        assert_eq!(
            client_ip(&hidden, ip("127.0.0.1"), &trusted),
            ip("127.0.0.1")
        );
        assert!(Proxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(Proxies::parse(&["proxy.lan".into()]).is_err());
    }
}
