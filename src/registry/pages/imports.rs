//! The import page: an upload, its progress, and the refused rows.

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/imports",
            get(imports_page)
                .post(import_upload)
                .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024)),
        )
        .route("/imports/jobs/{id}", get(import_job_page))
        .route("/imports/jobs/{id}/progress", get(import_job_progress))
        .route("/imports/jobs/{id}/refused.xlsx", get(import_job_refused))
}

use crate::http::Path;
use crate::http::{Signed, check_csrf};
use crate::kernel::Code;
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "registry/imports.html")]
pub(crate) struct ImportsPage {
    l: Layout,
    scope: String,
    report: Option<crate::registry::import::Report>,
    error: Option<String>,
    /// The job the page reports on.
    job: Option<JobView>,
    /// A job from before a restart, as its row keeps it.
    stored: Option<crate::registry::import_jobs::Stored>,
}

pub(crate) struct JobView {
    id: String,
    file_name: String,
    apply: bool,
    done: usize,
    total: usize,
    writing: bool,
    running: bool,
}

impl ImportsPage {
    fn percent(&self) -> usize {
        match &self.job {
            Some(j) if j.total > 0 => j.done * 100 / j.total,
            _ => 0,
        }
    }
}

pub(crate) async fn imports_page(Signed(caller): Signed) -> AppResult<Response> {
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    Ok(render(&ImportsPage {
        l: Layout::new(Some(&caller)),
        scope: caller.scope.registry.first().cloned().unwrap_or_default(),
        report: None,
        error: None,
        job: None,
        stored: None,
    }))
}

/// The upload form: a dry run unless "apply" was ticked. The file is read, checked and (when
/// applied) written all at once; the page then shows the report.
pub(crate) async fn import_upload(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    mut form: axum::extract::Multipart,
) -> AppResult<Response> {
    use crate::registry::import;
    if !caller.reads_registry() {
        return Err(AppError::forbidden());
    }
    let (mut csrf, mut scope, mut apply, mut file, mut name) = (
        String::new(),
        String::new(),
        false,
        Vec::new(),
        String::new(),
    );
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "scope" => scope = field.text().await.unwrap_or_default().trim().to_string(),
            "apply" => apply = true,
            "file" => {
                name = field.file_name().unwrap_or("").to_ascii_lowercase();
                file = field
                    .bytes()
                    .await
                    .map_err(|_| {
                        AppError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            Code::TooLarge,
                            "error.too_large",
                        )
                    })?
                    .to_vec();
            }
            _ => {}
        }
    }
    check_csrf(&caller, &csrf)?;
    let page = |report, error: Option<String>| ImportsPage {
        l: Layout::new(Some(&caller)),
        scope: scope.clone(),
        report,
        error,
        job: None,
        stored: None,
    };
    let t = Tr(ctx().lang);
    if !crate::org::Scope::covers(&caller.scope.registry, &scope) {
        let mut res = render(&page(None, Some(t.s("error.place_not_found").into())));
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    if file.is_empty() {
        let mut res = render(&page(None, Some(t.s("import.no_file").into())));
        *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(res);
    }
    let xlsx = name.ends_with(".xlsx") || file.starts_with(b"PK");
    let sheet = match import::read(&file, xlsx) {
        Ok(s) => s,
        Err(e) => {
            let mut res = render(&page(None, Some(e.to_string())));
            *res.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(res);
        }
    };
    let job = crate::registry::import_jobs::create(
        caller.user_id,
        scope.clone(),
        apply,
        name.clone(),
        sheet,
    );
    {
        let (j, street, me) = (job.clone(), caller.street_id, state.instance.clone());
        state
            .db
            .write(move |c| {
                crate::registry::import_jobs::record(c, &j, street, &me, crate::store::now_ms())
            })
            .await?;
    }
    {
        let (state, job, caller) = (state.clone(), job.clone(), caller.clone());
        tokio::spawn(async move {
            use crate::registry::import_jobs::JobState;
            let (keys, j2) = (state.keys.clone(), job.clone());
            let result = state
                .db
                .write_tx(move |c| -> AppResult<_> {
                    let who = import::Importer {
                        actor: Some(&caller),
                        source: "import",
                    };
                    Ok(import::import(
                        c,
                        &keys,
                        &j2.scope,
                        &j2.sheet,
                        !j2.apply,
                        &who,
                        &mut |done, total| j2.progress(done, total),
                    )?)
                })
                .await;
            let end = match result {
                Ok(Ok(report)) => JobState::Done(Box::new(report)),
                Ok(Err(e)) => JobState::Failed(e.to_string()),
                Err(e) => {
                    tracing::error!(error = %e.message(crate::kernel::i18n::Lang::En), "an import from the page failed");
                    JobState::Failed(e.message(crate::kernel::i18n::Lang::Zh))
                }
            };
            let (id, recorded) = (job.id.clone(), end.clone());
            if let Err(e) = state
                .db
                .write(move |c| {
                    crate::registry::import_jobs::record_end(
                        c,
                        &id,
                        &recorded,
                        crate::store::now_ms(),
                    )
                })
                .await
            {
                tracing::error!(error = %e, "recording the end of an import failed");
            }
            job.set(end);
        });
    }
    // A small file is done before a person notices; a large one shows its progress.
    job.wait(std::time::Duration::from_secs(3)).await;
    Ok(Redirect::to(&format!("/imports/jobs/{}", job.id)).into_response())
}

