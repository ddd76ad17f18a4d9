//! The root page of the admin: an index of the API.

use std::sync::Arc;

use axum::{Json, Router, routing::get};
use serde_json::json;

use crate::api::AppState;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route(
        "/",
        get(|| async {
            Json(json!({
                "name": "pylon admin",
                "endpoints": [
                    "GET /api/health", "GET /api/session", "POST /api/login", "POST /api/logout",
                    "GET /metrics", "GET /api/config", "POST /api/config/plan", "PUT /api/config",
                    "GET /api/config/history", "GET /api/config/history/{version}",
                    "POST /api/config/rollback/{version}", "GET /api/stats", "GET /api/upstreams",
                    "GET /api/explain?url=…&header=…",
                ],
            }))
        }),
    )
}
