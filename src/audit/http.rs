//! The audit log over HTTP: the latest checkpoint and the proofs are public (they hold only
//! hashes), so a witness can keep heads and check them; entries are for administrators.

use std::sync::Arc;

use crate::http::{Path, Query};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{DbNodes, Head, merkle};
use crate::http::ErrorBody;
use crate::http::Signed;
use crate::kernel::error::{AppError, AppResult};
use crate::state::AppState;

/// The audit log's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(checkpoint, sign, inclusion, consistency, entry, list_notices))]
pub struct AuditApi;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/audit/checkpoint", get(checkpoint))
        .route("/api/v1/audit/heads", post(sign))
        .route("/api/v1/audit/proof/inclusion", get(inclusion))
        .route("/api/v1/audit/proof/consistency", get(consistency))
        .route("/api/v1/audit/entries/{seq}", get(entry))
        .route("/api/v1/security-notices", get(list_notices))
}

fn b64(h: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// The latest signed tree head as checkpoint text. Reading it signs nothing: heads are signed by
/// the signer job alone (every few minutes when the log grew), so anonymous callers cannot
/// make the log grow a head per request.
#[utoipa::path(get, path = "/api/v1/audit/checkpoint", tag = "audit",
    responses((status = 200, description = "checkpoint text", content_type = "text/plain"), (status = 404, body = ErrorBody)))]
pub async fn checkpoint(State(state): State<Arc<AppState>>) -> AppResult<Response> {
    let head = state
        .db
        .read(super::latest_head)
        .await?
        .ok_or_else(AppError::not_found)?;
    let text = head.checkpoint(&state.audit.key().public());
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}

/// Signs a tree head now, if the log has grown (street administrators).
#[utoipa::path(post, path = "/api/v1/audit/heads", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = Head), (status = 403, body = ErrorBody)))]
pub async fn sign(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Head>> {
    if !caller.can_manage_users() {
        return Err(AppError::forbidden());
    }
    let head = state.audit.sign_head().await?;
    // Handed to the witnesses at once; a failure is logged there and retried by the signer job.
    let _ = super::witness::publish(
        &state.db,
        &state.cfg.audit_witness,
        &state.audit.key().public(),
    )
    .await;
    head.map(Json).ok_or_else(AppError::not_found)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionQuery {
    /// The entry (leaf index, from 0).
    pub entry: u64,
    /// The tree size to prove against [default: the latest signed head].
    pub size: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct InclusionProof {
    pub entry: u64,
    pub size: u64,
    /// Base64 SHA-256(0x00 ‖ entry body).
    pub leaf_hash: String,
    /// Base64 root of the tree of `size` entries.
    pub root: String,
    /// Base64 hashes, from the leaf up (RFC 9162 §2.1.3).
    pub proof: Vec<String>,
}

fn check_size(state_size: u64, size: u64) -> AppResult<()> {
    if size == 0 || size > state_size {
        return Err(AppError::bad_request("error.audit_size"));
    }
    Ok(())
}

async fn default_size(state: &AppState, size: Option<u64>) -> AppResult<(u64, u64)> {
    let (n, head) = state
        .db
        .read(|c| Ok((super::size(c)?, super::latest_head(c)?.map(|h| h.size))))
        .await?;
    Ok((n, size.or(head).unwrap_or(n)))
}

/// An inclusion proof of one entry.
#[utoipa::path(get, path = "/api/v1/audit/proof/inclusion", tag = "audit", params(InclusionQuery),
    responses((status = 200, body = InclusionProof), (status = 400, body = ErrorBody)))]
pub async fn inclusion(
    State(state): State<Arc<AppState>>,
    Query(q): Query<InclusionQuery>,
) -> AppResult<Json<InclusionProof>> {
    let (n, size) = default_size(&state, q.size).await?;
    check_size(n, size)?;
    if q.entry >= size {
        return Err(AppError::bad_request("error.audit_entry"));
    }
    let entry = q.entry;
    let (leaf, root, proof) = state
        .db
        .read(move |c| {
            let mut nodes = DbNodes(c);
            let leaf = merkle::Nodes::node(&mut nodes, 0, entry)?;
            let root = merkle::root(&mut nodes, size)?;
            let proof = merkle::inclusion_proof(&mut nodes, entry, size)?;
            Ok((leaf, root, proof))
        })
        .await?;
    Ok(Json(InclusionProof {
        entry,
        size,
        leaf_hash: b64(&leaf),
        root: b64(&root),
        proof: proof.iter().map(|h| b64(h)).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyQuery {
    pub from: u64,
    /// [default: the latest signed head]
    pub to: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsistencyProof {
    pub from: u64,
    pub to: u64,
    pub old_root: String,
    pub new_root: String,
    /// Base64 hashes (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

/// A consistency proof between two tree sizes.
#[utoipa::path(get, path = "/api/v1/audit/proof/consistency", tag = "audit", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = ErrorBody)))]
pub async fn consistency(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ConsistencyQuery>,
) -> AppResult<Json<ConsistencyProof>> {
    let (n, to) = default_size(&state, q.to).await?;
    check_size(n, to)?;
    check_size(to, q.from)?;
    let from = q.from;
    let (old_root, new_root, proof) = state
        .db
        .read(move |c| {
            let mut nodes = DbNodes(c);
            Ok((
                merkle::root(&mut nodes, from)?,
                merkle::root(&mut nodes, to)?,
                merkle::consistency_proof(&mut nodes, from, to)?,
            ))
        })
        .await?;
    Ok(Json(ConsistencyProof {
        from,
        to,
        old_root: b64(&old_root),
        new_root: b64(&new_root),
        proof: proof.iter().map(|h| b64(h)).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct StoredEntry {
    pub seq: u64,
    /// The canonical JSON whose SHA-256(0x00 ‖ body) is the leaf.
    pub body: String,
    pub leaf_hash: String,
}

/// One entry as stored (street administrators).
#[utoipa::path(get, path = "/api/v1/audit/entries/{seq}", tag = "audit", params(("seq" = u64, Path)), security(("bearer" = [])),
    responses((status = 200, body = StoredEntry), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn entry(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(seq): Path<u64>,
) -> AppResult<Json<StoredEntry>> {
    if !caller.can_manage_users() {
        return Err(AppError::forbidden());
    }
    let e = state.db.read(move |c| super::entry(c, seq)).await?;
    let (body, leaf) = e.ok_or_else(AppError::not_found)?;
    Ok(Json(StoredEntry {
        seq,
        body,
        leaf_hash: b64(&leaf),
    }))
}

/// Notices raised by the anomaly rules over the audit log (street administrators).
#[utoipa::path(get, path = "/api/v1/security-notices", tag = "audit", security(("bearer" = [])),
    responses((status = 200, body = Vec<crate::audit::anomaly::Notice>), (status = 403, body = ErrorBody)))]
async fn list_notices(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<crate::audit::anomaly::Notice>>> {
    let streets = caller.notice_streets().ok_or_else(AppError::forbidden)?;
    Ok(Json(
        state
            .db
            .read(move |c| crate::audit::anomaly::notices(c, streets.as_deref(), 200))
            .await?,
    ))
}
