//! The summary of the criterion benches: every benchmark's mean time per iteration (and per
//! element where a throughput is declared), read from criterion's `estimates.json` files.

use std::path::Path;

use serde_json::Value;

/// One benchmark's estimate.
#[derive(Debug, PartialEq)]
pub(crate) struct Estimate {
    pub(crate) id: String,
    pub(crate) mean_ns: f64,
    /// Mean per element when the bench declares `Throughput::Elements(n)`.
    pub(crate) per_element_ns: Option<f64>,
}

/// Every `new/` estimate under `target/criterion`, sorted by id.
pub(crate) fn read(criterion_dir: &Path) -> Vec<Estimate> {
    let mut out = Vec::new();
    walk(criterion_dir, &mut out);
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn walk(dir: &Path, out: &mut Vec<Estimate>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(e) = estimate(&path) {
                out.push(e);
            }
        } else if path.file_name().is_none_or(|n| n != "base" && n != "change" && n != "report") {
            walk(&path, out);
        }
    }
}

fn estimate(new: &Path) -> Option<Estimate> {
    let bench: Value =
        serde_json::from_str(&std::fs::read_to_string(new.join("benchmark.json")).ok()?).ok()?;
    let est: Value =
        serde_json::from_str(&std::fs::read_to_string(new.join("estimates.json")).ok()?).ok()?;
    let id = bench.get("full_id")?.as_str()?.to_owned();
    let mean_ns = est.get("mean")?.get("point_estimate")?.as_f64()?;
    let elements = bench.get("throughput").and_then(|t| t.get("Elements")).and_then(Value::as_f64);
    Some(Estimate {
        id,
        mean_ns,
        per_element_ns: elements.filter(|n| *n > 0.0).map(|n| mean_ns / n),
    })
}

/// A markdown table of the estimates.
pub(crate) fn markdown(estimates: &[Estimate]) -> String {
    let mut t = String::from("| benchmark | mean per iteration | per element |\n|---|---|---|\n");
    for e in estimates {
        let per = e.per_element_ns.map_or(String::new(), human);
        t.push_str(&format!("| {} | {} | {per} |\n", e.id, human(e.mean_ns)));
    }
    t
}

fn human(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_are_read_from_a_criterion_tree() {
        let dir = std::env::temp_dir().join(format!("xtask-criterion-{}", std::process::id()));
        let new = dir.join("match/indexed/100/new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::create_dir_all(dir.join("match/indexed/100/base")).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"full_id":"match/indexed/100","throughput":{"Elements":64}}"#,
        )
        .unwrap();
        std::fs::write(new.join("estimates.json"), r#"{"mean":{"point_estimate":6400.0}}"#)
            .unwrap();
        let got = read(&dir);
        assert_eq!(
            got,
            vec![Estimate {
                id: "match/indexed/100".into(),
                mean_ns: 6400.0,
                per_element_ns: Some(100.0)
            }]
        );
        assert!(markdown(&got).contains("| match/indexed/100 | 6.40 µs | 100.0 ns |"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
