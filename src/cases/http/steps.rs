//! Acting on cases over the API: one step, a batch, and the places a case may be moved to.

use super::*;

/// Takes one step as a signed-in caller (an accept with `dispatch` takes the dispatch too, in
/// the same transaction), and returns the case's state after it. Closing a case clears the
/// sensor alert that opened it, and the live alert streams hear of it once the step is
/// committed.
pub async fn take_step(
    state: &AppState,
    caller: &Caller,
    id: i64,
    step: Step,
) -> AppResult<lifecycle::State> {
    if step.dispatch && step.action != Action::Accept && step.action != Action::Dispatch {
        return Err(AppError::invalid("case.err_dispatch_with"));
    }
    let viewer = Viewer::of(caller);
    let now = now_ms();
    let (to, effects) = state
        .db
        .write_tx(move |c| -> Result<_, CaseError> {
            let case = crate::cases::get(c, id, now)?.ok_or(CaseError::NotFound)?;
            let actors = viewer.actors(&case);
            if actors.is_empty() {
                return Err(CaseError::NotFound);
            }
            let who = ActorRef {
                user_id: Some(viewer.user_id),
                name: viewer.name.clone(),
                actors,
                orgs: viewer.orgs.clone(),
            };
            let applied = lifecycle::apply(c, &case, &who, &step, now)?;
            if step.action != Action::Accept || !step.dispatch {
                return Ok((applied.to, applied.effects));
            }
            // 受理并派单: the dispatch, on the case as the accept left it.
            let accepted = crate::cases::get(c, id, now)?.ok_or(CaseError::NotFound)?;
            let dispatch = Step {
                org_id: step.org_id,
                user_id: step.user_id,
                ..Step::new(Action::Dispatch, "")
            };
            let then = lifecycle::apply(c, &accepted, &who, &dispatch, now)?;
            Ok((then.to, then.effects))
        })
        .await?;
    crate::cases::hooks::committed(state, effects);
    Ok(to)
}

/// Steps that may be taken on many cases at once.
pub(super) const BATCH_ACTIONS: [Action; 3] = [Action::SignFor, Action::Dispatch, Action::Accept];

/// Cases one batch may carry.
pub const BATCH_MAX: usize = 100;

/// One step on many cases: 签收 for handlers, 派单 (or 受理并派单) for dispatchers.
#[derive(Deserialize, ToSchema)]
pub struct BatchRequest {
    /// sign_for, dispatch, or accept (with `dispatch: true` to dispatch too).
    pub action: Action,
    /// The cases, at most 100.
    pub ids: Vec<i64>,
    #[serde(default)]
    pub note: String,
    /// dispatch: the organisation (defaults to each case's routing suggestion).
    #[serde(default)]
    pub org_id: Option<i64>,
    /// dispatch: a user to handle them directly.
    #[serde(default)]
    pub user_id: Option<i64>,
    /// accept: dispatch at once too.
    #[serde(default)]
    pub dispatch: bool,
}

/// What a batch did to one case.
#[derive(Serialize, ToSchema)]
pub struct BatchResult {
    pub id: i64,
    pub ok: bool,
    /// The case's state after the step, when it was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<lifecycle::State>,
    /// Why not, when it was refused: the error's code (`not_found`, `forbidden`,
    /// `state_conflict`, `invalid`) and message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<crate::kernel::Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BatchOutcome {
    /// One per case, in the order asked.
    pub results: Vec<BatchResult>,
    /// How many were taken.
    pub done: usize,
}

/// Takes one step on many cases, each checked and recorded as if taken alone (its own
/// transaction, its timeline, its notifications): one refused does not stop the others.
pub async fn batch(state: &AppState, caller: &Caller, r: BatchRequest) -> AppResult<BatchOutcome> {
    if !BATCH_ACTIONS.contains(&r.action) || (r.dispatch && r.action != Action::Accept) {
        return Err(AppError::invalid("case.err_batch_action"));
    }
    let mut ids = Vec::new();
    for id in r.ids {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > BATCH_MAX {
        return Err(AppError::invalid("case.err_batch_ids"));
    }
    let lang = crate::kernel::ctx().lang;
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        let step = Step {
            org_id: r.org_id,
            user_id: r.user_id,
            dispatch: r.dispatch,
            ..Step::new(r.action, &r.note)
        };
        results.push(match take_step(state, caller, id, step).await {
            Ok(to) => BatchResult {
                id,
                ok: true,
                state: Some(to),
                code: None,
                message: None,
            },
            Err(e) if e.status.is_client_error() => BatchResult {
                id,
                ok: false,
                state: None,
                message: Some(e.message(lang)),
                code: Some(e.code),
            },
            Err(e) => return Err(e),
        });
    }
    let done = results.iter().filter(|x| x.ok).count();
    Ok(BatchOutcome { results, done })
}

/// Takes one step on many cases: `{"action": "sign_for", "ids": [..]}` for a handler's 签收,
/// `{"action": "dispatch", "ids": [..], "org_id": N}` for a dispatcher's 派单. Each case is
/// checked and recorded as if the step were taken on it alone; the answer lists each case's
/// outcome (a case out of the caller's sight is `not_found`).
#[utoipa::path(post, path = "/api/v1/cases/batch", tag = "cases", request_body = BatchRequest, security(("bearer" = [])),
    responses((status = 200, body = BatchOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn batch_cases(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiJson(r): ApiJson<BatchRequest>,
) -> AppResult<Json<BatchOutcome>> {
    Ok(Json(batch(&state, &caller, r).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlacesQuery {
    /// Words of a building's, grid's or community's name (at least one character).
    #[serde(default)]
    pub q: String,
}

/// Places of the caller's street by name, for the report form: buildings, grids and
/// communities whose name contains the words, each with the names of the places above it
/// (社区 › 网格 › 楼), at most 20.
#[utoipa::path(get, path = "/api/v1/cases/places", tag = "cases", params(PlacesQuery), security(("bearer" = [])),
    responses((status = 200, body = [crate::cases::PlaceFound]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn find_places(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<PlacesQuery>,
) -> AppResult<Json<Vec<crate::cases::PlaceFound>>> {
    let street = street_of(&caller)?;
    let words = q.q.trim().to_string();
    if words.is_empty() || words.chars().count() > 50 {
        return Err(AppError::invalid("case.err_place_words"));
    }
    Ok(Json(
        state
            .db
            .read(move |c| crate::cases::find_places(c, street, &words, 20))
            .await?,
    ))
}

/// Takes a step of the lifecycle: `{"action": "accept" | "dispatch" | ..., "note": ...}`.
/// A step the caller's role may not take is refused with 403, one the case's state does not
/// allow with 409; each message says why.
#[utoipa::path(post, path = "/api/v1/cases/{id}/transitions", tag = "cases", params(("id" = i64, Path)),
    request_body = Step, security(("bearer" = [])),
    responses((status = 200, body = CaseDetail), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn transition(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(step): ApiJson<Step>,
) -> AppResult<Json<CaseDetail>> {
    take_step(&state, &caller, id, step).await?;
    Ok(Json(detail(&state, &caller, id).await?))
}
