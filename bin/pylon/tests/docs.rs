//! The documentation holds: every TOML snippet in README.md and docs/ passes (or, when marked
//! `toml invalid`, fails exactly as its `# error:` comments say) the real `pylon check`, and
//! every relative link points to a file in the repository. The marking rules are at the top
//! of docs/configuration.md.

use std::path::{Path, PathBuf};

use crate::util::*;

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and every docs/*.md, sorted.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    docs.insert(0, root().join("README.md"));
    docs
}

/// A fenced code block: its info string, first line number (1-based, of the content) and text.
struct Block {
    info: String,
    line: usize,
    text: String,
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in doc.lines().enumerate() {
        let fence = line.trim_start().strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                open =
                    Some(Block { info: info.trim().to_owned(), line: i + 2, text: String::new() })
            }
            (Some(_), Some(_)) => out.extend(open.take()),
            (Some(b), None) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

/// `(line, "key: message")` of every `error:` line `pylon check` printed for `file`.
fn reported(stderr: &str, file: &Path) -> Vec<(usize, String)> {
    let prefix = format!("error: {}:", file.display());
    stderr
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(&prefix)?;
            let (line, rest) = rest.split_once(':')?;
            let (_column, rest) = rest.split_once(':')?;
            Some((line.parse().ok()?, rest.trim().to_owned()))
        })
        .collect()
}

/// `(line, expected)` of every `# error: EXPECTED` comment in a snippet.
fn annotated(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let (_, expected) = l.split_once("# error: ")?;
            Some((i + 1, expected.trim().to_owned()))
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doc_snippets_pass_pylon_check() {
    bounded(async {
        let dir = Dir::new();
        let conf = dir.join("conf");
        copy_dir(&root().join("conf"), &conf);
        let file = conf.join("snippet.toml");
        let file_arg = file.display().to_string();
        let mut failures = Vec::new();
        let (mut valid, mut invalid) = (0, 0);
        for doc in documents() {
            let text = std::fs::read_to_string(&doc).expect("read doc");
            let name = doc.strip_prefix(root()).unwrap_or(&doc).display().to_string();
            for block in blocks(&text) {
                let mut words = block.info.split_whitespace();
                if words.next() != Some("toml") {
                    continue;
                }
                let at = format!("{name}:{}", block.line);
                let marker = words.next();
                if matches!(marker, Some("fragment" | "pingap")) {
                    continue;
                }
                std::fs::write(&file, &block.text).expect("write snippet");
                let (code, _, stderr) = pylon_cmd(&["check", "-c", &file_arg]).await;
                match marker {
                    None => {
                        valid += 1;
                        if code != 0 {
                            failures.push(format!("{at}: `pylon check` failed:\n{stderr}"));
                        }
                    }
                    Some("invalid") => {
                        invalid += 1;
                        let got = reported(&stderr, &file);
                        let want = annotated(&block.text);
                        if code != 1 || want.is_empty() {
                            failures.push(format!(
                                "{at}: want exit 1 and `# error:` comments, got exit {code}:\n{stderr}"
                            ));
                            continue;
                        }
                        for (line, msg) in &got {
                            if !want.iter().any(|(l, w)| l == line && msg.starts_with(w.as_str())) {
                                failures.push(format!(
                                    "{at}: snippet line {line}: error not annotated: {msg}"
                                ));
                            }
                        }
                        for (line, w) in &want {
                            if !got.iter().any(|(l, msg)| l == line && msg.starts_with(w.as_str()))
                            {
                                failures.push(format!(
                                    "{at}: snippet line {line}: expected error {w:?}; got:\n{stderr}"
                                ));
                            }
                        }
                    }
                    Some(other) => failures.push(format!(
                        "{at}: unknown marker `toml {other}` (use invalid, fragment or pingap)"
                    )),
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
        // The docs hold both kinds; a parser that found nothing would pass vacuously.
        assert!(valid >= 5 && invalid >= 60, "found {valid} valid and {invalid} invalid snippets");
    })
    .await;
}

#[test]
fn doc_links_point_to_files_in_the_repository() {
    let mut broken = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("read doc");
        let base = doc.parent().expect("doc dir");
        for (i, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(start) = rest.find("](") {
                let after = &rest[start + 2..];
                let Some(end) = after.find(')') else { break };
                let target = &after[..end];
                rest = &after[end..];
                if target.contains("://")
                    || target.starts_with('#')
                    || target.starts_with("mailto:")
                {
                    continue;
                }
                let path = target.split('#').next().unwrap_or(target);
                if !base.join(path).exists() {
                    broken.push(format!("{}:{}: {target}", doc.display(), i + 1));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "links to files that are not in the repository:\n{}",
        broken.join("\n")
    );
}
