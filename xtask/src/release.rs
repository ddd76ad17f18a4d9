//! `cargo xtask release`: the release tarball, then a check of it as a user would make.
//!
//! 1. `cargo build --release --locked -p pylon` (fat LTO, stripped: `[profile.release]`).
//! 2. `target/dist/pylon-VERSION-TARGET/`: the binary, `conf/` (the examples and their demo
//!    certificate), `docs/`, `README.md`, `LICENSE`, `contrib/systemd/pylon.service`, and
//!    `help/`, the `--help` of every command (`pylon.txt`, `pylon-run.txt`, …).
//! 3. `target/dist/pylon-VERSION-TARGET.tar.gz` (files sorted, owner 0, mtime of the commit or
//!    `SOURCE_DATE_EPOCH`, gzip without a timestamp: the same tree gives the same bytes) and
//!    its `.sha256` in `sha256sum` format.
//! 4. The check: copy both into a fresh temporary directory, `sha256sum -c`, unpack, run the
//!    unpacked `pylon --version` (version, commit, build date) and `pylon check` on every
//!    shipped `conf/*.toml`, and look for every file listed above.
//!
//! Needs GNU `tar`, `gzip` and `sha256sum` (coreutils), as on any Linux build machine.
//! `CARGO_TARGET_DIR` is honoured, so CI can share this release build with
//! `cargo install --path bin/pylon`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail, ensure};

use crate::cargo;

/// What the tarball holds besides the binary and `help/`, relative to the workspace root.
const SHIPPED: &[&str] = &["README.md", "LICENSE", "conf", "docs", "contrib/systemd/pylon.service"];

pub(crate) fn run(root: &Path) -> anyhow::Result<()> {
    let status = cargo()
        .current_dir(root)
        .args(["build", "--release", "--locked", "--package", "pylon"])
        .status()?;
    ensure!(status.success(), "cargo build --release failed: {status}");
    let target_dir = target_dir(root);
    let binary = target_dir.join("release/pylon");
    let version_line = output(Command::new(&binary).arg("--version"))?;
    let version = parse_version(&version_line)?.to_owned();
    let triple = host_triple()?;
    let name = format!("pylon-{version}-{triple}");
    let dist = target_dir.join("dist");
    let stage = dist.join(&name);
    if stage.exists() {
        std::fs::remove_dir_all(&stage)?;
    }
    std::fs::create_dir_all(stage.join("help"))?;
    std::fs::copy(&binary, stage.join("pylon"))?;
    for item in SHIPPED {
        copy(&root.join(item), &stage.join(item))?;
    }
    for (file, text) in help_pages(&binary)? {
        std::fs::write(stage.join("help").join(file), text)?;
    }

    let tarball = dist.join(format!("{name}.tar.gz"));
    let mtime = source_date(root);
    let tar = Command::new("tar")
        .current_dir(&dist)
        .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner"])
        .arg(format!("--mtime=@{mtime}"))
        .args(["--use-compress-program=gzip -n -9", "-cf"])
        .arg(&tarball)
        .arg(&name)
        .status()
        .context("running tar")?;
    ensure!(tar.success(), "tar failed: {tar}");
    let sum = output(Command::new("sha256sum").current_dir(&dist).arg(tarball_name(&tarball)?))?;
    let sha_file = dist.join(format!("{name}.tar.gz.sha256"));
    std::fs::write(&sha_file, format!("{}\n", sum.trim()))?;
    std::fs::remove_dir_all(&stage)?;

    verify(&tarball, &sha_file, &name, &version)?;
    eprintln!("release: {}", tarball.display());
    eprintln!("release: {}", sha_file.display());
    Ok(())
}

