//! The global allocator and how it is tuned for a long-running proxy.
//!
//! mimalloc replaces glibc's malloc: pingora allocates per request (headers, peers, buffers)
//! and glibc's allocator was the largest single cost in a CPU profile. Two of mimalloc's
//! defaults cost memory a proxy does not need to hold (BENCHMARKS.md, "Memory"):
//! - `arena_eager_commit`: each thread's first arena chunk is committed (and populated) up
//!   front: ~12 MiB of idle RSS;
//! - `purge_delay` = 1000 ms: freed pages are returned to the OS a second later, so a burst
//!   of 1 MiB bodies leaves tens of MiB resident.
//!
//! mimalloc reads its options from the environment once, when the process starts (before
//! `main`), and has no safe API to set them later. So `pylon run` sets the two variables it
//! needs and re-executes itself (same pid, same arguments) unless they are already set —
//! an operator's own `MIMALLOC_*` values always win.

use std::ffi::OsStr;

/// The allocator of the `pylon` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc options (environment variable, value) `pylon run` wants.
pub(crate) const OPTIONS: [(&str, &str); 2] =
    [("MIMALLOC_ARENA_EAGER_COMMIT", "0"), ("MIMALLOC_PURGE_DELAY", "10")];

/// Marks the re-executed process, so a failing exec can never loop.
const TUNED: &str = "PYLON_ALLOCATOR_TUNED";

/// Re-execute this process with [`OPTIONS`] in its environment, unless every one of them is
/// already set. Returns only when no re-exec happened (or it failed, which costs memory,
/// not correctness).
pub(crate) fn tune_for_serving() {
    if std::env::var_os(TUNED).is_some()
        || OPTIONS.iter().all(|(k, _)| std::env::var_os(k).is_some())
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(std::env::args_os().skip(1)).env(TUNED, "1");
    for (key, value) in OPTIONS {
        if std::env::var_os(key).is_none() {
            cmd.env(key, OsStr::new(value));
        }
    }
    use std::os::unix::process::CommandExt as _;
    let err = cmd.exec();
    errln!("pylon: could not re-execute with mimalloc options ({err}); using its defaults");
}
