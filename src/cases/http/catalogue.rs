//! The service catalogue and the working calendar over the API.

use super::*;

/// The service catalogue of the caller's street.
#[utoipa::path(get, path = "/api/v1/case-categories", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = [Category]), (status = 401, body = ErrorBody)))]
pub async fn list_categories(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Category>>> {
    let street = street_of(&caller)?;
    Ok(Json(
        state
            .db
            .read(move |c| crate::cases::categories(c, street))
            .await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct CreatedId {
    pub id: i64,
}

/// Adds a category, or replaces the one with the same code (street administrators).
#[utoipa::path(post, path = "/api/v1/case-categories", tag = "cases", request_body = NewCategory, security(("bearer" = [])),
    responses((status = 200, body = CreatedId), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn save_category(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(k): ApiJson<NewCategory>,
) -> AppResult<Json<CreatedId>> {
    let street = crate::org::access::street_admin(&caller)?;
    let id = state
        .db
        .write_tx(move |c| crate::cases::save_category(c, street, &k))
        .await
        .map_err(AppError::from)?;
    Ok(Json(CreatedId { id }))
}

#[derive(Deserialize, ToSchema)]
pub struct RouteRequest {
    /// The place (and everything under it) the organisation is responsible at.
    pub place_id: i64,
    pub org_id: i64,
}

/// Makes an organisation responsible for a category at a place (street administrators).
#[utoipa::path(post, path = "/api/v1/case-categories/{id}/routes", tag = "cases", request_body = RouteRequest,
    params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_category_route(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<RouteRequest>,
) -> AppResult<StatusCode> {
    let street = crate::org::access::street_admin(&caller)?;
    state
        .db
        .write_tx(move |c| -> Result<(), CaseError> {
            crate::cases::category_by_id(c, id)?
                .filter(|k| k.street_id == street)
                .ok_or(CaseError::NotFound)?;
            if !crate::cases::org_in_street(c, r.org_id, street)? {
                return Err(CaseError::Invalid("case.err_org"));
            }
            if !crate::cases::place_in_street(c, r.place_id, street)? {
                return Err(CaseError::Invalid("case.err_place"));
            }
            crate::cases::set_route(c, id, r.place_id, r.org_id)?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The exceptions to the working week in one year (holidays, make-up working days).
#[utoipa::path(get, path = "/api/v1/calendar/{year}", tag = "cases", params(("year" = i32, Path)),
    security(("bearer" = [])), responses((status = 200, body = [CalendarDay])))]
pub async fn get_calendar(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(year): Path<i32>,
) -> AppResult<Json<Vec<CalendarDay>>> {
    let street = street_of(&caller)?;
    Ok(Json(
        state
            .db
            .read(move |c| calendar::year(c, street, year))
            .await?,
    ))
}

/// Replaces a year's exceptions (street administrators). Deadlines set afterwards use it.
#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "cases", params(("year" = i32, Path)),
    request_body = [CalendarDay], security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_calendar(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(year): Path<i32>,
    ApiJson(days): crate::http::ApiJsonList<Vec<CalendarDay>>,
) -> AppResult<StatusCode> {
    let street = crate::org::access::street_admin(&caller)?;
    if !(2000..=2100).contains(&year) || calendar::check_year(year, &days).is_err() {
        return Err(AppError::invalid("case.err_calendar"));
    }
    state
        .db
        .write(move |c| calendar::set_year(c, street, year, &days))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
