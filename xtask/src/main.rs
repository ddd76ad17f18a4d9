//! Workspace automation: `cargo xtask <task>`.
//!
//! Tasks:
//! - `check-deps`: the dependency-direction guard of STYLE.md §2.
//! - `bench`: run the criterion benches (`-- --save-baseline NAME` etc. are passed through).
//! - `bench-proxy`: pylon against nginx as a reverse proxy, same run, CPU µs per request.
//! - `validate-conf`: validate every `conf/*.toml` with `pylon check`.

mod check_deps;
mod proxy_bench;

use std::{path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check-deps") => check_deps::run(&root()),
        Some("bench") => bench(&root(), &args[1..]),
        Some("validate-conf") => validate_conf(&root()),
        Some("bench-proxy") => proxy_bench::run(&root(), &args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <check-deps|bench|bench-proxy|validate-conf> [args]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().map(PathBuf::from).unwrap_or(dir)
}

fn cargo() -> std::process::Command {
    std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn bench(root: &std::path::Path, extra: &[String]) -> anyhow::Result<()> {
    let status = cargo()
        .current_dir(root)
        .args(["bench", "--workspace", "--benches", "--"])
        .args(extra)
        .status()?;
    anyhow::ensure!(status.success(), "cargo bench failed: {status}");
    Ok(())
}

fn validate_conf(root: &std::path::Path) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("conf"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for file in files {
        let status = cargo()
            .current_dir(root)
            .args(["run", "--quiet", "--package", "pylon", "--", "check", "-c"])
            .arg(&file)
            .status()?;
        if !status.success() {
            failed.push(file.display().to_string());
        }
    }
    anyhow::ensure!(failed.is_empty(), "invalid config files: {}", failed.join(", "));
    Ok(())
}
