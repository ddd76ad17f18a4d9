//! Wiring of the admin: pylon-admin's [`AdminBackend`] on top of pylon-proxy's
//! [`AdminHandle`], and pylon-proxy's [`AdminService`](pylon_proxy::AdminService) on top of pylon-admin's [`Admin`].
//! The two crates do not know each other; their data crosses here as JSON of the same
//! shape.

use std::{path::PathBuf, sync::Arc};

use async_trait::async_trait;
use bytes::Bytes;
use pylon_admin::{Admin, AdminBackend, AdminConn, Checked, Diagnostic, RunningConfig, Settings};
use pylon_proxy::AdminHandle;
use serde::{Serialize, de::DeserializeOwned};

/// The same data in the other crate's type (both sides derive serde with equal shapes).
pub(crate) fn convert<T: Serialize, U: DeserializeOwned + Default>(value: &T) -> U {
    serde_json::to_value(value).and_then(serde_json::from_value).unwrap_or_default()
}

/// pylon-config diagnostics as pylon-admin's.
pub(crate) fn diagnostics(list: &[pylon_config::Diagnostic]) -> Vec<Diagnostic> {
    list.iter()
        .map(|d| Diagnostic {
            file: d.file.clone(),
            line: d.line,
            column: d.column,
            key: d.key.clone(),
            message: d.message.clone(),
        })
        .collect()
}

/// The model of a config as JSON, plugin secrets redacted ([`pylon_proxy::config_model`]).
pub(crate) fn model(config: &pylon_config::Config) -> serde_json::Value {
    pylon_proxy::config_model(config)
}

/// pylon-admin's view of the running proxy.
#[derive(Debug)]
pub(crate) struct Backend(pub(crate) AdminHandle);

#[async_trait]
impl AdminBackend for Backend {
    fn config_path(&self) -> Option<PathBuf> {
        self.0.config_path().map(PathBuf::from)
    }

    fn running(&self) -> RunningConfig {
        let r = self.0.running();
        RunningConfig { text: r.text.to_string(), version: r.version, model: model(&r.config) }
    }

    fn settings(&self) -> Option<Settings> {
        let r = self.0.running();
        let pylon_config::Admin {
            addr: _,
            users,
            history_dir,
            history_size,
            tls: _,
            tls_cert: _,
            tls_key: _,
        } = r.config.admin.as_ref()?;
        Some(Settings {
            users: users.iter().map(|u| (u.name.clone(), u.hash.clone())).collect(),
            history_dir: history_dir.clone(),
            history_size: *history_size,
        })
    }

    fn version_of(&self, text: &str) -> String {
        pylon_proxy::config_version(text)
    }

    async fn check(&self, text: &str) -> Checked {
        let checked = self.0.check(text).await;
        let impact = checked.config.as_ref().map(|c| convert(&self.0.impact(c)));
        Checked {
            errors: diagnostics(&checked.errors),
            warnings: diagnostics(&checked.warnings),
            model: checked.config.as_ref().map(model),
            impact,
        }
    }

    async fn reload(&self) -> Result<bool, Vec<Diagnostic>> {
        self.0.reload().await.map(|r| r.upgrade).map_err(|e| diagnostics(&e))
    }

    fn stats(&self) -> serde_json::Value {
        self.0.stats()
    }

    fn upstreams(&self) -> serde_json::Value {
        self.0.upstreams()
    }

    fn explain(
        &self,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<serde_json::Value, String> {
        self.0.explain(url, headers).map(|e| serde_json::to_value(e).unwrap_or_default())
    }

    fn metrics(&self) -> String {
        self.0.metrics()
    }
}

/// pylon-proxy's view of the admin application.
#[derive(Debug)]
pub(crate) struct Service(pub(crate) Admin);

#[async_trait]
impl pylon_proxy::AdminService for Service {
    async fn serve(
        &self,
        req: http::Request<Bytes>,
        conn: pylon_proxy::AdminConn,
    ) -> http::Response<Bytes> {
        let pylon_proxy::AdminConn { client, tls, prefix } = conn;
        self.0.serve(req, AdminConn { client, tls, prefix }).await
    }

    fn session_cookie(&self) -> &str {
        pylon_admin::COOKIE
    }
}

/// The admin service for `handle`.
pub(crate) fn service(handle: AdminHandle) -> Arc<dyn pylon_proxy::AdminService> {
    Arc::new(Service(Admin::new(Arc::new(Backend(handle)))))
}
