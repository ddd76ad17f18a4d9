//! `kind = "ip_restriction"`: allow or deny clients by address or network (IPv4 and IPv6).
//!
//! ```toml
//! [plugins.office]
//! kind = "ip_restriction"
//! allow = ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]   # absent or empty = everyone
//! deny = ["10.9.0.0/16"]                                   # checked first: deny wins
//! trusted_proxies = ["127.0.0.1"]                          # whose X-Forwarded-For is believed
//! ```
//!
//! A denied request is answered 403 with the error page and reaches no upstream.

use std::future::Future;

use crate::{
    exchange::{Reply, Request, State, Verdict},
    net::{IpSet, client_ip},
    plugin::{Phases, Plugin},
    spec::Options,
};

pub(crate) const OPTIONS: &[&str] = &["allow", "deny", "trusted_proxies"];

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct IpRestriction {
    allow: IpSet,
    deny: IpSet,
    trusted: IpSet,
}

impl IpRestriction {
    pub(crate) fn parse(o: &mut Options<'_>) -> IpRestriction {
        let r = IpRestriction {
            allow: IpSet::parse(o, "allow"),
            deny: IpSet::parse(o, "deny"),
            trusted: IpSet::parse(o, "trusted_proxies"),
        };
        if !o.has("allow") && !o.has("deny") {
            o.problem("", "set `allow`, `deny` or both (addresses or CIDRs)");
        }
        r
    }

    /// Whether the client at `ip` may pass.
    fn admits(&self, ip: std::net::IpAddr) -> bool {
        !self.deny.contains(ip) && (self.allow.is_empty() || self.allow.contains(ip))
    }
}

impl Plugin for IpRestriction {
    fn request(
        &self,
        req: &Request<'_>,
        _state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        let verdict = match client_ip(req.peer, req.header, &self.trusted) {
            Some(ip) if self.admits(ip) => Verdict::Continue,
            client => {
                tracing::info!(client = ?client, path = req.path, "ip_restriction: denied");
                Verdict::Reply(Reply::error(403, "Access from your address is not allowed here."))
            }
        };
        std::future::ready(verdict)
    }

    fn phases(&self) -> Phases {
        Phases { request: true, ..Phases::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kinds::spec, spec::Value};

    fn list(v: &[&str]) -> Value {
        Value::List(v.iter().map(|s| Value::Str((*s).into())).collect())
    }

    fn parse(options: Vec<(&str, Value)>) -> Result<IpRestriction, Vec<crate::Problem>> {
        let spec = spec("ip_restriction", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = IpRestriction::parse(&mut o);
        o.finish(r)
    }

    macro_rules! options {
        ($($name:ident: [$($k:expr => $v:expr),*] => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = parse(vec![$(($k, $v)),*]);
                let want: Result<(), &str> = $want;
                match (got, want) {
                    (Ok(_), Ok(())) => {}
                    (Err(p), Err(needle)) => assert!(
                        p.iter().any(|p| format!("{}: {}", p.key, p.message).contains(needle)),
                        "{p:?} lacks {needle:?}"
                    ),
                    (got, want) => panic!("got {got:?}, want {want:?}"),
                }
            }
        )*};
    }

    options! {
        allow_list: ["allow" => list(&["10.0.0.0/8", "192.168.1.7", "::1"])] => Ok(());
        deny_only: ["deny" => list(&["2001:db8::/32"])] => Ok(());
        single_string: ["allow" => Value::Str("10.0.0.1".into())] => Ok(());
        with_trusted: ["allow" => list(&["10.0.0.1"]), "trusted_proxies" => list(&["127.0.0.1"])] => Ok(());
        neither: ["trusted_proxies" => list(&["127.0.0.1"])] => Err("set `allow`, `deny`");
        bad_cidr: ["allow" => list(&["10.0.0.0/8", "10.0.0.300"])] => Err("allow[1]: invalid address");
        host_bits: ["deny" => list(&["10.1.2.3/8"])] => Err("deny[0]: \"10.1.2.3/8\" has host bits set");
        not_strings: ["allow" => Value::Int(1)] => Err("allow: expected an array of strings");
        typo: ["allow" => list(&[]), "trusted_proxy" => list(&[])] => Err("did you mean `trusted_proxies`?");
    }

    #[test]
    fn deny_wins_and_allow_is_exclusive() {
        let r = parse(vec![
            ("allow", list(&["10.0.0.0/8", "2001:db8::/32"])),
            ("deny", list(&["10.9.0.0/16"])),
        ])
        .unwrap();
        assert!(r.admits("10.1.2.3".parse().unwrap()));
        assert!(!r.admits("10.9.2.3".parse().unwrap()));
        assert!(!r.admits("192.168.1.1".parse().unwrap()));
        assert!(r.admits("2001:db8::5".parse().unwrap()));
        assert!(!r.admits("2001:db9::5".parse().unwrap()));
    }
}