/// A job this process no longer holds (it restarted since), as its row keeps it.
pub(crate) async fn stored_job(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> AppResult<crate::registry::import_jobs::Stored> {
    let (id, owner) = (id.to_string(), caller.user_id);
    state
        .db
        .read(move |c| crate::registry::import_jobs::load(c, &id, owner))
        .await?
        .ok_or_else(AppError::not_found)
}

pub(crate) async fn import_job_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    use crate::registry::import_jobs::JobState;
    let Some(job) = crate::registry::import_jobs::get(&id, caller.user_id) else {
        let stored = stored_job(&state, &caller, &id).await?;
        let mut res = render(&ImportsPage {
            l: Layout::new(Some(&caller)),
            scope: stored.scope.clone(),
            report: None,
            error: None,
            job: None,
            stored: Some(stored.clone()),
        });
        if stored.state == "interrupted" || stored.state == "failed" {
            *res.status_mut() = StatusCode::BAD_REQUEST;
        }
        return Ok(res);
    };
    let st = job.state();
    let (report, error) = match &st {
        JobState::Done(r) => (Some((**r).clone()), None),
        JobState::Failed(e) => (None, Some(e.clone())),
        _ => (None, None),
    };
    let view = JobView {
        id: job.id.clone(),
        file_name: job.file_name.clone(),
        apply: job.apply,
        done: job.done.load(std::sync::atomic::Ordering::Relaxed),
        total: job.total.load(std::sync::atomic::Ordering::Relaxed),
        writing: matches!(st, JobState::Writing),
        running: matches!(st, JobState::Checking | JobState::Writing),
    };
    let mut res = render(&ImportsPage {
        l: Layout::new(Some(&caller)),
        scope: job.scope.clone(),
        report,
        error,
        job: Some(view),
        stored: None,
    });
    if matches!(st, JobState::Failed(_)) {
        *res.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(res)
}

#[derive(serde::Serialize)]
pub(crate) struct JobProgress {
    state: &'static str,
    done: usize,
    total: usize,
}

/// How far a job is, for the page's progress bar.
pub(crate) async fn import_job_progress(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<String>,
) -> AppResult<axum::Json<JobProgress>> {
    let Some(job) = crate::registry::import_jobs::get(&id, caller.user_id) else {
        let stored = stored_job(&state, &caller, &id).await?;
        let total = stored.total.max(0) as usize;
        return Ok(axum::Json(JobProgress {
            state: match stored.state.as_str() {
                "done" => "done",
                "checking" => "checking",
                "writing" => "writing",
                // Failed and interrupted jobs end the same way for the progress bar.
                _ => "failed",
            },
            done: if stored.state == "done" { total } else { 0 },
            total,
        }));
    };
    Ok(axum::Json(JobProgress {
        state: job.state().as_str(),
        done: job.done.load(std::sync::atomic::Ordering::Relaxed),
        total: job.total.load(std::sync::atomic::Ordering::Relaxed),
    }))
}

/// The refused rows of a finished job, as they were plus a reason column.
pub(crate) async fn import_job_refused(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    use crate::registry::import_jobs::JobState;
    let Some(job) = crate::registry::import_jobs::get(&id, caller.user_id) else {
        stored_job(&state, &caller, &id).await?;
        return Err(AppError::new(
            StatusCode::GONE,
            Code::Gone,
            "import.refused_gone",
        ));
    };
    let JobState::Done(report) = job.state() else {
        return Err(AppError::not_found());
    };
    let rows = crate::registry::import::refused_table(&job.sheet, &report);
    let bytes = crate::registry::export::xlsx(&rows, "refused")
        .map_err(|e| AppError::internal("writing the refused rows", e))?;
    Ok(crate::http::file_response("linli-refused-rows.xlsx", bytes))
}
