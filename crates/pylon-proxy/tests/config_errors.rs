//! A missing, unreadable or mismatched certificate or key is a config error naming the key and
//! the file — never a panic at listener start. These tests start no proxy; they run
//! outside any tokio runtime because `Pylon::new` compiles the config on one of its own.

use std::path::{Path, PathBuf};

use pylon_config::Diagnostic;

use crate::util::{Ca, Leaf, basic, install_provider, validate};

/// A config in `dir` with one TLS server: `server_tls` are the server's TLS lines,
/// `certificates` whole `[certificates.NAME]` tables.
fn write_config(dir: &Path, server_tls: &str, certificates: &str) -> PathBuf {
    let toml = format!(
        "{}[locations.ok]\nreturn = \"200 ok\"\n\n\
         [servers.s]\naddr = \"127.0.0.1:1\"\nlocations = [\"ok\"]\n{server_tls}\n\n{certificates}",
        basic(dir)
    );
    let path = dir.join("pylon.toml");
    std::fs::write(&path, toml).expect("write config");
    path
}

fn cert_table(name: &str, cert: &Path, key: &Path) -> String {
    format!(
        "[certificates.{name}]\ndomains = [\"{name}.test\"]\ntls_cert = \"{}\"\ntls_key = \"{}\"\n\n",
        cert.display(),
        key.display()
    )
}

fn server_pair(cert: &Path, key: &Path) -> String {
    format!("tls_cert = \"{}\"\ntls_key = \"{}\"", cert.display(), key.display())
}

struct Fixture {
    dir: tempfile::TempDir,
    one: Leaf,
    two: Leaf,
}

fn fixture() -> Fixture {
    install_provider();
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = Ca::new(dir.path(), "ca");
    let one = ca.leaf(dir.path(), "one", &["one.test"]);
    let two = ca.leaf(dir.path(), "two", &["two.test"]);
    Fixture { dir, one, two }
}

/// The diagnostics of `path`, which must be refused.
fn refused(path: &Path) -> Vec<Diagnostic> {
    match validate(path) {
        Ok(_) => panic!("{} was accepted", path.display()),
        Err(e) => e,
    }
}

/// The one diagnostic whose key starts with `key`; it must name `file`.
fn assert_names(diags: &[Diagnostic], key: &str, file: &Path) {
    let file = file.display().to_string();
    let found: Vec<_> = diags.iter().filter(|d| d.key.starts_with(key)).collect();
    assert_eq!(found.len(), 1, "one error for {key} expected in {diags:#?}");
    assert!(found[0].message.contains(&file), "{:?} does not name {file}", found[0].message);
}

/// `path` loads (pylon-config is satisfied) but `Pylon::new` refuses it.
fn refused_by_pylon_new(path: &Path) -> Vec<Diagnostic> {
    let loaded = pylon_config::load(path).unwrap_or_else(|e| panic!("load refused: {:#?}", e.0));
    match pylon_proxy::Pylon::new(loaded.config, pylon_proxy::RunOptions::default()) {
        Ok(_) => panic!("Pylon::new accepted {}", path.display()),
        Err(e) => e,
    }
}

#[test]
fn missing_certificate_file() {
    let f = fixture();
    let missing = f.dir.path().join("missing.crt");
    let path =
        write_config(f.dir.path(), "tls = true", &cert_table("c", &missing, &f.one.key_path));
    assert_names(&refused(&path), "certificates.c.tls_cert", &missing);
}

#[test]
fn missing_server_key_file() {
    let f = fixture();
    let missing = f.dir.path().join("missing.key");
    let path = write_config(f.dir.path(), &server_pair(&f.one.cert_path, &missing), "");
    assert_names(&refused(&path), "servers.s.tls_key", &missing);
}

#[test]
fn certificate_removed_after_validation_is_an_error_not_a_panic() {
    let f = fixture();
    let path = write_config(
        f.dir.path(),
        "tls = true",
        &cert_table("c", &f.one.cert_path, &f.one.key_path),
    );
    let loaded = pylon_config::load(&path).unwrap();
    std::fs::remove_file(&f.one.cert_path).unwrap();
    let diags = match pylon_proxy::Pylon::new(loaded.config, pylon_proxy::RunOptions::default()) {
        Ok(_) => panic!("Pylon::new accepted a missing certificate"),
        Err(e) => e,
    };
    assert_names(&diags, "certificates.c.", &f.one.cert_path);
}

