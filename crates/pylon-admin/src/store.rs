//! The config file on disk: atomic replacement and the history of replaced versions.
//!
//! A write goes to a temporary file in the same directory, is fsynced, renamed over the
//! config file (atomic on POSIX), and the directory is fsynced, so a crash leaves either
//! the old or the new file, never half of one. Each replaced text is kept in the history
//! folder as `<unix millis>-<version>.toml`, with a `.json` sidecar saying who replaced it;
//! only the newest `history_size` are kept.
//!
//! The config holds secrets (password hashes, JWT secrets), so nothing written here is ever
//! more readable than the config file: the temporary file is created `0600` and then given
//! the mode of the file it replaces, and the history copies take the config file's mode
//! (`0600` whenever a mode is not known).

use std::{
    fs,
    io::Write as _,
    os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

/// One kept version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The version (content hash) of the kept text.
    pub version: String,
    /// When it was replaced, in milliseconds since the Unix epoch.
    pub replaced_at_ms: u64,
    /// Who replaced it (the admin user), and how (`apply` / `rollback`).
    pub replaced_by: String,
    /// How: `apply` or `rollback`.
    pub action: String,
    /// The version that replaced it.
    pub replaced_with: String,
    /// Size of the kept text in bytes.
    pub size: u64,
}

/// The mode a file written in place of `path` (or a copy of it) gets: that of `path`,
/// `0600` when it cannot be read.
pub(crate) fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).map_or(0o600, |m| m.permissions().mode() & 0o777)
}

/// Replace `path` with `text` atomically (temp file, fsync, rename, fsync of the directory).
/// The file keeps its permissions (`0600` for a new file). When `path` is a symbolic link,
/// the file it leads to is replaced and the link stays (a config kept elsewhere and linked
/// into place keeps being the one that is edited).
pub fn atomic_write(path: &Path, text: &str) -> std::io::Result<()> {
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    atomic_write_mode(&target, text, mode_of(&target))
}

