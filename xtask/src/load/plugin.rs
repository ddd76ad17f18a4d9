//! Plugin variants of the load bench: one Pylon config per plugin kind, each set up so that
//! the bench's requests pass it (the cost measured is the check that admits a request, the
//! common case), with the request headers the load tool must send.

use anyhow::Context;

/// A plugin kind the bench can attach to its one location.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plugin {
    RequestId,
    IpRestriction,
    Limit,
    BasicAuth,
    KeyAuth,
    Jwt,
    ForwardAuth,
    Compression,
    Cors,
    Redirect,
}

pub(crate) const ALL: [Plugin; 10] = [
    Plugin::RequestId,
    Plugin::IpRestriction,
    Plugin::Limit,
    Plugin::BasicAuth,
    Plugin::KeyAuth,
    Plugin::Jwt,
    Plugin::ForwardAuth,
    Plugin::Compression,
    Plugin::Cors,
    Plugin::Redirect,
];

/// What a plugin variant adds: the `[plugins.bench]` table and the load tool's headers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Setup {
    pub(crate) table: String,
    pub(crate) headers: Vec<String>,
}

const PASSWORD: &str = "bench-password";
const API_KEY: &str = "bench-key-0123456789";
const JWT_SECRET: &str = "bench-secret-0123456789abcdef";

impl Plugin {
    /// The `kind` of the plugin, which is also its variant name.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Plugin::RequestId => "request_id",
            Plugin::IpRestriction => "ip_restriction",
            Plugin::Limit => "limit",
            Plugin::BasicAuth => "basic_auth",
            Plugin::KeyAuth => "key_auth",
            Plugin::Jwt => "jwt",
            Plugin::ForwardAuth => "forward_auth",
            Plugin::Compression => "compression",
            Plugin::Cors => "cors",
            Plugin::Redirect => "redirect",
        }
    }

    pub(crate) fn parse(kind: &str) -> Option<Plugin> {
        ALL.into_iter().find(|p| p.kind() == kind)
    }

    /// The plugin table (named `bench`) and headers; `pylon` makes password hashes,
    /// `origin` answers the forward-auth sub-requests (`/auth`).
    pub(crate) fn setup(self, pylon: &std::path::Path, origin: u16) -> anyhow::Result<Setup> {
        let head = format!("[plugins.bench]\nkind = \"{}\"\n", self.kind());
        let (options, headers): (String, Vec<String>) = match self {
            Plugin::RequestId => (String::new(), vec![]),
            Plugin::IpRestriction => ("allow = [\"127.0.0.0/8\"]\n".into(), vec![]),
            Plugin::Limit => ("rate = \"1000000r/s\"\nburst = 1000\n".into(), vec![]),
            Plugin::BasicAuth => {
                let out = std::process::Command::new(pylon)
                    .args(["hash-password", PASSWORD])
                    .output()
                    .context("pylon hash-password")?;
                let text = String::from_utf8_lossy(&out.stdout);
                let hash = text.lines().last().context("no hash printed")?.trim().to_owned();
                use base64::Engine as _;
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("bench:{PASSWORD}"));
                (
                    format!("users = [\"bench:{hash}\"]\n"),
                    vec![format!("Authorization: Basic {token}")],
                )
            }
            Plugin::KeyAuth => {
                let digest = ring::digest::digest(&ring::digest::SHA256, API_KEY.as_bytes());
                let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
                (format!("keys = [\"sha256:{hex}\"]\n"), vec![format!("X-API-Key: {API_KEY}")])
            }
            Plugin::Jwt => {
                let exp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
                    + 24 * 3600;
                let claims = serde_json::json!({ "sub": "bench", "exp": exp });
                let token = jsonwebtoken::encode(
                    &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                    &claims,
                    &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
                )?;
                (
                    format!("algorithm = \"HS256\"\nsecret = \"{JWT_SECRET}\"\n"),
                    vec![format!("Authorization: Bearer {token}")],
                )
            }
            Plugin::ForwardAuth => (format!("url = \"http://127.0.0.1:{origin}/auth\"\n"), vec![]),
            Plugin::Compression => (String::new(), vec!["Accept-Encoding: gzip".into()]),
            Plugin::Cors => (
                "allow_origins = [\"https://bench.example\"]\n".into(),
                vec!["Origin: https://bench.example".into()],
            ),
            Plugin::Redirect => ("scheme = \"https\"\nstatus = 301\n".into(), vec![]),
        };
        Ok(Setup { table: head + &options, headers })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back() {
        for p in ALL {
            assert_eq!(Plugin::parse(p.kind()), Some(p));
        }
        assert_eq!(Plugin::parse("nope"), None);
    }
}
