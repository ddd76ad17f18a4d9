//! `cargo xtask fuzz [--time SECONDS] [--build-only] [TARGET...]`: build the cargo-fuzz
//! targets of `fuzz/` and run each for `SECONDS` (default 60) on its committed seeds
//! (`fuzz/seeds/TARGET`, regressions included) plus the corpus it grows locally
//! (`fuzz/corpus/TARGET`, git-ignored). A crash stops with a failure; libFuzzer leaves the
//! input in `fuzz/artifacts/TARGET/`: reproduce it with
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz TARGET fuzz/artifacts/TARGET/crash-…`,
//! fix it, and commit the input under `fuzz/seeds/TARGET/` so every later run replays it.
//!
//! Only a stable toolchain exists here: cargo-fuzz passes nightly flags (`-Zsanitizer=address`,
//! `-Cpasses=sancov-module`) to rustc, which stable accepts with `RUSTC_BOOTSTRAP=1`; the
//! AddressSanitizer runtime ships with the stable toolchain. Needs `cargo install cargo-fuzz
//! --locked`.

use std::path::Path;

use anyhow::{Context, bail, ensure};

/// Every target in `fuzz/Cargo.toml`, in run order.
pub(crate) const TARGETS: &[&str] = &["config", "accesslog", "route", "vars", "framing"];

pub(crate) fn run(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let mut seconds: u64 = 60;
    let mut build_only = false;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--time" => {
                let v = it.next().context("--time needs a number of seconds")?;
                seconds = v.parse().with_context(|| format!("--time {v}: not a number"))?;
                ensure!(seconds > 0, "--time must be at least 1 second");
            }
            "--build-only" => build_only = true,
            t if TARGETS.contains(&t) => targets.push(t),
            other => bail!("unknown argument {other:?}; targets: {}", TARGETS.join(" ")),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let version = cargo_fuzz(root).arg("--version").output();
    ensure!(
        version.is_ok_and(|o| o.status.success()),
        "cargo-fuzz is not installed: cargo install cargo-fuzz --locked"
    );
    // One build of every target (they share one dependency build), then the runs.
    let status = cargo_fuzz(root).args(["build", "--fuzz-dir", "fuzz"]).status()?;
    ensure!(status.success(), "cargo fuzz build failed: {status}");
    if build_only {
        return Ok(());
    }
    for target in targets {
        let corpus = root.join("fuzz/corpus").join(target);
        let seeds = root.join("fuzz/seeds").join(target);
        std::fs::create_dir_all(&corpus)?;
        eprintln!("== fuzz {target} for {seconds} s");
        let status = cargo_fuzz(root)
            .args(["run", "--fuzz-dir", "fuzz", target])
            .arg(&corpus)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            // A single input that takes this long is a hang worth reporting.
            .arg("-timeout=10")
            .arg("-print_final_stats=1")
            .status()?;
        ensure!(
            status.success(),
            "fuzz target {target} failed ({status}): its input is in fuzz/artifacts/{target}/"
        );
    }
    Ok(())
}

/// `cargo fuzz` with the environment that lets it build on a stable toolchain.
fn cargo_fuzz(root: &Path) -> std::process::Command {
    let mut cmd = crate::cargo();
    cmd.current_dir(root).arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    // The workspace's target dir override would mix sanitizer builds into it.
    cmd.env_remove("CARGO_TARGET_DIR");
    cmd
}
