//! Reading cases over the API: lists, one case, and revealing what a case masks.

use super::*;

/// Cases the caller may see, late ones first: a handler sees the cases dispatched to their
/// organisation, a resident their own, workers those of their area. When more follow, the
/// `Link` header gives the next page (`rel="next"`, the same query with `after`).
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(Filter), security(("bearer" = [])),
    responses((status = 200, body = [Case],
        headers(("Link" = String, description = "`</api/v1/cases?…&after=KEY>; rel=\"next\"` when more cases follow"))),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_cases(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(f): Query<Filter>,
    uri: axum::http::Uri,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let viewer = Viewer::of(&caller);
    let now = now_ms();
    let (out, next) = state
        .db
        .read(move |c| Ok(crate::cases::page(c, &viewer, &f, now)))
        .await??;
    let mut res = Json(out).into_response();
    crate::http::link_next(&mut res, &uri, next.as_deref());
    Ok(res)
}

#[derive(Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: Case,
    /// Every step, oldest first.
    pub timeline: Vec<Event>,
    /// The steps the caller may take now.
    pub actions: Vec<Action>,
    /// The caller's roles towards this case.
    pub roles: Vec<lifecycle::Actor>,
    pub photos: Vec<crate::cases::photos::Photo>,
    /// Residents who said "me too" on it.
    pub supports: i64,
}

/// Loads a case the caller may see, with its timeline; writes an audit entry when the
/// reporter's contact is shown (to the workers who must call back).
pub async fn detail(state: &AppState, caller: &Caller, id: i64) -> AppResult<CaseDetail> {
    let viewer = Viewer::of(caller);
    let now = now_ms();
    let (mut case, (timeline, photos, supports)) = state
        .db
        .read(move |c| {
            let Some(case) = crate::cases::get(c, id, now)? else {
                return Ok(None);
            };
            let ev = crate::cases::events(c, id)?;
            let photos = crate::cases::photos::of_case(c, id)?;
            let supports = crate::cases::public::supports(c, id)?;
            Ok(Some((case, (ev, photos, supports))))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let roles = viewer.actors(&case);
    let follows = if roles.is_empty() {
        let uid = caller.user_id;
        state
            .db
            .read(move |c| crate::cases::follows(c, id, uid))
            .await?
    } else {
        false
    };
    if roles.is_empty() && !follows {
        return Err(AppError::not_found());
    }
    let worker = roles
        .iter()
        .any(|r| !matches!(r, lifecycle::Actor::Reporter));
    if worker && !case.contact.is_empty() {
        let mut subjects = vec![format!("case:{}", case.id.0)];
        subjects.extend(case.reporter_id.map(audit::user));
        state
            .audit
            .record(
                NewEntry::by(caller, audit::Action::Read)
                    .subjects(subjects)
                    .purpose("case"),
            )
            .await?;
        case.reporter_contact = Some(case.contact.masked.clone());
    }
    // Numbers typed into the text are masked for all but who typed them ([`reveal`] shows
    // them, audited).
    case.mask_free_text(caller.user_id);
    let timeline = timeline
        .into_iter()
        .map(|mut e| {
            if e.actor_id != Some(caller.user_id) {
                e.note = crate::privacy::mask::free_text(&e.note);
            }
            e
        })
        .collect();
    let actions = lifecycle::offered(&case, &roles, viewer.user_id, &viewer.orgs);
    Ok(CaseDetail {
        case,
        timeline,
        actions,
        roles,
        photos,
        supports,
    })
}

#[derive(Deserialize, ToSchema)]
pub struct CaseRevealRequest {
    /// home_visit, service, emergency, verification or other (then with a note).
    pub purpose: String,
    #[serde(default)]
    pub note: String,
}

/// A case's personal data in full, as a reveal shows it.
#[derive(Serialize, ToSchema)]
pub struct CaseRevealed {
    /// The reporter's phone or e-mail, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter_contact: Option<String>,
    /// The description, the exact spot and the rating comment as written.
    pub description: String,
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_comment: Option<String>,
    /// The timeline's notes as written, by event.
    pub notes: Vec<RevealedNote>,
}

#[derive(Serialize, ToSchema)]
pub struct RevealedNote {
    pub event_id: i64,
    pub note: String,
}

/// Shows a case's personal data in full (the reporter's contact, and phone and ID numbers in
/// its text) to someone working on it, for a stated purpose; the reveal is written to the
/// audit log, under the case and its reporter, before anything is shown.
pub async fn reveal(
    state: &AppState,
    caller: &Caller,
    id: i64,
    purpose: &str,
    note: &str,
) -> AppResult<CaseRevealed> {
    use crate::registry::access::PURPOSES;
    if !PURPOSES.contains(&purpose) {
        return Err(AppError::invalid("error.purpose"));
    }
    let note = note.trim();
    if purpose == "other" && note.is_empty() {
        return Err(AppError::invalid("error.purpose_note"));
    }
    if note.chars().count() > 200 {
        return Err(AppError::invalid("error.purpose_long"));
    }
    crate::kernel::text::check_note(note).map_err(AppError::invalid)?;
    let viewer = Viewer::of(caller);
    let now = now_ms();
    let (case, events) = state
        .db
        .read(move |c| {
            let Some(case) = crate::cases::get(c, id, now)? else {
                return Ok(None);
            };
            Ok(Some((case, crate::cases::events(c, id)?)))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let roles = viewer.actors(&case);
    if roles.is_empty() {
        return Err(AppError::not_found());
    }
    if roles
        .iter()
        .all(|r| matches!(r, lifecycle::Actor::Reporter))
    {
        return Err(AppError::forbidden());
    }
    let mut subjects = vec![format!("case:{}", case.id.0)];
    subjects.extend(case.reporter_id.map(audit::user));
    subjects.push("field:reporter_contact".into());
    let purpose_text = if note.is_empty() {
        purpose.to_string()
    } else {
        format!("{purpose}: {note}")
    };
    state
        .audit
        .record(
            NewEntry::by(caller, audit::Action::Reveal)
                .subjects(subjects)
                .purpose(purpose_text),
        )
        .await?;
    let reporter_contact = if case.contact.is_empty() {
        None
    } else {
        Some(case.contact.open(&state.keys).ok_or_else(|| {
            AppError::internal("decrypting a contact", "the key does not open this value")
        })?)
    };
    Ok(CaseRevealed {
        reporter_contact,
        description: case.description,
        address: case.address,
        rating_comment: case.rating_comment,
        notes: events
            .into_iter()
            .filter(|e| !e.note.is_empty())
            .map(|e| RevealedNote {
                event_id: e.id,
                note: e.note,
            })
            .collect(),
    })
}

/// Shows a case's personal data in full — the reporter's phone or e-mail and the phone and
/// ID numbers typed into its text — to someone working on it, for a purpose; written to the
/// audit log first.
#[utoipa::path(post, path = "/api/v1/cases/{id}/reveal", tag = "cases", params(("id" = i64, Path)),
    request_body = CaseRevealRequest, security(("bearer" = [])),
    responses((status = 200, body = CaseRevealed), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reveal_case(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<CaseRevealRequest>,
) -> AppResult<Json<CaseRevealed>> {
    Ok(Json(
        reveal(&state, &caller, id, &r.purpose, &r.note).await?,
    ))
}

/// One case with its timeline and the steps the caller may take.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, body = CaseDetail), (status = 404, body = ErrorBody)))]
pub async fn get_case(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<CaseDetail>> {
    Ok(Json(detail(&state, &caller, id).await?))
}
