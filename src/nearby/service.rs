//! The nearby area's use cases (issue 24 part 3): a community's public reports and map, one
//! report as the public sees it, following a report or an area and a category, unfollowing
//! (signed in, or by the signed link of a message), and the organisations' figures.
//!
//! Who reads a community's public page: the residents who live in it and those who work there
//! (its workers, the street's, the organisations serving it), all signed in. Anonymous
//! visitors do not: the page shows photos and the state of every building's reports, which
//! is for the neighbourhood; the text-only public record of published cases stays open to
//! anyone through Open311 (`GET /open311/v2/requests.json`), as that specification intends,
//! and carries no photo.

use serde::Serialize;
use utoipa::ToSchema;

use super::follows::{self, Follow, Link};
use crate::audit::{Action, NewEntry};
use crate::cases::public::{self as public, PublicQuery, PublicReport};
use crate::cases::{FigureReach, OrgFigures};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Scope};
use crate::params;
use crate::state::AppState;
use crate::store::Conn;

const DAY_MS: i64 = 86_400_000;

/// A community (or another place) whose public page the caller reads.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = NearbyCommunity)]
pub struct Community {
    pub id: i64,
    pub name: String,
    #[serde(skip)]
    pub path: String,
    #[serde(skip)]
    pub street_id: i64,
}

/// The communities under the places a caller reads.
fn communities_of(c: &mut dyn Conn, caller: &Caller) -> crate::store::Result<Vec<Community>> {
    let paths = public::reader_paths(c, caller)?;
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut p = Vec::new();
    let cond = crate::store::under_paths("path", &paths, 1, &mut p);
    Ok(c.query(
        &format!(
            "SELECT id, name, path, COALESCE(street_id, id) FROM places WHERE kind = 'community' AND {cond} \
             ORDER BY path LIMIT 200"
        ),
        &p,
    )?
    .iter()
    .map(|r| Community {
        id: r.i64(0),
        name: r.str(1),
        path: r.str(2),
        street_id: r.i64(3),
    })
    .collect())
}

/// The communities whose public page the caller reads (her own first for a resident).
pub async fn communities(state: &AppState, caller: &Caller) -> AppResult<Vec<Community>> {
    let caller = caller.clone();
    Ok(state.db.read(move |c| communities_of(c, &caller)).await?)
}

/// One community the caller reads; 404 otherwise (another community's page is not hers).
pub async fn community(state: &AppState, caller: &Caller, id: i64) -> AppResult<Community> {
    communities(state, caller)
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(AppError::not_found)
}

/// A community's public reports, with what the caller did about them.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = NearbyReports)]
pub struct Reports {
    pub community: Community,
    /// Open reports and those fixed in the last 30 days, newest first.
    pub reports: Vec<PublicReport>,
    /// The reports the caller said "me too" on.
    pub supported: Vec<i64>,
    /// The reports the caller follows (her own included unless she unfollowed it).
    pub following: Vec<i64>,
    /// The reports she made.
    pub own: Vec<i64>,
}

fn following(c: &mut dyn Conn, user: i64, list: &[PublicReport]) -> crate::store::Result<Vec<i64>> {
    let mut out = Vec::new();
    for r in list {
        let f = follows::of_case(c, r.id, user)?;
        let on = match f {
            Some(f) => f.active,
            None => r.reporter_id == Some(user),
        };
        if on {
            out.push(r.id);
        }
    }
    Ok(out)
}

/// The public reports of a community the caller reads, of one category when given.
pub async fn reports(
    state: &AppState,
    caller: &Caller,
    community_id: i64,
    category: Option<String>,
) -> AppResult<Reports> {
    let k = community(state, caller, community_id).await?;
    let lang = crate::kernel::ctx().lang;
    let now = now_ms();
    let user = caller.user_id;
    Ok(state
        .db
        .read(move |c| {
            let q = PublicQuery {
                street_id: k.street_id,
                paths: vec![k.path.clone()],
                category: category.filter(|s| !s.is_empty()),
                ids: Vec::new(),
            };
            let reports = public::reports(c, &q, lang, now)?;
            let ids: Vec<i64> = reports.iter().map(|r| r.id).collect();
            let supported = public::supported_by(c, &ids, user)?.into_iter().collect();
            let following = following(c, user, &reports)?;
            let own = reports
                .iter()
                .filter(|r| r.reporter_id == Some(user))
                .map(|r| r.id)
                .collect();
            Ok(Reports {
                community: k,
                reports,
                supported,
                following,
                own,
            })
        })
        .await?)
}

