//! `pylon plan -c NEW.toml`: what applying NEW.toml would do. Asks the running instance's
//! admin API when one answers (its impact preview needs the requests it served), else
//! plans offline against `--against FILE`.

use std::{path::Path, process::ExitCode, time::Duration};

use anyhow::{Context, bail};
use pylon_admin::{Checked, Plan, plan};

use crate::admin::{diagnostics, model};

/// The password for `--user`, from the environment (never a command-line argument: those
/// are visible to every user of the machine).
pub(crate) const PASSWORD_ENV: &str = "PYLON_ADMIN_PASSWORD";

pub(crate) struct PlanArgs<'a> {
    pub(crate) config: &'a Path,
    pub(crate) admin: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) against: Option<&'a Path>,
}

pub(crate) fn run(args: PlanArgs<'_>) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let parsed = pylon_config::parse_with(&text, args.config, pylon_proxy::config_checks());
    // The admin to ask: --admin, else the candidate's own [admin] address.
    let url = args.admin.clone().or_else(|| {
        let admin = parsed.as_ref().ok()?.config.admin.as_ref()?;
        let host = if admin.addr.ip().is_unspecified() {
            if admin.addr.is_ipv4() { "127.0.0.1".to_owned() } else { "[::1]".to_owned() }
        } else {
            match admin.addr.ip() {
                std::net::IpAddr::V6(ip) => format!("[{ip}]"),
                ip => ip.to_string(),
            }
        };
        Some(format!("http://{host}:{}", admin.addr.port()))
    });
    let plan = match url.as_deref().map(|u| remote(u, args.user.as_deref(), &text)) {
        Some(Ok(plan)) => {
            errln!("plan: against the running pylon at {}", url.as_deref().unwrap_or_default());
            plan
        }
        Some(Err(Remote::Unreachable(e))) if args.admin.is_none() => {
            errln!("plan: no running pylon answers ({e:#}); planning offline");
            offline(&text, parsed, args.against)?
        }
        Some(Err(Remote::Unreachable(e))) => return Err(e),
        Some(Err(Remote::Refused(e))) => return Err(e),
        None => offline(&text, parsed, args.against)?,
    };
    out!("{plan}\n")?;
    Ok(if plan.valid { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

enum Remote {
    /// Nothing answered: plan offline instead.
    Unreachable(anyhow::Error),
    /// It answered, and said no.
    Refused(anyhow::Error),
}

fn remote(base: &str, user: Option<&str>, text: &str) -> Result<Plan, Remote> {
    let base = base.trim_end_matches('/');
    // reqwest's rustls has no provider of its own here: use pingora's (ring).
    pylon_proxy::pingora::tls::install_default_crypto_provider();
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Remote::Refused(e.into()))?;
    let session: serde_json::Value = client
        .get(format!("{base}/api/session"))
        .send()
        .map_err(|e| Remote::Unreachable(e.into()))?
        .json()
        .map_err(|e| Remote::Refused(anyhow::anyhow!("{base} is not a pylon admin: {e}")))?;
    let mut req = client.post(format!("{base}/api/config/plan")).body(text.to_owned());
    if session["auth_required"] == true {
        let Some(user) = user else {
            return Err(Remote::Refused(anyhow::anyhow!(
                "the admin at {base} needs a login: pass --user NAME and set {PASSWORD_ENV}"
            )));
        };
        let password = std::env::var(PASSWORD_ENV).map_err(|_| {
            Remote::Refused(anyhow::anyhow!("--user needs the password in {PASSWORD_ENV}"))
        })?;
        req = req.basic_auth(user, Some(password));
    } else if let Some(csrf) = session["csrf"].as_str() {
        req = req.header("x-csrf-token", csrf);
    }
    let resp = req.send().map_err(|e| Remote::Unreachable(e.into()))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().unwrap_or_default();
        return Err(Remote::Refused(anyhow::anyhow!(
            "the admin at {base} answered {status}: {body}"
        )));
    }
    resp.json().map_err(|e| Remote::Refused(anyhow::anyhow!("unreadable plan from {base}: {e}")))
}

fn offline(
    text: &str,
    parsed: Result<pylon_config::Loaded, pylon_config::ConfigErrors>,
    against: Option<&Path>,
) -> anyhow::Result<Plan> {
    let checked = match parsed {
        Err(e) => Checked { errors: diagnostics(&e.0), ..Checked::default() },
        Ok(loaded) => {
            let report = pylon_proxy::check(&loaded.config);
            let mut warnings = diagnostics(&loaded.warnings);
            warnings.extend(diagnostics(&report.warnings));
            Checked {
                errors: diagnostics(&report.errors),
                warnings,
                model: Some(model(&loaded.config)),
                impact: None,
            }
        }
    };
    let (base_text, base_model) = match against {
        Some(path) => {
            let t = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let m = match pylon_config::parse_with(&t, path, pylon_proxy::config_checks()) {
                Ok(l) => model(&l.config),
                Err(e) => bail!("--against {} is not a valid config:\n{e}", path.display()),
            };
            (t, m)
        }
        None => (String::new(), serde_json::Value::Null),
    };
    let base = plan::Base {
        text: &base_text,
        version: pylon_proxy::config_version(&base_text),
        model: &base_model,
    };
    let mut p = plan::build(&base, text, pylon_proxy::config_version(text), checked);
    if against.is_none() {
        p.notes.push("no baseline (--against FILE): every table shows as added".to_owned());
    }
    Ok(p)
}
