//! The figures of an organisation's cases over the API.

use super::*;

/// The period the figures cover.
#[derive(Deserialize, utoipa::IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct FiguresQuery {
    /// Only cases reported in the last this many days (1–3660); every case when absent.
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    pub days: Option<i64>,
}

impl FiguresQuery {
    /// The earliest report time counted, if any.
    pub fn since(&self, now: i64) -> AppResult<Option<i64>> {
        match self.days {
            None => Ok(None),
            Some(d) if (1..=3660).contains(&d) => Ok(Some(now - d * 86_400_000)),
            Some(_) => Err(AppError::invalid("case.err_days")),
        }
    }
}

/// Per-organisation figures of the caller's street: on-time rate, median time to resolve,
/// satisfaction; of every case, or of those reported in the last `days`.
#[utoipa::path(get, path = "/api/v1/cases/figures", tag = "cases", params(FiguresQuery), security(("bearer" = [])),
    responses((status = 200, body = crate::cases::FiguresReport), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn org_figures(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<FiguresQuery>,
) -> AppResult<Json<crate::cases::FiguresReport>> {
    let since = q.since(now_ms())?;
    Ok(Json(
        crate::cases::figures::for_caller(&state, &caller, since).await?,
    ))
}

impl Caller {
    /// Works with cases beyond their own reports.
    pub fn browses_cases(&self) -> bool {
        Viewer::of(self).is_worker()
    }
}