/// One public report, with what the caller did about it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = NearbyReport)]
pub struct ReportView {
    pub report: PublicReport,
    pub supported: bool,
    pub following: bool,
    /// She made it (she cannot say "me too"; her case page has her updates).
    pub own: bool,
}

/// A published report the caller reads; 404 otherwise.
pub async fn report(state: &AppState, caller: &Caller, id: i64) -> AppResult<ReportView> {
    let report = crate::cases::http::readable(state, caller, id).await?;
    let user = caller.user_id;
    state
        .db
        .read(move |c| {
            let supported = public::supported_by(c, &[id], user)?.contains(&id);
            let following = !following(c, user, std::slice::from_ref(&report))?.is_empty();
            Ok(ReportView {
                own: report.reporter_id == Some(user),
                report,
                supported,
                following,
            })
        })
        .await
        .map_err(AppError::from)
}

/// "Me too" on a report (through cases, which counts it).
pub async fn support(state: &AppState, caller: &Caller, id: i64) -> AppResult<i64> {
    crate::cases::http::support(state, caller, id).await
}

fn street_of(caller: &Caller) -> AppResult<i64> {
    caller.street_id.ok_or_else(AppError::not_found)
}

async fn audit(
    state: &AppState,
    caller: &Caller,
    street: i64,
    what: &str,
    id: i64,
) -> AppResult<()> {
    let mut e = NewEntry::by(caller, Action::Change).purpose(crate::kernel::i18n::both(
        &format!("nearby.purpose.{what}"),
        &[("id", &id)],
    ));
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
}

/// Follows a published report the caller reads.
pub async fn follow_case(state: &AppState, caller: &Caller, id: i64) -> AppResult<Follow> {
    crate::cases::http::readable(state, caller, id).await?;
    let street = street_of(caller)?;
    let user = caller.user_id;
    let now = now_ms();
    let f = state
        .db
        .write(move |c| follows::follow_case(c, street, user, id, false, now))
        .await?;
    audit(state, caller, street, "follow_case", id).await?;
    Ok(f)
}

