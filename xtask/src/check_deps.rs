//! The dependency-direction guard (STYLE.md §2): leaf crates must not pull in
//! the crates above them. A transitive rule runs `cargo tree -p CRATE -e normal -i FORBIDDEN`,
//! which prints a tree when CRATE depends on FORBIDDEN anywhere; a direct rule reads
//! CRATE's first level of `cargo tree` (the binary reaches the leaves through pylon-proxy,
//! but must not name them itself).

use std::path::Path;

use anyhow::{Context, bail, ensure};

/// How far a rule looks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Nowhere in the normal dependency tree.
    Transitive,
    /// Not as a direct dependency.
    Direct,
}

/// (crate, reach, crates it must not depend on)
const RULES: &[(&str, Reach, &[&str])] = &[
    (
        "pylon-config",
        Reach::Transitive,
        &[
            "pylon-route",
            "pylon-upstream",
            "pylon-accesslog",
            "pylon-plugin",
            "pylon-vars",
            "pylon-proxy",
            "pylon-admin",
            "tokio",
            "pingora-core",
        ],
    ),
    (
        "pylon-route",
        Reach::Transitive,
        &[
            "pylon-config",
            "pylon-upstream",
            "pylon-accesslog",
            "pylon-plugin",
            "pylon-vars",
            "pylon-proxy",
            "pylon-admin",
            "pingora-core",
            "tokio",
        ],
    ),
    (
        "pylon-accesslog",
        Reach::Transitive,
        &[
            "pylon-config",
            "pylon-route",
            "pylon-upstream",
            "pylon-plugin",
            "pylon-vars",
            "pylon-proxy",
            "pylon-admin",
            "pingora-core",
            "tokio",
        ],
    ),
    (
        "pylon-upstream",
        Reach::Transitive,
        &[
            "pylon-config",
            "pylon-route",
            "pylon-accesslog",
            "pylon-plugin",
            "pylon-vars",
            "pylon-proxy",
            "pylon-admin",
            "pingora-proxy",
        ],
    ),
    (
        "pylon-plugin",
        Reach::Transitive,
        &[
            "pylon-config",
            "pylon-route",
            "pylon-upstream",
            "pylon-accesslog",
            "pylon-vars",
            "pylon-proxy",
            "pylon-admin",
            "pingora-proxy",
        ],
    ),
    (
        "pylon-vars",
        Reach::Transitive,
        &[
            "pylon-config",
            "pylon-route",
            "pylon-upstream",
            "pylon-accesslog",
            "pylon-plugin",
            "pylon-proxy",
            "pylon-admin",
            "pingora-core",
            "tokio",
        ],
    ),
    (
        "pylon-admin",
        Reach::Transitive,
        &[
            "pylon-config",
            "pylon-route",
            "pylon-upstream",
            "pylon-accesslog",
            "pylon-plugin",
            "pylon-vars",
            "pylon-proxy",
            "pingora-core",
        ],
    ),
    // The admin reaches the proxy only through the handle the binary wires in.
    ("pylon-proxy", Reach::Transitive, &["pylon", "pylon-admin"]),
    (
        "pylon-testkit",
        Reach::Transitive,
        &[
            "pylon-config",
            "pylon-route",
            "pylon-upstream",
            "pylon-accesslog",
            "pylon-plugin",
            "pylon-vars",
            "pylon-proxy",
            "pylon-admin",
            "pylon",
            "pingora-core",
        ],
    ),
    (
        "pylon",
        Reach::Direct,
        &["pylon-route", "pylon-upstream", "pylon-accesslog", "pylon-plugin", "pylon-vars"],
    ),
];

/// Test-support crates: dev-dependencies only, never in any crate's normal dependency tree.
const DEV_ONLY: &[&str] = &["pylon-testkit"];

/// Every workspace member, for the [`DEV_ONLY`] rule.
const MEMBERS: &[&str] = &[
    "pylon-config",
    "pylon-route",
    "pylon-upstream",
    "pylon-accesslog",
    "pylon-plugin",
    "pylon-vars",
    "pylon-proxy",
    "pylon-admin",
    "pylon-testkit",
    "pylon",
    "xtask",
];

pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let known = package_names(root)?;
    let mut violations = Vec::new();
    for dev in DEV_ONLY {
        ensure!(known.iter().any(|k| k == dev), "rule names unknown crate {dev}");
        for member in MEMBERS.iter().filter(|m| *m != dev) {
            ensure!(known.iter().any(|k| k == member), "rule names unknown crate {member}");
            if depends_on(root, member, dev)? {
                violations.push(format!("{member} depends on {dev} outside [dev-dependencies]"));
            }
        }
    }
    for (krate, reach, forbidden) in RULES {
        ensure!(known.iter().any(|k| k == krate), "rule names unknown crate {krate}");
        let direct = match reach {
            Reach::Direct => direct_deps(root, krate)?,
            Reach::Transitive => Vec::new(),
        };
        for f in *forbidden {
            // A misspelt name makes `cargo tree -i` fail, which would read as "not a
            // dependency": refuse names the dependency graph does not contain.
            ensure!(known.iter().any(|k| k == f), "rule names unknown crate {f}");
            let depends = match reach {
                Reach::Direct => direct.iter().any(|d| d == f),
                Reach::Transitive => depends_on(root, krate, f)?,
            };
            if depends {
                violations.push(format!("{krate} depends on {f}"));
            }
        }
    }
    if !violations.is_empty() {
        bail!("dependency direction violated:\n  {}", violations.join("\n  "));
    }
    eprintln!(
        "check-deps: {} crates respect STYLE.md §2; {} is a dev-dependency only",
        RULES.len(),
        DEV_ONLY.join(", ")
    );
    Ok(())
}

/// Whether `krate`'s normal (non-dev, non-build) dependency tree contains `dep`.
fn depends_on(root: &Path, krate: &str, dep: &str) -> anyhow::Result<bool> {
    let out = crate::cargo()
        .current_dir(root)
        .args(["tree", "--quiet", "-p", krate, "-e", "normal", "-i", dep])
        .output()
        .context("running cargo tree")?;
    Ok(out.status.success() && !out.stdout.is_empty())
}

/// The direct normal dependencies of `krate`, by name.
fn direct_deps(root: &Path, krate: &str) -> anyhow::Result<Vec<String>> {
    let out = crate::cargo()
        .current_dir(root)
        .args(["tree", "--quiet", "-p", krate, "-e", "normal", "--depth", "1"])
        .args(["--prefix", "none", "--format", "{p}"])
        .output()
        .context("running cargo tree")?;
    ensure!(out.status.success(), "cargo tree -p {krate} failed");
    let text = String::from_utf8(out.stdout)?;
    // The first line is the crate itself; each line reads "name vX.Y.Z (...)".
    Ok(text.lines().skip(1).filter_map(|l| l.split(' ').next().map(str::to_owned)).collect())
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
