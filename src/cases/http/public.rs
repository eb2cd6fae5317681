//! What residents do about the reports around them, over the API: open reports of a category
//! near a place (before reporting), "me too", the reporter's updates, and a worker's approval
//! of a photo for the public page.

use super::*;
use crate::cases::public::{self as public, PublicQuery, PublicReport};

fn change_entry(caller: &Caller, street: i64, what: &str, id: i64) -> NewEntry {
    let mut e = NewEntry::by(caller, audit::Action::Change)
        .subjects([format!("case:{id}")])
        .purpose(crate::kernel::i18n::both(
            &format!("case.purpose.{what}"),
            &[("id", &id)],
        ));
    e.street_id = Some(street);
    e
}

#[derive(Deserialize, ToSchema, utoipa::IntoParams)]
pub struct SimilarQuery {
    /// The category's code.
    pub category: String,
    /// The place reported at (a building, a grid, a community).
    pub place_id: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// Open reports of a category near a place a resident is about to report at: in the same
/// building, or within 200 m of the point, among the places she reads.
pub async fn similar(
    state: &AppState,
    caller: &Caller,
    q: SimilarQuery,
) -> AppResult<Vec<PublicReport>> {
    let street = street_of(caller)?;
    let lang = crate::kernel::ctx().lang;
    let now = now_ms();
    let caller = caller.clone();
    Ok(state
        .db
        .read(move |c| {
            let paths = public::reader_paths(c, &caller)?;
            if paths.is_empty() {
                return Ok(Vec::new());
            }
            let building = match q.place_id {
                Some(p) => public::building_of(c, p)?,
                None => None,
            };
            if building.is_none() && q.lat.zip(q.lon).is_none() {
                return Ok(Vec::new());
            }
            let query = PublicQuery {
                street_id: street,
                paths,
                category: Some(q.category.clone()),
                ids: Vec::new(),
            };
            public::near(c, &query, building, q.lat.zip(q.lon), lang, now)
        })
        .await?)
}

/// Open published reports of a category near a place (before reporting, so that a resident
/// can say "me too" instead of reporting it again). No personal data: the building at most.
#[utoipa::path(get, path = "/api/v1/cases/similar", tag = "cases", params(SimilarQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PublicReport>), (status = 401, body = ErrorBody)))]
pub async fn similar_cases(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    crate::http::Query(q): crate::http::Query<SimilarQuery>,
) -> AppResult<Json<Vec<PublicReport>>> {
    Ok(Json(similar(&state, &caller, q).await?))
}

/// The published report `id` if the caller reads its place.
pub async fn readable(state: &AppState, caller: &Caller, id: i64) -> AppResult<PublicReport> {
    let street = street_of(caller).map_err(|_| AppError::not_found())?;
    let lang = crate::kernel::ctx().lang;
    let now = now_ms();
    let caller = caller.clone();
    state
        .db
        .read(move |c| {
            let paths = public::reader_paths(c, &caller)?;
            Ok(public::report(c, street, id, lang, now)?
                .filter(|r| crate::org::Scope::covers(&paths, &r.place_path)))
        })
        .await?
        .ok_or_else(AppError::not_found)
}

/// "Me too" on an open published report the caller reads: counted once per account, never
/// by its reporter. Returns the count after it.
pub async fn support(state: &AppState, caller: &Caller, id: i64) -> AppResult<i64> {
    let report = readable(state, caller, id).await?;
    let street = street_of(caller)?;
    let user = caller.user_id;
    let now = now_ms();
    let n = state
        .db
        .write_tx(move |c| public::support(c, &report, street, user, now))
        .await?;
    state
        .audit
        .record(change_entry(caller, street, "support", id))
        .await?;
    Ok(n)
}

/// How many residents support a report.
#[derive(Serialize, ToSchema)]
pub struct SupportCount {
    pub supports: i64,
}

/// "Me too": the caller has the same problem as this open report (counted once per account;
/// its reporter cannot support her own).
#[utoipa::path(post, path = "/api/v1/cases/{id}/supports", tag = "cases", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 201, body = SupportCount), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn support_case(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<(StatusCode, Json<SupportCount>)> {
    let supports = support(&state, &caller, id).await?;
    Ok((StatusCode::CREATED, Json(SupportCount { supports })))
}

/// The reporter's update on her open report, on its timeline; its handlers are told.
pub async fn update(state: &AppState, caller: &Caller, id: i64, text: String) -> AppResult<()> {
    let now = now_ms();
    let (user, name) = (caller.user_id, caller.display_name.clone());
    let street = state
        .db
        .write_tx(move |c| -> Result<i64, CaseError> {
            let case = crate::cases::get(c, id, now)?.ok_or(CaseError::NotFound)?;
            public::add_update(c, &case, user, &name, &text, now)?;
            Ok(case.street_id)
        })
        .await?;
    state
        .audit
        .record(change_entry(caller, street, "update", id))
        .await?;
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct CaseUpdateRequest {
    /// What she has to add, at most 1,000 characters.
    pub text: String,
}

/// The reporter adds an update to her open report (photos through `POST
/// /api/v1/cases/{id}/photos`); to say "still not fixed" after closing, she reopens it
/// (`POST /api/v1/cases/{id}/transitions` with `reopen`, within 30 days of closing).
#[utoipa::path(post, path = "/api/v1/cases/{id}/updates", tag = "cases", params(("id" = i64, Path)),
    request_body = CaseUpdateRequest, security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn update_case(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CaseUpdateRequest>,
) -> AppResult<StatusCode> {
    update(&state, &caller, id, r.text).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A worker who dispatches or verifies the case approves a photo its reporter allowed for the
/// public page.
pub async fn approve(state: &AppState, caller: &Caller, id: i64, pid: i64) -> AppResult<()> {
    let viewer = Viewer::of(caller);
    let now = now_ms();
    let by = caller.user_id;
    let street = state
        .db
        .write_tx(move |c| -> Result<i64, CaseError> {
            let case = crate::cases::get(c, id, now)?.ok_or(CaseError::NotFound)?;
            let actors = viewer.actors(&case);
            if actors.is_empty() {
                return Err(CaseError::NotFound);
            }
            if !actors
                .iter()
                .any(|a| matches!(a, lifecycle::Actor::Dispatcher | lifecycle::Actor::Verifier))
            {
                return Err(CaseError::Forbidden(crate::cases::Why::Key(
                    "case.err_photo_approve",
                )));
            }
            public::approve_photo(c, id, pid, by, now)?;
            Ok(case.street_id)
        })
        .await?;
    state
        .audit
        .record(change_entry(caller, street, "approve_photo", id))
        .await?;
    Ok(())
}

/// Approves a photo for the public page (faces and plates checked): only one its reporter
/// allowed; by a worker who dispatches or verifies the case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/photos/{pid}/approve", tag = "cases",
    params(("id" = i64, Path), ("pid" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn approve_case_photo(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, pid)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    approve(&state, &caller, id, pid).await?;
    Ok(StatusCode::NO_CONTENT)
}
