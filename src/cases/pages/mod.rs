//! Pages for cases: the resident's report form and "my cases" (mobile first), the workers'
//! queues by state with late cases first, the case page with its timeline, map and actions
//! (the dispatcher's screen for new cases), the handler's inbox, a map of open cases over
//! the grid polygons, and per-organisation figures.

use std::sync::Arc;

use crate::http::{Path, Query};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::http::{CaseRequest, channels_for, detail, intake, street_of, take_step};
use super::lifecycle::{Action, Step};
use super::{Category, Channel, FieldType, Filter, OrgFigures, Viewer, notify};
use crate::http::{ApiForm, MaybeSigned, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::org::Caller;
use crate::state::AppState;
use crate::web::Layout;
use crate::web::map;

mod batch;
mod draft;

mod case;
mod catalogue;
mod figures;
mod inbox;
mod map_page;
mod new_case;
mod own;
mod queue;
mod tasks;

use case::*;
use catalogue::*;
use figures::*;
use inbox::*;
use map_page::*;
use new_case::*;
use queue::*;

pub use case::waits_on_text;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/cases", get(list_page))
        .route("/cases/batch", post(batch::batch_submit))
        .route(
            "/cases/new",
            get(new_form)
                .post(new_submit)
                .layer(axum::extract::DefaultBodyLimit::max(
                    REPORT_PHOTOS * super::photos::MAX_BYTES + 256 * 1024,
                )),
        )
        .route("/cases/map", get(map_page))
        .route("/static/cases.js", get(asset_js))
        .route("/static/cases.css", get(asset_css))
        .route("/cases/figures", get(figures_page))
        .route("/cases/{id}", get(case_page))
        .route("/cases/{id}/step", post(step_submit))
        .route("/cases/{id}/reveal", post(reveal_submit))
        .route("/cases/{id}/tasks", post(tasks::task_submit))
        .route(
            "/cases/{id}/tasks/{task_id}/step",
            post(tasks::task_step_submit),
        )
        .route(
            "/cases/{id}/consultations",
            post(tasks::consultation_submit),
        )
        .route("/cases/{id}/update", post(own::update_submit))
        .route(
            "/cases/{id}/photos/{pid}/approve",
            post(own::approve_submit),
        )
        .route(
            "/cases/{id}/photos",
            post(photo_submit).layer(axum::extract::DefaultBodyLimit::max(
                super::photos::MAX_BYTES + 64 * 1024,
            )),
        )
        .route("/cases/catalogue", get(catalogue_page))
        .route("/cases/catalogue/{code}", post(catalogue_save))
        .route("/inbox", get(inbox_page))
        .route("/inbox/{id}/read", post(inbox_read))
        .route("/inbox/read-all", post(inbox_read_all))
}

/// The report form's script (category tiles without a reload, places by name) and the case
/// pages' styles (tiles, the primary step), served from the binary.
const CASES_JS: &str = include_str!("../../../static/cases.js");
const CASES_CSS: &str = include_str!("../../../static/cases.css");

async fn asset_js() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CASES_JS,
    )
}

async fn asset_css() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CASES_CSS,
    )
}

fn render(t: &impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => AppError::internal("rendering a page", e).into_response(),
    }
}

/// A time as people here write it: 2026-11-23 19:05 (China Standard Time).
pub fn when(ms: i64) -> String {
    crate::kernel::time::local_time(ms)
}

/// A case as a row of a queue.
pub struct Row {
    pub id: i64,
    pub category: String,
    pub state: String,
    pub description: String,
    pub place: String,
    pub due: String,
    pub overdue: bool,
    pub level: i64,
    pub handler: String,
    /// Closed, waiting for the viewer's rating (they reported it).
    pub to_rate: bool,
    /// Whom it waits on, in words (filled by the queue).
    pub waits: String,
    /// It waits on the viewer.
    pub waits_me: bool,
}

/// The rows of a case list, as `viewer` (a user id) sees them.
pub fn rows(cases: &[super::Case], t: Tr, viewer: i64) -> Vec<Row> {
    cases
        .iter()
        .map(|c| Row {
            id: c.id.0,
            category: c.category_name(t.0).to_string(),
            state: c.state.as_str().to_string(),
            description: c.description.chars().take(60).collect(),
            place: c.place_name.clone(),
            due: match c.clock.as_str() {
                "accept" | "resolve" => c.due_at.map(when).unwrap_or_default(),
                _ => String::new(),
            },
            overdue: c.overdue,
            level: c.level,
            handler: c
                .handler_org_name
                .clone()
                .or(c.handler_user_name.clone())
                .unwrap_or_default(),
            to_rate: c.state == super::State::Closed && c.reporter_id == Some(viewer),
            waits: String::new(),
            waits_me: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{FieldDef, FieldType};
    use crate::kernel::i18n::Lang;

    fn field(key: &str, kind: FieldType, zh: &str, en: &str) -> FieldDef {
        FieldDef {
            key: key.into(),
            kind,
            label_zh: zh.into(),
            label_en: en.into(),
            required: false,
            options: Vec::new(),
        }
    }

    #[test]
    fn extra_fields_show_by_their_labels_in_the_categorys_order() {
        let fields = [
            field("stairwell", FieldType::Number, "单元号", "Stairwell"),
            field(
                "trapped",
                FieldType::Single,
                "是否有人被困",
                "Anyone trapped",
            ),
            field("kinds", FieldType::Multi, "类型", "Kinds"),
        ];
        let extra = serde_json::json!({
            "trapped": "否", "stairwell": 3.0, "kinds": ["门", "按钮"], "old_field": 2.5
        });
        assert_eq!(
            super::extra_rows(&extra, &fields, Lang::Zh),
            vec![
                ("单元号".to_string(), "3".to_string()),
                ("是否有人被困".into(), "否".into()),
                ("类型".into(), "门、按钮".into()),
                ("old_field".into(), "2.5".into()),
            ]
        );
        assert_eq!(
            super::extra_rows(&extra, &fields, Lang::En)[1].0,
            "Anyone trapped"
        );
        assert!(super::extra_rows(&serde_json::Value::Null, &fields, Lang::Zh).is_empty());
    }
}
