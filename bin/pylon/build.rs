//! Build facts for `pylon --version`: the git commit and the build date.
//!
//! - Commit: `PYLON_GIT_COMMIT` if set (a packager building from a source tarball), else
//!   `git rev-parse --short=12 HEAD` in the source tree, else `unknown` (no git, no `.git`).
//! - Date: `SOURCE_DATE_EPOCH` if set (reproducible builds), else the time of the build, as a
//!   UTC `YYYY-MM-DD`.
//!
//! The script reruns when HEAD moves (a commit, a checkout) or either variable changes, so
//! the commit is never stale; the date is that of the build that last ran it.

use std::{path::PathBuf, process::Command};

fn main() {
    println!("cargo:rerun-if-env-changed=PYLON_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");

    let commit = std::env::var("PYLON_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    for path in git_watch_paths() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let secs = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    println!("cargo:rustc-env=PYLON_GIT_COMMIT={}", commit.trim());
    println!("cargo:rustc-env=PYLON_BUILD_DATE={}", utc_date(secs));
}

/// `git` run in this crate's directory; `None` when git is missing or this is no checkout.
fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")?;
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

fn git_commit() -> Option<String> {
    git(&["rev-parse", "--short=12", "HEAD"])
}

/// The files whose change means HEAD moved: `HEAD` of this worktree and the branch it points
/// to: its loose ref file, or `packed-refs` when the ref is packed. Only existing files
/// (cargo reruns every build for a missing one). Other refs are not watched, so work on
/// other branches does not rebuild the binary.
fn git_watch_paths() -> Vec<PathBuf> {
    let (Some(git_dir), Some(common)) = (
        git(&["rev-parse", "--absolute-git-dir"]),
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
    ) else {
        return Vec::new();
    };
    let (git_dir, common) = (PathBuf::from(git_dir), PathBuf::from(common));
    let mut paths = vec![git_dir.join("HEAD")];
    if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
        let loose = common.join(head_ref);
        paths.push(if loose.exists() { loose } else { common.join("packed-refs") });
    }
    paths.retain(|p| p.exists());
    paths
}

/// `secs` since the Unix epoch as a UTC `YYYY-MM-DD` (the civil-from-days algorithm of the
/// proleptic Gregorian calendar).
fn utc_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
