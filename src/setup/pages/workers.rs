//! The workers' import page (issue 21 part 4): upload the staff list, check it, apply it, and
//! hand out the one-time activation links it shows once.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;

use crate::http::{Signed, check_csrf, csv_response};
use crate::kernel::{AppError, AppResult};
use crate::org::access;
use crate::setup::workers::{self, WorkersReport};
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin/users/import", get(import_form).post(import_submit))
        .route("/admin/users/import/template.csv", get(template))
}

#[derive(Template)]
#[template(path = "setup/workers.html")]
struct WorkersPage {
    l: Layout,
    report: Option<WorkersReport>,
    error: Option<String>,
}

impl WorkersPage {
    fn expires(&self, at: &i64) -> String {
        crate::kernel::time::local_time(*at)
    }
}

async fn import_form(Signed(caller): Signed) -> AppResult<Response> {
    access::street_admin(&caller)?;
    Ok(render(&WorkersPage {
        l: Layout::new(Some(&caller)),
        report: None,
        error: None,
    }))
}

/// A staff list to fill in: the columns the import reads and one example row.
async fn template(Signed(caller): Signed) -> AppResult<Response> {
    access::street_admin(&caller)?;
    let t = crate::kernel::i18n::Tr(crate::kernel::ctx().lang);
    let head = t.s("setup.workers.csv_head");
    let body = format!(
        "{head}\n{},{},{},{},{}\n",
        t.s("setup.workers.example_name"),
        "zhangli",
        t.k("role", "grid_worker"),
        t.s("setup.workers.example_target"),
        "13800138000"
    );
    Ok(csv_response("workers.csv", body.into_bytes()))
}

async fn import_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    mut mp: Multipart,
) -> AppResult<Response> {
    access::street_admin(&caller)?;
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut dry_run = false;
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "dry_run" => dry_run = field.text().await.unwrap_or_default() == "1",
            "file" => {
                let name = field.file_name().unwrap_or("").to_string();
                let bytes = crate::http::upload_bytes(field).await?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    check_csrf(&caller, &csrf)?;
    let lang = crate::kernel::ctx().lang;
    let res = async {
        let (name, bytes) = file
            .filter(|(_, b)| !b.is_empty())
            .ok_or_else(|| AppError::invalid("setup.error.no_file"))?;
        let lower = name.to_ascii_lowercase();
        let xlsx = if lower.ends_with(".xlsx") {
            true
        } else if lower.ends_with(".csv") || lower.ends_with(".txt") {
            false
        } else {
            return Err(AppError::invalid("setup.workers.format"));
        };
        workers::import(&state, &caller, bytes, xlsx, dry_run).await
    }
    .await;
    let (report, error, status) = match res {
        Ok(r) => {
            let status = if r.refused > 0 || r.problem.is_some() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            (Some(r), None, status)
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            (None, Some(e.message(lang)), e.status)
        }
        Err(e) => return Err(e),
    };
    let mut r = render(&WorkersPage {
        l: Layout::new(Some(&caller)),
        report,
        error,
    });
    *r.status_mut() = status;
    Ok(r)
}
