//! Workspace automation: `cargo xtask <task>`.
//!
//! Tasks:
//! - `check-deps`: the dependency-direction guard of STYLE.md §2.
//! - `bench [--quick] [--criterion-only|--load-only] [LOAD FLAGS] [-- CRITERION ARGS]`: the
//!   criterion benches with a summary table, then the load bench (Pylon against nginx in the
//!   same run: CPU per request, requests/s, p99, peak RSS); markdown on stdout, JSON under
//!   `target/bench/`. `--quick` takes about a minute once built.
//! - `bench-proxy [LOAD FLAGS]`: the load bench alone, by default only h1 1 KiB, no variants
//!   (the quick before/after check of a change on the request path).
//! - `validate-conf`: validate every `conf/*.toml` with `pylon check`.
//! - `fuzz [--time SECONDS] [--build-only] [TARGET...]`: the cargo-fuzz targets of `fuzz/`
//!   (config, accesslog, route, vars), each for SECONDS (default 60), on stable
//!   (`RUSTC_BOOTSTRAP=1`); see `xtask/src/fuzz.rs`.
//! - `release`: the release tarball in `target/dist/` and its check (see `release.rs`).
//! - `origin --addr ADDR`: the load bench's origin server (started by the bench itself).
//!
//! Load flags: `--cases h1-1k,h2c-1k-m10,...`, `--variants plain,log,metrics,plugins` (or
//! `plugin:KIND`, one per plugin kind), `--runs N`, `--duration SECONDS`, `--force` (report
//! ratios even on a busy box), `--no-wait`, `--pylon PATH` (measure a prebuilt binary).

mod check_deps;
mod criterion_summary;
mod fuzz;
mod load;
mod release;

use std::{path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("check-deps") => check_deps::run(&root()),
        Some("bench") => bench(&root(), &args[1..]),
        Some("validate-conf") => validate_conf(&root()),
        Some("bench-proxy") => bench_proxy(&root(), &args[1..]),
        Some("origin") => load::origin::run(&args[1..]),
        Some("fuzz") => fuzz::run(&root(), &args[1..]),
        Some("release") => release::run(&root()),
        _ => {
            eprintln!(
                "usage: cargo xtask <check-deps|bench|bench-proxy|validate-conf|fuzz|release> [args] \
                 (see xtask/src/main.rs)"
            );
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

fn target_dir(root: &std::path::Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Split `args` at `--`, apply the load flags, return (options, the rest before `--`, after).
fn load_options(
    mut options: load::Options,
    args: &[String],
    known: &[&str],
) -> anyhow::Result<(load::Options, Vec<String>, Vec<String>)> {
    let (ours, theirs) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], args[i + 1..].to_vec()),
        None => (args, Vec::new()),
    };
    let mut flags = Vec::new();
    let mut it = ours.iter();
    while let Some(flag) = it.next() {
        let mut value = || -> anyhow::Result<String> {
            it.next().cloned().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        if !options.parse_flag(flag, &mut value)? {
            anyhow::ensure!(known.contains(&flag.as_str()), "unknown flag {flag}");
            flags.push(flag.clone());
        }
    }
    Ok((options, flags, theirs))
}

fn bench(root: &std::path::Path, args: &[String]) -> anyhow::Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let base = if quick { load::Options::quick() } else { load::Options::full() };
    let (options, flags, mut criterion_args) =
        load_options(base, args, &["--quick", "--criterion-only", "--load-only"])?;
    let mut out = String::new();
    if !flags.iter().any(|f| f == "--load-only") {
        if quick {
            criterion_args
                .extend(["--warm-up-time", "0.2", "--measurement-time", "0.5"].map(String::from));
        }
        let status = cargo()
            .current_dir(root)
            .args(["bench", "--workspace", "--benches", "--"])
            .args(&criterion_args)
            .status()?;
        anyhow::ensure!(status.success(), "cargo bench failed: {status}");
        let estimates = criterion_summary::read(&target_dir(root).join("criterion"));
        out.push_str("## Criterion benches\n\n");
        out.push_str(&criterion_summary::markdown(&estimates));
    }
    if !flags.iter().any(|f| f == "--criterion-only") {
        out.push_str("\n## Pylon vs nginx (load bench)\n\n");
        out.push_str(&load_bench(root, options)?);
    }
    print(&out)
}

fn bench_proxy(root: &std::path::Path, args: &[String]) -> anyhow::Result<()> {
    let mut base = load::Options::full();
    base.cases.retain(|c| c.id == "h1-1k");
    base.variants.truncate(1);
    let (options, _, _) = load_options(base, args, &[])?;
    let table = load_bench(root, options)?;
    print(&table)
}

/// Run the load bench, write its JSON under `target/bench/`, return the markdown table.
/// A busy box is an error (after the table is written) unless `--force`.
fn load_bench(root: &std::path::Path, options: load::Options) -> anyhow::Result<String> {
    let force = options.force;
    let report = load::run(root, options)?;
    let dir = target_dir(root).join("bench");
    std::fs::create_dir_all(&dir)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let json = serde_json::to_string_pretty(&report.json(machine()))?;
    std::fs::write(dir.join(format!("load-{stamp}.json")), &json)?;
    std::fs::write(dir.join("load-latest.json"), &json)?;
    let table = report.markdown();
    eprintln!("bench: JSON in {}", dir.join("load-latest.json").display());
    if report.busy() && !force {
        print(&table)?;
        anyhow::bail!(
            "the box was busy during the bench: ratios not reported (--force shows them)"
        );
    }
    Ok(table)
}

/// What the numbers were measured on.
fn machine() -> serde_json::Value {
    let text = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .output()
            .map(|o| {
                let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
                s.push_str(&String::from_utf8_lossy(&o.stderr));
                s.trim().to_owned()
            })
            .unwrap_or_default()
    };
    serde_json::json!({
        "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
        "kernel": text("uname", &["-r"]),
        "nginx": text("nginx", &["-v"]),
        "commit": text("git", &["rev-parse", "--short", "HEAD"]),
    })
}

fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    std::io::stdout().write_all(text.as_bytes())?;
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
