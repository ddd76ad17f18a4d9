//! `kind = "basic_auth"`: HTTP Basic authentication (RFC 7617) against argon2 hashes.
//!
//! ```toml
//! [plugins.staff]
//! kind = "basic_auth"
//! users = ["alice:$argon2id$v=19$m=19456,t=2,p=1$..."]   # from `pylon hash-password`
//! realm = "pylon"                # default
//! hide_credentials = false       # true: the upstream never sees Authorization
//! ```
//!
//! A request without valid credentials gets 401 with the error page and
//! `WWW-Authenticate: Basic realm="…", charset="UTF-8"`; the failure is logged with the user
//! name and client address, never the password. Hashes are verified off the event loop
//! (argon2 is slow on purpose); a successful user and password pair is remembered (as a
//! SHA-256 digest, in memory, up to 1024 pairs) so later requests cost a hash, not an
//! argon2 verification. Unknown users are verified against a dummy hash, so the answer takes
//! as long as for a wrong password.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex, OnceLock},
};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use http::header;

use crate::{
    exchange::{Reply, Request, State, Verdict},
    plugin::{Phases, Plugin},
    spec::Options,
};

pub(crate) const OPTIONS: &[&str] = &["users", "realm", "hide_credentials"];

/// Default `realm`.
pub const DEFAULT_BASIC_AUTH_REALM: &str = "pylon";
/// Successful credential pairs remembered per plugin before the memory is cleared.
const CACHE_SIZE: usize = 1024;

#[derive(Debug)]
pub(crate) struct BasicAuth {
    name: String,
    users: HashMap<String, String>,
    challenge: String,
    hide: bool,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
}