/// Unpack the tarball in a fresh temporary directory and use it as a user would.
fn verify(tarball: &Path, sha_file: &Path, name: &str, version: &str) -> anyhow::Result<()> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir =
        std::env::temp_dir().join(format!("pylon-release-check-{}-{stamp}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = verify_in(&dir, tarball, sha_file, name, version);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn verify_in(
    dir: &Path,
    tarball: &Path,
    sha_file: &Path,
    name: &str,
    version: &str,
) -> anyhow::Result<()> {
    for f in [tarball, sha_file] {
        std::fs::copy(f, dir.join(f.file_name().context("file name")?))?;
    }
    let sha_name = sha_file.file_name().context("file name")?;
    output(Command::new("sha256sum").current_dir(dir).arg("-c").arg(sha_name))
        .context("the tarball does not match its .sha256")?;
    let status =
        Command::new("tar").current_dir(dir).arg("-xzf").arg(tarball_name(tarball)?).status()?;
    ensure!(status.success(), "tar -x failed: {status}");
    let unpacked = dir.join(name);
    let pylon = unpacked.join("pylon");
    let line = output(Command::new(&pylon).arg("--version"))?.trim().to_owned();
    ensure!(parse_version(&line)? == version, "unpacked pylon says {line:?}");
    check_version_line(&line)?;
    for item in SHIPPED.iter().copied().chain(["help/pylon.txt", "help/pylon-run.txt"]) {
        ensure!(unpacked.join(item).exists(), "{item} is missing from the tarball");
    }
    let mut checked = 0;
    for entry in std::fs::read_dir(unpacked.join("conf"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            output(Command::new(&pylon).arg("check").arg("-c").arg(&path))
                .with_context(|| format!("pylon check -c {}", path.display()))?;
            checked += 1;
        }
    }
    ensure!(checked > 0, "no conf/*.toml in the tarball");
    eprintln!("release check: sha256 ok, {line}, {checked} example config(s) valid");
    Ok(())
}

/// `pylon --version` is `pylon VERSION (commit COMMIT, built YYYY-MM-DD)`.
fn check_version_line(line: &str) -> anyhow::Result<()> {
    let (_, rest) = line.split_once(" (commit ").context("no commit in --version")?;
    let (commit, rest) = rest.split_once(", built ").context("no build date in --version")?;
    let date = rest.strip_suffix(')').context("--version does not end with ')'")?;
    ensure!(!commit.is_empty(), "empty commit in {line:?}");
    let bytes = date.as_bytes();
    ensure!(
        bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-',
        "build date {date:?} is not YYYY-MM-DD"
    );
    Ok(())
}

fn parse_version(line: &str) -> anyhow::Result<&str> {
    match line.split_whitespace().collect::<Vec<_>>()[..] {
        ["pylon", version, ..] => Ok(version),
        _ => bail!("unexpected `pylon --version` output {line:?}"),
    }
}

/// Every command's `--help`: `pylon.txt`, then `pylon-COMMAND.txt` for each command that
/// `pylon --help` lists.
fn help_pages(binary: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let top = output(Command::new(binary).arg("--help"))?;
    let mut pages = vec![("pylon.txt".to_owned(), top.clone())];
    for command in commands(&top) {
        let text = output(Command::new(binary).args([command.as_str(), "--help"]))?;
        pages.push((format!("pylon-{command}.txt"), text));
    }
    Ok(pages)
}

/// The command names of clap's `Commands:` section (without `help`).
fn commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_owned)
        .collect()
}

/// `CARGO_TARGET_DIR`, else `target/` in the workspace.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { root.join(dir) }
        }
        None => root.join("target"),
    }
}

fn host_triple() -> anyhow::Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let info = output(Command::new(rustc).arg("-vV"))?;
    info.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("no host triple in `rustc -vV`")
}

/// The time stamp of the tarball's files: `SOURCE_DATE_EPOCH`, else the commit's time, else 0.
fn source_date(root: &Path) -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .or_else(|| {
            output(Command::new("git").current_dir(root).args(["log", "-1", "--format=%ct"]))
                .ok()
                .and_then(|s| s.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn tarball_name(path: &Path) -> anyhow::Result<&std::ffi::OsStr> {
    path.file_name().context("tarball file name")
}

/// Copy a file, or a directory tree without runtime files (pid files, sockets).
fn copy(from: &Path, to: &Path) -> anyhow::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "pid" || x == "sock") {
                continue;
            }
            copy(&path, &to.join(entry.file_name()))?;
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// Run `cmd`; its stdout, or an error with its stderr.
fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_come_from_the_commands_section() {
        let help = "Pylon\n\nUsage: pylon [COMMAND]\n\nCommands:\n  run      Run\n  check    \
                    Check\n  help     Print this message\n\nOptions:\n  -h, --help  Print help\n";
        assert_eq!(commands(help), ["run", "check"]);
    }

    #[test]
    fn version_lines() {
        let line = "pylon 0.1.0 (commit 1a2b3c4d5e6f, built 2026-11-30)\n";
        assert_eq!(parse_version(line).unwrap(), "0.1.0");
        assert!(check_version_line(line.trim()).is_ok());
        assert!(check_version_line("pylon 0.1.0").is_err());
        assert!(check_version_line("pylon 0.1.0 (commit x, built yesterday)").is_err());
    }
}