/// [`atomic_write`] giving the file permissions `mode`. The temporary file is `0600` from
/// its creation until `mode` is set, before any byte is written.
fn atomic_write_mode(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.pylon-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        // Also narrows a stale temporary file left by a crash (`mode` applies only to new
        // files).
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The history folder of one config file.
#[derive(Debug, Clone)]
pub struct History {
    dir: PathBuf,
    keep: usize,
}

impl History {
    /// The folder `dir`, keeping `keep` versions.
    pub fn new(dir: PathBuf, keep: usize) -> History {
        History { dir, keep: keep.max(1) }
    }

    /// Keep `text` (version `version`) of the config file `config`, replaced now by `user`
    /// with `replaced_with`; prune the oldest beyond the limit. The copies get the
    /// permissions of `config` (`0600` when they cannot be read).
    pub fn keep(
        &self,
        config: &Path,
        text: &str,
        version: &str,
        user: &str,
        action: &str,
        replaced_with: &str,
    ) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let stem = format!("{:013}-{version}", now_ms());
        let entry = HistoryEntry {
            version: version.to_owned(),
            replaced_at_ms: now_ms(),
            replaced_by: user.to_owned(),
            action: action.to_owned(),
            replaced_with: replaced_with.to_owned(),
            size: text.len() as u64,
        };
        let mode = mode_of(config);
        atomic_write_mode(&self.dir.join(format!("{stem}.toml")), text, mode)?;
        let meta = serde_json::to_string_pretty(&entry).map_err(std::io::Error::other)?;
        atomic_write_mode(&self.dir.join(format!("{stem}.json")), &meta, mode)?;
        for old in self.stems()?.into_iter().skip(self.keep) {
            let _ = fs::remove_file(self.dir.join(format!("{old}.toml")));
            let _ = fs::remove_file(self.dir.join(format!("{old}.json")));
        }
        Ok(())
    }

    /// Entry stems (`<millis>-<version>`), newest first.
    fn stems(&self) -> std::io::Result<Vec<String>> {
        let mut stems: Vec<String> = match fs::read_dir(&self.dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter_map(|n| n.strip_suffix(".toml").map(str::to_owned))
                .filter(|s| s.split_once('-').is_some_and(|(t, _)| t.parse::<u64>().is_ok()))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        stems.sort_unstable_by(|a, b| b.cmp(a));
        Ok(stems)
    }

    /// The kept versions, newest first.
    pub fn list(&self) -> std::io::Result<Vec<HistoryEntry>> {
        let mut out = Vec::new();
        for stem in self.stems()? {
            let meta = fs::read_to_string(self.dir.join(format!("{stem}.json")))
                .ok()
                .and_then(|t| serde_json::from_str::<HistoryEntry>(&t).ok());
            let entry = match meta {
                Some(m) => m,
                None => {
                    let (ms, version) = stem.split_once('-').unwrap_or(("0", &stem));
                    HistoryEntry {
                        version: version.to_owned(),
                        replaced_at_ms: ms.parse().unwrap_or(0),
                        replaced_by: String::new(),
                        action: String::new(),
                        replaced_with: String::new(),
                        size: fs::metadata(self.dir.join(format!("{stem}.toml")))
                            .map_or(0, |m| m.len()),
                    }
                }
            };
            out.push(entry);
        }
        Ok(out)
    }

    /// The text of the newest kept entry with `version`.
    pub fn text(&self, version: &str) -> std::io::Result<Option<String>> {
        let valid = !version.is_empty() && version.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Ok(None);
        }
        for stem in self.stems()? {
            if stem.split_once('-').is_some_and(|(_, v)| v == version) {
                return fs::read_to_string(self.dir.join(format!("{stem}.toml"))).map(Some);
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder for the test `name` (tests run in parallel threads of one process).
    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pylon-admin-store-{}-{name}-{}",
            std::process::id(),
            now_ms()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn atomic_write_replaces_and_keeps_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tmp("atomic");
        let path = dir.join("c.toml");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        atomic_write(&path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp file left behind");
        fs::remove_dir_all(dir).unwrap();
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_file_is_written_owner_only() {
        let dir = tmp("new");
        let path = dir.join("new.toml");
        atomic_write(&path, "secret").unwrap();
        assert_eq!(mode(&path), 0o600);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn history_copies_take_the_config_files_permissions() {
        let dir = tmp("copies");
        let config = dir.join("c.toml");
        fs::write(&config, "users = [\"ops:$argon2id$...\"]").unwrap();
        let h = History::new(dir.join("hist"), 5);
        for (want, v) in [(0o600, "aa01"), (0o640, "aa02")] {
            fs::set_permissions(&config, fs::Permissions::from_mode(want)).unwrap();
            h.keep(&config, "text", v, "ops", "apply", "ff").unwrap();
            let kept: Vec<PathBuf> = fs::read_dir(dir.join("hist"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().contains(v))
                .collect();
            assert_eq!(kept.len(), 2, "{kept:?}");
            for p in kept {
                assert_eq!(mode(&p), want, "{}", p.display());
            }
        }
        // The config file cannot be read: owner-only.
        h.keep(&dir.join("gone.toml"), "text", "aa03", "ops", "apply", "ff").unwrap();
        for e in fs::read_dir(dir.join("hist")).unwrap() {
            let p = e.unwrap().path();
            if p.to_string_lossy().contains("aa03") {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
            }
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn history_keeps_the_newest_and_finds_by_version() {
        let dir = tmp("newest");
        let h = History::new(dir.join("hist"), 2);
        assert!(h.list().unwrap().is_empty());
        for (i, v) in ["aa01", "aa02", "aa03"].iter().enumerate() {
            h.keep(&dir.join("c.toml"), &format!("text {i}"), v, "ops", "apply", "ff").unwrap();
            std::thread::sleep(std::time::Duration::from_millis(3));
        }
        let list = h.list().unwrap();
        let versions: Vec<&str> = list.iter().map(|e| e.version.as_str()).collect();
        assert_eq!(versions, ["aa03", "aa02"]);
        assert_eq!(list[0].replaced_by, "ops");
        assert_eq!(h.text("aa02").unwrap().as_deref(), Some("text 1"));
        assert_eq!(h.text("aa01").unwrap(), None, "pruned");
        assert_eq!(h.text("../x").unwrap(), None);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_symlinked_config_stays_a_link_to_the_replaced_file() {
        let dir = std::env::temp_dir().join(format!("pylon-store-link-{}", std::process::id()));
        let real = dir.join("real");
        fs::create_dir_all(&real).expect("dirs");
        let file = real.join("pylon.toml");
        fs::write(&file, "old").expect("write");
        let link = dir.join("pylon.toml");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        atomic_write(&link, "new").expect("atomic write");
        assert!(fs::symlink_metadata(&link).expect("meta").file_type().is_symlink());
        assert_eq!(fs::read_to_string(&file).expect("read"), "new");
        assert_eq!(fs::read_to_string(&link).expect("read"), "new");
        let _ = fs::remove_dir_all(&dir);
    }
}