#[test]
fn server_key_removed_after_validation_is_an_error_not_a_panic() {
    let f = fixture();
    let path = write_config(f.dir.path(), &server_pair(&f.one.cert_path, &f.one.key_path), "");
    let loaded = pylon_config::load(&path).unwrap();
    std::fs::remove_file(&f.one.key_path).unwrap();
    let diags = match pylon_proxy::Pylon::new(loaded.config, pylon_proxy::RunOptions::default()) {
        Ok(_) => panic!("Pylon::new accepted a missing key"),
        Err(e) => e,
    };
    assert_names(&diags, "servers.s.", &f.one.key_path);
}

#[test]
fn certificate_removed_before_the_listeners_start_is_an_error_not_a_panic() {
    let f = fixture();
    let server = format!("tls = true\n{}", server_pair(&f.one.cert_path, &f.one.key_path));
    let path = write_config(f.dir.path(), &server, "");
    let pylon = validate(&path).unwrap_or_else(|e| panic!("refused: {e:#?}"));
    std::fs::remove_file(&f.one.cert_path).unwrap();
    match pylon.into_server() {
        Ok(_) => panic!("into_server accepted a missing certificate"),
        Err(diags) => assert_names(&diags, "servers.s.", &f.one.cert_path),
    }
}

#[test]
fn garbage_certificate_file() {
    let f = fixture();
    let garbage = f.dir.path().join("garbage.crt");
    std::fs::write(&garbage, "this is not a certificate\n").unwrap();
    let path =
        write_config(f.dir.path(), "tls = true", &cert_table("c", &garbage, &f.one.key_path));
    assert_names(&refused(&path), "certificates.c.tls_cert", &garbage);
}

#[test]
fn garbage_inside_a_pem_certificate_block() {
    let f = fixture();
    let garbage = f.dir.path().join("garbage.crt");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\n!!not base64!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let path =
        write_config(f.dir.path(), "tls = true", &cert_table("c", &garbage, &f.one.key_path));
    assert_names(&refused_by_pylon_new(&path), "certificates.c.tls_cert", &garbage);
}

#[test]
fn pem_block_that_is_not_a_certificate() {
    let f = fixture();
    let garbage = f.dir.path().join("notx509.crt");
    // Valid base64, but the DER inside is no X.509 certificate.
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQoLDA0ODw==\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let path = write_config(f.dir.path(), &server_pair(&garbage, &f.one.key_path), "");
    assert_names(&refused_by_pylon_new(&path), "servers.s.tls_cert", &garbage);
}

#[test]
fn mismatched_server_certificate_and_key() {
    let f = fixture();
    let path = write_config(f.dir.path(), &server_pair(&f.one.cert_path, &f.two.key_path), "");
    let diags = refused_by_pylon_new(&path);
    assert_names(&diags, "servers.s.tls_cert", &f.one.cert_path);
    assert_names(&diags, "servers.s.tls_cert", &f.two.key_path);
}

#[test]
fn mismatched_certificates_table() {
    let f = fixture();
    let path = write_config(
        f.dir.path(),
        "tls = true",
        &cert_table("c", &f.two.cert_path, &f.one.key_path),
    );
    let diags = refused_by_pylon_new(&path);
    assert_names(&diags, "certificates.c.tls_cert", &f.two.cert_path);
    assert_names(&diags, "certificates.c.tls_cert", &f.one.key_path);
}

#[test]
fn every_bad_certificate_is_reported_at_once() {
    let f = fixture();
    let tables = cert_table("c", &f.one.cert_path, &f.two.key_path)
        + &cert_table("d", &f.two.cert_path, &f.one.key_path);
    let path = write_config(f.dir.path(), "tls = true", &tables);
    let diags = refused_by_pylon_new(&path);
    assert_names(&diags, "certificates.c.", &f.one.cert_path);
    assert_names(&diags, "certificates.d.", &f.two.cert_path);
}

#[test]
fn good_certificates_are_accepted() {
    let f = fixture();
    let tables = cert_table("c", &f.one.cert_path, &f.one.key_path)
        + &cert_table("d", &f.two.cert_path, &f.two.key_path);
    let server = format!("tls = true\n{}", server_pair(&f.one.cert_path, &f.one.key_path));
    let path = write_config(f.dir.path(), &server, &tables);
    if let Err(e) = validate(&path) {
        panic!("refused: {e:#?}");
    }
}
