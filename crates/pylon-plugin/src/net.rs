//! Address lists (`"10.0.0.0/8"`, `"192.168.1.7"`, `"::1"`) and the client address behind
//! trusted proxies.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::spec::Options;

/// A set of addresses and networks (IPv4 and IPv6), from config strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IpSet {
    nets: Vec<IpNet>,
}

impl IpSet {
    /// Parses `key` as an array of addresses or CIDRs, reporting each bad element.
    pub(crate) fn parse(o: &mut Options<'_>, key: &str) -> IpSet {
        let mut nets = Vec::new();
        for (k, s) in o.strings(key) {
            match parse_net(s) {
                Ok(n) => nets.push(n),
                Err(m) => o.problem(k, m),
            }
        }
        IpSet { nets }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether `ip` is in the set; an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) also
    /// matches its IPv4 form.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// `"10.0.0.0/8"`, `"2001:db8::/32"`, or a single address (a /32 or /128).
pub(crate) fn parse_net(s: &str) -> Result<IpNet, String> {
    let t = s.trim();
    if t.contains('/') {
        let net: IpNet = t.parse().map_err(|_| {
            format!("invalid network \"{t}\": expected a CIDR such as \"10.0.0.0/8\" or \"2001:db8::/32\"")
        })?;
        if net.trunc() != net {
            return Err(format!("\"{t}\" has host bits set; the network is \"{}\"", net.trunc()));
        }
        Ok(net)
    } else {
        let ip: IpAddr = t.parse().map_err(|_| {
            format!(
                "invalid address \"{t}\": expected an IP address or a CIDR such as \"10.0.0.0/8\""
            )
        })?;
        Ok(IpNet::from(canonical(ip)))
    }
}

/// The client address: the connection's `peer`, unless it is a trusted proxy; then the
/// `X-Forwarded-For` entries are walked from the right (the nearest hop) past every trusted
/// proxy, and the first untrusted one is the client (nginx's `real_ip_recursive on`). A
/// malformed entry stops the walk at the hop that sent it.
pub(crate) fn client_ip(
    peer: Option<IpAddr>,
    header: &pingora_http::RequestHeader,
    trusted: &IpSet,
) -> Option<IpAddr> {
    let mut client = peer?;
    if trusted.is_empty() || !trusted.contains(client) {
        return Some(client);
    }
    let lines = header.headers.get_all("x-forwarded-for");
    let entries: Vec<&str> = lines
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !trusted.contains(client) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! net {
        ($($name:ident: $s:expr => $ok:expr;)*) => {$(
            #[test]
            fn $name() { assert_eq!(parse_net($s).is_ok(), $ok, "{:?}", parse_net($s)); }
        )*};
    }

    net! {
        v4_addr: "192.168.1.7" => true;
        v4_cidr: "10.0.0.0/8" => true;
        v6_addr: "::1" => true;
        v6_cidr: "2001:db8::/32" => true;
        host_bits: "10.0.0.1/8" => false;
        garbage: "10.0.0" => false;
        bad_prefix: "10.0.0.0/33" => false;
        name: "localhost" => false;
    }

    fn req(xff: &[&str]) -> pingora_http::RequestHeader {
        let mut r = pingora_http::RequestHeader::build("GET", b"/", None).unwrap();
        for v in xff {
            r.append_header("X-Forwarded-For", *v).unwrap();
        }
        r
    }

    fn set(list: &[&str]) -> IpSet {
        IpSet { nets: list.iter().map(|s| parse_net(s).unwrap()).collect() }
    }

    #[test]
    fn forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let peer = Some("203.0.113.9".parse().unwrap());
        let r = req(&["10.1.1.1"]);
        assert_eq!(client_ip(peer, &r, &IpSet::default()), peer);
        assert_eq!(client_ip(peer, &r, &set(&["127.0.0.1"])), peer);
    }

    #[test]
    fn trusted_hops_are_walked_from_the_right() {
        let peer = Some("127.0.0.1".parse().unwrap());
        let trusted = set(&["127.0.0.0/8", "10.0.0.0/8"]);
        let r = req(&["198.51.100.1, 203.0.113.5", "10.0.0.2"]);
        assert_eq!(client_ip(peer, &r, &trusted), Some("203.0.113.5".parse().unwrap()));
        let r = req(&["garbage, 10.0.0.3"]);
        assert_eq!(client_ip(peer, &r, &trusted), Some("10.0.0.3".parse().unwrap()));
        let r = req(&[]);
        assert_eq!(client_ip(peer, &r, &trusted), peer);
    }

    #[test]
    fn mapped_v6_matches_v4() {
        let s = set(&["192.168.0.0/16"]);
        assert!(s.contains("::ffff:192.168.3.4".parse().unwrap()));
        assert!(!s.contains("::1".parse().unwrap()));
    }
}
