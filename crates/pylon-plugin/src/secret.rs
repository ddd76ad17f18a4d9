//! Which plugin options hold secrets, and what is shown instead of them wherever a config
//! is shown rather than used (the admin API's config model, `Debug` output).
//!
//! Secret options: `basic_auth` `users` (argon2 password hashes), `key_auth` `keys`
//! (SHA-256 of API keys: a weak key can be found from its hash), `jwt` `secret` (the HMAC
//! key itself). A shown secret is `<redacted FINGERPRINT>`: 8 hex digits of an HMAC-SHA-256
//! under a key drawn at random when the process starts, so two views within one process
//! (a plan's before and after) show whether a secret changed, and nothing can be learned
//! about the secret from them. `basic_auth` keeps the user name: `alice:<redacted 1f2e3d4c>`.

use std::sync::OnceLock;

use ring::{hmac, rand::SystemRandom};

/// `(kind, option)` pairs whose values are secrets.
const SECRET_OPTIONS: &[(&str, &str)] =
    &[("basic_auth", "users"), ("key_auth", "keys"), ("jwt", "secret")];

/// Whether option `key` of a plugin of kind `kind` holds a secret (or the hash of one):
/// its value is never shown, only [`redact_secret`]'s replacement.
pub fn is_secret_option(kind: &str, key: &str) -> bool {
    SECRET_OPTIONS.iter().any(|(k, o)| *k == kind && *o == key)
}

/// What is shown instead of `value`, a value (or array element) of the secret option `key`
/// of a plugin of kind `kind`: `<redacted FINGERPRINT>`, or `USER:<redacted FINGERPRINT>`
/// for a `basic_auth` user. The fingerprint is stable within this process only.
pub fn redact_secret(kind: &str, key: &str, value: &str) -> String {
    let mark = match fingerprint(value) {
        Some(f) => format!("<redacted {f}>"),
        None => "<redacted>".to_owned(),
    };
    match (kind, key, value.split_once(':')) {
        ("basic_auth", "users", Some((user, _))) => format!("{user}:{mark}"),
        _ => mark,
    }
}

/// 8 hex digits of HMAC-SHA-256(process key, value).
fn fingerprint(value: &str) -> Option<String> {
    static KEY: OnceLock<Option<hmac::Key>> = OnceLock::new();
    let key = KEY.get_or_init(|| hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()).ok());
    let tag = hmac::sign(key.as_ref()?, value.as_bytes());
    Some(tag.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_options_by_kind() {
        assert!(is_secret_option("basic_auth", "users"));
        assert!(is_secret_option("key_auth", "keys"));
        assert!(is_secret_option("jwt", "secret"));
        assert!(!is_secret_option("jwt", "public_key"), "a path, not a secret");
        assert!(!is_secret_option("basic_auth", "realm"));
        assert!(!is_secret_option("cors", "secret"), "by kind, not by name alone");
    }

    #[test]
    fn redaction_hides_the_value_and_shows_changes() {
        let a = redact_secret("jwt", "secret", "s3cret-value");
        assert!(!a.contains("s3cret"), "{a}");
        assert!(a.starts_with("<redacted ") && a.len() == "<redacted 12345678>".len(), "{a}");
        assert_eq!(a, redact_secret("jwt", "secret", "s3cret-value"), "stable");
        assert_ne!(a, redact_secret("jwt", "secret", "s3cret-valuf"), "a change shows");
        let u = redact_secret(
            "basic_auth",
            "users",
            "alice:$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        );
        assert!(u.starts_with("alice:<redacted ") && !u.contains("argon2"), "{u}");
        let k = redact_secret("key_auth", "keys", "sha256:00ff");
        assert!(!k.contains("00ff"), "{k}");
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        use crate::{Env, Instance, Spec, Value};
        use argon2::PasswordHasher as _;
        let salt = argon2::password_hash::SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let hash = argon2::Argon2::default().hash_password(b"pw", &salt).unwrap().to_string();
        let key_hash = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
        let s = |v: &str| Value::Str(v.to_owned());
        let specs = [
            (
                "jwt",
                vec![("algorithm", s("HS256")), ("secret", s("s3cret-jwt-key"))],
                "s3cret-jwt-key",
            ),
            ("key_auth", vec![("keys", Value::List(vec![s(key_hash)]))], &key_hash[7..]),
            (
                "basic_auth",
                vec![("users", Value::List(vec![s(&format!("alice:{hash}"))]))],
                &hash[..],
            ),
        ];
        for (kind, options, secret) in specs {
            let spec = Spec {
                name: "p".into(),
                kind: kind.into(),
                options: options.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            };
            let shown = format!("{spec:?}");
            assert!(!shown.contains(secret) && shown.contains("<redacted "), "{kind}: {shown}");
            let instance = Instance::build(&spec, &Env::default()).unwrap();
            let shown = format!("{instance:?}");
            assert!(!shown.contains(secret), "{kind}: {shown}");
        }
    }
}