/// Follows an area (a community the caller reads, or a grid in one) and a category ('' for
/// every one of them).
pub async fn follow_area(
    state: &AppState,
    caller: &Caller,
    area_id: i64,
    category: String,
) -> AppResult<Follow> {
    let street = street_of(caller)?;
    let category = category.trim().to_string();
    let readable = communities(state, caller).await?;
    let user = caller.user_id;
    let now = now_ms();
    let f = state
        .db
        .write(move |c| -> crate::store::Result<Option<Follow>> {
            let Some(r) = c.query_opt(
                "SELECT id, path, kind FROM places WHERE id = $1 AND kind IN ('community', 'grid')",
                params![area_id],
            )?
            else {
                return Ok(None);
            };
            let path = r.str(1);
            let paths: Vec<String> = readable.iter().map(|k| k.path.clone()).collect();
            if !Scope::covers(&paths, &path) {
                return Ok(None);
            }
            if !category.is_empty()
                && crate::cases::category_by_code(c, street, &category)?.is_none()
            {
                return Ok(None);
            }
            Ok(Some(follows::follow_area(
                c,
                street,
                user,
                (area_id, &path),
                &category,
                now,
            )?))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    audit(state, caller, street, "follow_area", area_id).await?;
    Ok(f)
}

/// The caller's follows.
pub async fn my_follows(state: &AppState, caller: &Caller) -> AppResult<Vec<Follow>> {
    let user = caller.user_id;
    Ok(state.db.read(move |c| follows::of_user(c, user)).await?)
}

/// Ends one of the caller's follows (another's is not found).
pub async fn unfollow(state: &AppState, caller: &Caller, id: i64) -> AppResult<()> {
    let user = caller.user_id;
    let now = now_ms();
    let street = state
        .db
        .write(move |c| {
            let Some(f) = follows::by_id(c, id)?.filter(|f| f.user_id == user) else {
                return Ok(None);
            };
            follows::end(c, id, now)?;
            Ok(Some(f.street_id))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    audit(state, caller, street, "unfollow", id).await
}

/// Stops following a report (her own too, which she follows without asking).
pub async fn unfollow_case(state: &AppState, caller: &Caller, case_id: i64) -> AppResult<()> {
    crate::cases::http::readable(state, caller, case_id).await?;
    let street = street_of(caller)?;
    let user = caller.user_id;
    let now = now_ms();
    state
        .db
        .write(move |c| {
            let f = match follows::of_case(c, case_id, user)? {
                Some(f) => f,
                None => follows::follow_case(c, street, user, case_id, true, now)?,
            };
            follows::end(c, f.id, now)
        })
        .await?;
    audit(state, caller, street, "unfollow", case_id).await
}

/// What a message's link shows, without signing in.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = NearbyLink)]
pub struct LinkView {
    /// Still following.
    pub active: bool,
    /// The report followed, as the public sees it (none for an area, or once it has left the
    /// public page).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<PublicReport>,
    /// The area followed, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
}

fn link_refused() -> AppError {
    AppError::new(StatusCode::FORBIDDEN, Code::BadToken, "nearby.err_link")
}

/// What a message's link is about (the report as the public sees it), checked.
pub async fn look(state: &AppState, token: String) -> AppResult<LinkView> {
    let lang = crate::kernel::ctx().lang;
    let now = now_ms();
    state
        .db
        .read(move |c| {
            let f = match follows::check(c, &token, now)? {
                Link::Forged => return Ok(None),
                Link::Found(f) => f,
            };
            let report = match f.case_id {
                Some(id) => public::report(c, f.street_id, id, lang, now)?,
                None => None,
            };
            let area = match f.area_id {
                Some(a) => c
                    .query_opt("SELECT name FROM places WHERE id = $1", params![a])?
                    .map(|r| r.str(0)),
                None => None,
            };
            Ok(Some(LinkView {
                active: f.active,
                report,
                area,
            }))
        })
        .await?
        .ok_or_else(link_refused)
}

/// Unfollows by a message's link, once: a second use says it was already done; an altered
/// link is refused.
pub async fn unfollow_by_link(state: &AppState, token: String) -> AppResult<()> {
    let now = now_ms();
    let ended = state
        .db
        .write(move |c| match follows::check(c, &token, now)? {
            Link::Forged => Ok(None),
            Link::Found(f) => {
                let done = follows::end(c, f.id, now)?;
                Ok(Some((done, f)))
            }
        })
        .await?;
    match ended {
        None => Err(link_refused()),
        Some((false, _)) => Err(AppError::new(
            StatusCode::CONFLICT,
            Code::Conflict,
            "nearby.err_link_used",
        )),
        Some((true, f)) => {
            // Nobody is signed in: the entry names the link as the actor and the account whose
            // follow ended as its subject, so she sees it in her own access log.
            let mut e = NewEntry::anonymous(Action::Change, "unfollow link")
                .subjects([crate::audit::user(f.user_id)])
                .purpose(crate::kernel::i18n::both(
                    "nearby.purpose.unfollow_link",
                    &[("id", &f.id)],
                ));
            e.street_id = Some(f.street_id);
            state.audit.record(e).await?;
            Ok(())
        }
    }
}

/// A publicly shown photo's thumbnail (its file), if the caller reads its report.
pub async fn photo(state: &AppState, caller: &Caller, pid: i64) -> AppResult<String> {
    let (case_id, thumb) = state
        .db
        .read(move |c| public::public_photo(c, pid))
        .await?
        .ok_or_else(AppError::not_found)?;
    crate::cases::http::readable(state, caller, case_id).await?;
    Ok(thumb)
}

/// The organisations' figures for a community's cases, public to those who read its page
/// ("对下负责"): counts, on-time share, median hours to a fix, satisfaction; no case, no
/// person.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = NearbyFigures)]
pub struct Figures {
    pub community: Community,
    /// The period: cases reported in the last this many days.
    pub days: i64,
    pub organisations: Vec<OrgFigures>,
    /// Residents' satisfaction measured outside the cases (the community's surveys).
    pub outside: Vec<crate::cases::hooks::OutsideRating>,
}

/// Periods the figures are offered for, in days.
pub const PERIODS: [i64; 3] = [30, 90, 365];

pub async fn figures(
    state: &AppState,
    caller: &Caller,
    community_id: i64,
    days: Option<i64>,
) -> AppResult<Figures> {
    let days = days.unwrap_or(90);
    if !PERIODS.contains(&days) {
        return Err(AppError::invalid("nearby.err_days"));
    }
    let k = community(state, caller, community_id).await?;
    let since = now_ms() - days * DAY_MS;
    state
        .db
        .read(move |c| {
            let reach = FigureReach {
                places: Some(vec![k.path.clone()]),
                orgs: None,
            };
            let f = crate::cases::figures(c, k.street_id, &k.name, Some(since), &reach)?;
            Ok(Figures {
                community: k,
                days,
                organisations: f.organisations,
                outside: f.outside,
            })
        })
        .await
        .map_err(AppError::from)
}
