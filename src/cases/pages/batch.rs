//! Batch steps from the queue: the ticked cases signed for (签收) or dispatched (派单, or
//! 受理并派单) at once, each checked and recorded as if taken alone, and a page listing what
//! happened to each.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::render;
use crate::cases::http::{BatchRequest, batch};
use crate::cases::lifecycle::Action;
use crate::http::{ApiForm, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::state::AppState;
use crate::web::Layout;

/// One case's line on the result page.
struct ResultView {
    id: i64,
    ok: bool,
    /// The state it is in now, or why the step was refused.
    text: String,
}

#[derive(Template)]
#[template(path = "cases/batch.html")]
struct BatchPage {
    l: Layout,
    action: &'static str,
    done: usize,
    results: Vec<ResultView>,
}

/// `POST /cases/batch`: the queue's ticked cases (`id`, repeated), the step (`sign_for`,
/// `dispatch`, `accept+dispatch`) and, for a dispatch, the organisation.
pub(super) async fn batch_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    check_csrf(&caller, &get("csrf"))?;
    let step = get("step");
    let (code, dispatch) = match step.split_once('+') {
        Some((a, "dispatch")) => (a.to_string(), true),
        _ => (step.clone(), false),
    };
    let action = Action::parse(&code).ok_or_else(|| AppError::invalid("case.err_batch_action"))?;
    let ids = form
        .iter()
        .filter(|(k, _)| k == "id")
        .filter_map(|(_, v)| v.trim().parse::<i64>().ok())
        .collect();
    let out = batch(
        &state,
        &caller,
        BatchRequest {
            action,
            ids,
            note: String::new(),
            org_id: get("org_id").parse().ok(),
            user_id: None,
            dispatch,
        },
    )
    .await?;
    let t = Tr(ctx().lang);
    let results = out
        .results
        .into_iter()
        .map(|r| ResultView {
            id: r.id,
            ok: r.ok,
            text: match r.state {
                Some(s) => t.k("case.state", s.as_str()).to_string(),
                None => r.message.unwrap_or_default(),
            },
        })
        .collect();
    Ok(render(
        &BatchPage {
            l: Layout::new(Some(&caller)),
            action: t.k(
                "case.action",
                if dispatch {
                    "accept_dispatch"
                } else {
                    action.as_str()
                },
            ),
            done: out.done,
            results,
        },
        StatusCode::OK,
    ))
}
