//! The dependency-direction guard (STYLE.md §2): leaf crates must not pull in
//! the crates above them. Each rule runs `cargo tree -p CRATE -e normal -i FORBIDDEN`,
//! which exits 0 when CRATE depends on FORBIDDEN.

use std::path::Path;

use anyhow::{Context, bail, ensure};

/// (crate, crates it must not depend on)
const RULES: &[(&str, &[&str])] = &[
    (
        "pylon-config",
        &[
            "pylon-route",
            "pylon-upstream",
            "pylon-accesslog",
            "pylon-proxy",
            "tokio",
            "pingora-core",
        ],
    ),
    (
        "pylon-route",
        &[
            "pylon-config",
            "pylon-upstream",
            "pylon-accesslog",
            "pylon-proxy",
            "pingora-core",
            "tokio",
        ],
    ),
    (
        "pylon-accesslog",
        &["pylon-config", "pylon-route", "pylon-upstream", "pylon-proxy", "pingora-core", "tokio"],
    ),
    (
        "pylon-upstream",
        &["pylon-config", "pylon-route", "pylon-accesslog", "pylon-proxy", "pingora-proxy"],
    ),
    ("pylon-proxy", &["pylon"]),
    ("pylon", &["pylon-route", "pylon-upstream", "pylon-accesslog"]),
];

pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let known = package_names(root)?;
    let mut violations = Vec::new();
    for (krate, forbidden) in RULES {
        ensure!(known.iter().any(|k| k == krate), "rule names unknown crate {krate}");
        for f in *forbidden {
            // A misspelt name makes `cargo tree -i` fail, which would read as "not a
            // dependency": refuse names the dependency graph does not contain.
            ensure!(known.iter().any(|k| k == f), "rule names unknown crate {f}");
            let out = crate::cargo()
                .current_dir(root)
                .args(["tree", "--quiet", "-p", krate, "-e", "normal", "-i", f])
                .output()
                .context("running cargo tree")?;
            if out.status.success() && !out.stdout.is_empty() {
                violations.push(format!("{krate} depends on {f}"));
            }
        }
    }
    if !violations.is_empty() {
        bail!("dependency direction violated:\n  {}", violations.join("\n  "));
    }
    eprintln!("check-deps: {} crates respect STYLE.md §2", RULES.len());
    Ok(())
}

/// Every package name in the resolved dependency graph (workspace members and dependencies).
fn package_names(root: &Path) -> anyhow::Result<Vec<String>> {
    let out = crate::cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .context("running cargo metadata")?;
    ensure!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    // The "packages" array lists `"name":"X","version"`; a full JSON parser is not needed
    // for this one field, and keeps xtask's dependencies to anyhow alone.
    let mut names: Vec<String> = text
        .split("{\"name\":\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_owned))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}