impl BasicAuth {
    pub(crate) fn parse(o: &mut Options<'_>) -> BasicAuth {
        let mut users = HashMap::new();
        for (k, entry) in o.strings("users") {
            let Some((user, hash)) = entry.split_once(':') else {
                o.problem(k, "expected \"user:$argon2id$...\" (a hash from `pylon hash-password`)");
                continue;
            };
            if user.is_empty() {
                o.problem(k, "empty user name");
            } else if PasswordHash::new(hash).is_err() || !hash.starts_with("$argon2") {
                o.problem(
                    k,
                    format!(
                        "the password of \"{user}\" must be an argon2 hash (PHC string \"$argon2id$...\"); \
                         make one with `pylon hash-password PASSWORD`"
                    ),
                );
            } else if users.insert(user.to_owned(), hash.to_owned()).is_some() {
                o.problem(k, format!("user \"{user}\" is listed twice"));
            }
        }
        if !o.has("users") {
            o.problem("", "set `users = [\"name:$argon2id$...\"]`");
        }
        let realm = o.string("realm").unwrap_or(DEFAULT_BASIC_AUTH_REALM);
        if realm.contains(['"', '\\']) || realm.chars().any(char::is_control) {
            o.problem(
                "realm",
                "the realm cannot contain quotes, backslashes or control characters",
            );
        }
        BasicAuth {
            name: o.name().to_owned(),
            users,
            challenge: format!("Basic realm=\"{realm}\", charset=\"UTF-8\""),
            hide: o.bool("hide_credentials", false),
            verified: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    fn unauthorized(&self, message: &str) -> Verdict {
        Verdict::Reply(
            Reply::error(401, message).with_header(header::WWW_AUTHENTICATE, &self.challenge),
        )
    }
}

/// `Authorization: Basic base64(user:password)` → (user, password).
fn credentials(req: &Request<'_>) -> Option<(String, String)> {
    let value = req.header(header::AUTHORIZATION)?.trim();
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(token.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn digest(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, "\0", password, "\0", hash] {
        ctx.update(part.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// A hash no password matches, verified for unknown users so they take as long.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::encode_b64(b"pylon-dummy-salt").ok();
        salt.and_then(|s| {
            argon2::Argon2::default().hash_password(b"\0unknown\0", &s).ok().map(|h| h.to_string())
        })
        .unwrap_or_default()
    })
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

impl Plugin for BasicAuth {
    fn request(
        &self,
        req: &Request<'_>,
        state: &mut State,
    ) -> impl Future<Output = Verdict> + Send {
        let creds = credentials(req);
        let client = req.peer;
        let path = req.path.to_owned();
        async move {
            let Some((user, password)) = creds else {
                return self.unauthorized("Authentication is required.");
            };
            let hash = self.users.get(&user).cloned();
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| dummy_hash().to_owned());
            let key = digest(&user, &password, &hash);
            let cached = known && self.verified.lock().is_ok_and(|v| v.contains(&key));
            let ok = cached || {
                let verified = tokio::task::spawn_blocking(move || verify(&password, &hash))
                    .await
                    .unwrap_or(false);
                known && verified
            };
            if !ok {
                tracing::warn!(
                    plugin = self.name.as_str(),
                    user = user.as_str(),
                    client = ?client,
                    path = path.as_str(),
                    reason = if known { "wrong password" } else { "unknown user" },
                    "basic_auth: authentication failed"
                );
                return self.unauthorized("The user name or password is wrong.");
            }
            if !cached {
                if let Ok(mut v) = self.verified.lock() {
                    if v.len() >= CACHE_SIZE {
                        v.clear();
                    }
                    v.insert(key);
                }
            }
            if self.hide {
                state.upstream_remove.push(header::AUTHORIZATION);
            }
            Verdict::Continue
        }
    }

    fn phases(&self) -> Phases {
        Phases { request: true, ..Phases::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{kinds::spec, spec::Value};

    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$2Sgm/uKqD4nErmO9OjnMn9nDZo8wSVOIKn2Id0Kc/Hk";

    fn parse(options: Vec<(&str, Value)>) -> Result<BasicAuth, Vec<crate::Problem>> {
        let spec = spec("basic_auth", options);
        let mut o = Options::new(&spec, OPTIONS);
        let r = BasicAuth::parse(&mut o);
        o.finish(r)
    }

    fn users(v: &[&str]) -> Value {
        Value::List(v.iter().map(|s| Value::Str((*s).into())).collect())
    }

    macro_rules! options {
        ($($name:ident: [$($k:expr => $v:expr),*] => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                let got = parse(vec![$(($k, $v)),*]).map_err(|p| format!("{p:?}"));
                let want: Result<(), &str> = $want;
                match (got, want) {
                    (Ok(_), Ok(())) => {}
                    (Err(p), Err(needle)) => assert!(p.contains(needle), "{p} lacks {needle:?}"),
                    (got, want) => panic!("got {got:?}, want {want:?}"),
                }
            }
        )*};
    }

    options! {
        one_user: ["users" => users(&[&format!("alice:{HASH}")])] => Ok(());
        realm_hide: ["users" => users(&[&format!("alice:{HASH}")]), "realm" => Value::Str("staff".into()), "hide_credentials" => Value::Bool(true)] => Ok(());
        plain_password: ["users" => users(&["alice:secret"])] => Err("must be an argon2 hash");
        no_colon: ["users" => users(&["alice"])] => Err("expected \\\"user:$argon2id$");
        twice: ["users" => users(&[&format!("a:{HASH}"), &format!("a:{HASH}")])] => Err("listed twice");
        missing: [] => Err("set `users");
        bad_realm: ["users" => users(&[&format!("a:{HASH}")]), "realm" => Value::Str("a\"b".into())] => Err("cannot contain quotes");
    }

    #[test]
    fn credentials_are_decoded() {
        let mut h = pingora_http::RequestHeader::build("GET", b"/", None).unwrap();
        h.insert_header("Authorization", "Basic YWxpY2U6czNjcjN0OmV4dHJh").unwrap();
        let req =
            Request { header: &h, path: "/", query: None, peer: None, scheme: "http", host: "a" };
        assert_eq!(credentials(&req), Some(("alice".into(), "s3cr3t:extra".into())));
        let mut h2 = h.clone();
        h2.insert_header("Authorization", "Bearer abc").unwrap();
        let req = Request { header: &h2, ..req };
        assert_eq!(credentials(&req), None);
    }
}
