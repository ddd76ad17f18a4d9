//! How the model is written as JSON (for the admin API): durations in the config's own
//! notation (`"30s"`, `"1m30s"`, `"500ms"`), so the JSON reads like the file.

use std::time::Duration;

use serde::Serializer;

/// `Duration` → `"1h2m3s"`, `"500ms"`, `"0s"`.
pub(crate) fn duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

/// `Option<Duration>` → the text above or `null`.
pub(crate) fn opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => duration(d, s),
        None => s.serialize_none(),
    }
}

/// The config notation of a duration: units from hours down to milliseconds, zero parts
/// left out; anything below a millisecond is dropped.
pub(crate) fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! formats {
        ($($name:ident: $d:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() { assert_eq!(format_duration($d), $want); }
        )*};
    }

    formats! {
        zero: Duration::ZERO => "0s";
        seconds: Duration::from_secs(30) => "30s";
        millis: Duration::from_millis(500) => "500ms";
        mixed: Duration::from_millis(90_500) => "1m30s500ms";
        hours: Duration::from_secs(7200) => "2h";
    }
}
