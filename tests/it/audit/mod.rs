//! The audit log: every route that shows personal data writes an entry; the Merkle tree and
//! its signed heads are checked by an independent verifier; tampering is found and named.

use std::process::Command;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::{self, PASSWORD, TestApp, extract_input};

mod index;
mod personal_data;
mod proofs;
mod reveal;
mod routes;

use routes::PERSONAL_DATA_ROUTES;

async fn entries(app: &TestApp) -> i64 {
    app.query_i64("SELECT COUNT(*) FROM audit_entries").await
}

/// wangge's own household, one outside her grid, and jumin's person and household ids.
async fn fixtures(app: &TestApp) -> (i64, i64, i64, i64, i64) {
    let grid = crate::support::place_of(app, "wangge").await;
    app.db
        .read(move |c| {
            let rows = c.query("SELECT id, unit_id, place_path FROM households ORDER BY id", &[])?;
            let inside = rows.iter().find(|r| r.str(2).starts_with(&format!("{grid}/"))).unwrap();
            let outside = rows.iter().find(|r| !r.str(2).starts_with(&format!("{grid}/"))).unwrap();
            let j = c.query_one(
                "SELECT p.id, p.household_id FROM users u JOIN persons p ON p.id = u.person_id WHERE u.username = 'jumin'",
                &[],
            )?;
            Ok((inside.i64(0), inside.i64(1), outside.i64(0), j.i64(0), j.i64(1)))
        })
        .await
        .unwrap()
}
