//! Who may use the admin: argon2id password hashes, login sessions (cookie + CSRF token),
//! and the per-client-IP limit on failed logins.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long a session lives without use.
pub const SESSION_IDLE: Duration = Duration::from_secs(60 * 60);
/// How long a session lives at most.
pub const SESSION_MAX: Duration = Duration::from_secs(12 * 60 * 60);
/// Failed logins from one client IP allowed within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// The window failed logins are counted in; a client over the limit waits until it ends.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// The session cookie's name.
pub const COOKIE: &str = "pylon_admin_session";

/// An argon2id hash of `password` in PHC string form (`$argon2id$v=19$...`), with a fresh
/// random salt, for `[admin] users`.
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use rand_core::OsRng;
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the password: {e}"))
}

/// Whether `password` matches a PHC hash made by [`hash_password`].
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash)
        .is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// What a login with an unknown user name is verified against: an argon2id hash made by
/// [`hash_password`] (same algorithm and cost), so a wrong user name costs the same argon2
/// run as a wrong password and the answer's timing does not tell which user names exist.
/// No login ever succeeds through it.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$ZHrz9G7MXL+ab+6PNkFz6w$i4kYWBychMQCKGpI075zvI3iLjDyMgBz3dGE9cK/0Rs";

/// Whether `password` is right for the user whose configured hash is `hash` (`None`: no
/// such user, always false). Every call runs one argon2 verification, an unknown user's
/// against [`DUMMY_HASH`].
pub(crate) fn check_password(password: &str, hash: Option<&str>) -> bool {
    check_with(password, hash, verify_password)
}

/// [`check_password`] with the verifier given (the tests count its runs).
fn check_with(password: &str, hash: Option<&str>, verify: impl Fn(&str, &str) -> bool) -> bool {
    let (against, known) = match hash {
        Some(h) => (h, true),
        None => (DUMMY_HASH, false),
    };
    // Verify first: `known && verify(..)` would skip the argon2 run for an unknown user.
    let matches = verify(password, against);
    matches && known
}

/// 32 random bytes as 64 hex digits (session ids, CSRF tokens).
pub(crate) fn token() -> String {
    use rand_core::{OsRng, RngCore as _};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compare two strings in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Clone)]
struct Session {
    user: String,
    csrf: String,
    created: Instant,
    used: Instant,
}

/// A logged-in user's session as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SessionInfo {
    pub(crate) user: String,
    pub(crate) csrf: String,
}

/// Login sessions, in memory (a restart logs everyone out).
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Start a session for `user`: `(session id, CSRF token)`.
    pub(crate) fn start(&self, user: &str) -> (String, String) {
        let (id, csrf) = (token(), token());
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| alive(s, now));
        map.insert(
            id.clone(),
            Session { user: user.to_owned(), csrf: csrf.clone(), created: now, used: now },
        );
        (id, csrf)
    }

    /// The live session `id`, refreshed.
    pub(crate) fn get(&self, id: &str) -> Option<SessionInfo> {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let s = map.get_mut(id)?;
        if !alive(s, now) {
            map.remove(id);
            return None;
        }
        s.used = now;
        Some(SessionInfo { user: s.user.clone(), csrf: s.csrf.clone() })
    }

    pub(crate) fn end(&self, id: &str) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.duration_since(s.used) < SESSION_IDLE && now.duration_since(s.created) < SESSION_MAX
}

/// Failed logins per client IP.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    map: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Limiter {
    /// `Some(wait)` when `ip` has failed too often and must wait that long.
    pub(crate) fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let (count, since) = map.get(&ip)?;
        let left = FAILURE_WINDOW.checked_sub(since.elapsed())?;
        (*count >= MAX_FAILURES).then_some(left)
    }

    pub(crate) fn failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
        let entry = map.entry(ip).or_insert((0, now));
        entry.0 += 1;
    }

    pub(crate) fn succeeded(&self, ip: IpAddr) {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_are_argon2id_and_verify() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("s3cret", "not a hash"));
        assert_ne!(h, hash_password("s3cret").unwrap(), "salts differ");
    }

    #[test]
    fn an_unknown_user_costs_one_argon2_run_with_the_cost_of_a_real_hash_and_never_passes() {
        use argon2::password_hash::PasswordHash;
        let real = hash_password("s3cret").unwrap();
        let runs = std::cell::RefCell::new(Vec::new());
        let verify = |password: &str, hash: &str| {
            runs.borrow_mut().push(hash.to_owned());
            verify_password(password, hash)
        };
        assert!(check_with("s3cret", Some(&real), verify));
        assert!(!check_with("wrong", Some(&real), verify));
        assert!(!check_with("s3cret", None, verify));
        // Even the dummy's own password does not log an unknown user in.
        assert!(!check_with("pylon-admin-no-such-user", None, verify));
        assert!(
            verify_password("pylon-admin-no-such-user", DUMMY_HASH),
            "the dummy is a real hash"
        );
        let runs = runs.into_inner();
        assert_eq!(runs, [real.as_str(), real.as_str(), DUMMY_HASH, DUMMY_HASH]);
        // The dummy costs what a hash from `hash_password` costs: same algorithm, version,
        // memory, time and parallelism.
        let (dummy, real) =
            (PasswordHash::new(DUMMY_HASH).unwrap(), PasswordHash::new(&real).unwrap());
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert!(!check_password("s3cret", None));
    }

    #[test]
    fn sessions_start_find_and_end() {
        let s = Sessions::default();
        let (id, csrf) = s.start("ops");
        assert_eq!(id.len(), 64);
        assert_ne!(id, csrf);
        assert_eq!(s.get(&id), Some(SessionInfo { user: "ops".into(), csrf }));
        assert_eq!(s.get("nope"), None);
        s.end(&id);
        assert_eq!(s.get(&id), None);
    }

    #[test]
    fn limiter_blocks_after_max_failures_per_ip() {
        let l = Limiter::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..MAX_FAILURES - 1 {
            l.failed(a);
        }
        assert_eq!(l.blocked(a), None);
        l.failed(a);
        assert!(l.blocked(a).is_some_and(|w| w <= FAILURE_WINDOW));
        assert_eq!(l.blocked(b), None, "per IP");
        l.succeeded(a);
        assert_eq!(l.blocked(a), None);
    }

    #[test]
    fn same_compares_whole_strings() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
