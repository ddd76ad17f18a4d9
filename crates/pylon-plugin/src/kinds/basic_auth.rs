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
//! as long as for a wrong password. At most one verification per CPU runs at a time, across
//! every basic_auth plugin of the process (each takes 19 MiB and tens of milliseconds with the
//! default argon2id parameters); the others wait their turn, so a flood of wrong passwords
//! costs queueing time, not memory.

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

pub(crate) struct BasicAuth {
    name: String,
    users: HashMap<String, String>,
    challenge: String,
    hide: bool,
    verified: Arc<Mutex<HashSet<[u8; 32]>>>,
}

/// Names and settings only: never the password hashes.
impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut users: Vec<&str> = self.users.keys().map(String::as_str).collect();
        users.sort_unstable();
        f.debug_struct("BasicAuth")
            .field("name", &self.name)
            .field("users", &users)
            .field("challenge", &self.challenge)
            .field("hide", &self.hide)
            .finish_non_exhaustive()
    }
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

/// The process-wide bound on argon2 verifications running at once: one per CPU.
fn verifications() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Verify `password` against `hash` on a blocking thread once `verifications()` has a permit.
async fn verify_bounded(password: String, hash: String) -> bool {
    blocking_with_permit(verifications(), move || verify(&password, &hash)).await.unwrap_or(false)
}

/// Run `work` on tokio's blocking pool while holding one of `permits`; `None` when the
/// semaphore is closed or the work panicked.
async fn blocking_with_permit<T: Send + 'static>(
    permits: &tokio::sync::Semaphore,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let _permit = permits.acquire().await.ok()?;
    tokio::task::spawn_blocking(work).await.ok()
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
                let verified = verify_bounded(password, hash).await;
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn blocking_work_runs_at_most_as_many_at_once_as_there_are_permits() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static RUNNING: AtomicUsize = AtomicUsize::new(0);
        static PEAK: AtomicUsize = AtomicUsize::new(0);
        let permits = Arc::new(tokio::sync::Semaphore::new(2));
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let permits = Arc::clone(&permits);
                tokio::spawn(async move {
                    blocking_with_permit(&permits, move || {
                        let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
                        PEAK.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        RUNNING.fetch_sub(1, Ordering::SeqCst);
                        i
                    })
                    .await
                })
            })
            .collect();
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.unwrap());
        }
        assert_eq!(done, (0..12).map(Some).collect::<Vec<_>>(), "every piece of work ran");
        assert_eq!(PEAK.load(Ordering::SeqCst), 2, "two at once, never more");
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
