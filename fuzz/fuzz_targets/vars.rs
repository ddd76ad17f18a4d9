//! Header-variable templates (`$host`, `${http_x}`, …) on arbitrary text: never panic; a
//! template that parses prints (`Display`) as one that parses back to it; a template without
//! variables renders as its fixed text; and whatever the config loader accepts as a header
//! value, the template parser accepts too (else a valid config would fail to start).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pylon_vars::Template;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = Template::parse(text);
    if let Ok(t) = &parsed {
        let again = Template::parse(&t.to_string())
            .unwrap_or_else(|e| panic!("Display {:?} does not parse back: {e}", t.to_string()));
        assert_eq!(&again, t);
        let mut out = String::new();
        t.render(&mut out, |var, out| out.push_str(&var.to_string()));
        if let Some(fixed) = t.fixed() {
            assert_eq!(out, fixed);
        }
    }
    // The same text as a header value in a config file.
    let value: String = text.chars().map(|c| if c == '"' || c == '\\' { '_' } else { c }).collect();
    if value.contains(char::is_control) || value.trim() != value || value.is_empty() {
        return;
    }
    let config = format!(
        "[upstreams.u]\naddrs = [\"127.0.0.1:9\"]\n[locations.l]\nupstream = \"u\"\n\
         proxy_set_headers = [\"X-A: {value}\"]\n[servers.s]\naddr = \"127.0.0.1:1\"\n\
         locations = [\"l\"]\n"
    );
    let origin = std::path::Path::new("/nonexistent-pylon-fuzz/pylon.toml");
    if pylon_config::parse(&config, origin).is_ok() {
        assert!(
            Template::parse(&value).is_ok(),
            "the config accepts header value {value:?}, the template parser does not: {:?}",
            Template::parse(&value)
        );
    }
});
