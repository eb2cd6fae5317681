//! The home page: what each role meets first, read from the areas' surfaces.

use crate::http::Signed;
use crate::kernel::ctx;
use crate::kernel::error::AppResult;
use crate::kernel::i18n::Tr;
use crate::kernel::time::local_time;
use crate::org::pages::{GrantView, area_map, grant_views};
use crate::org::places::{self, Place};
use crate::org::{Caller, Role};
use crate::registry::households::{self, Figures, Household};
use crate::state::AppState;
use crate::web::{Layout, render};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use std::sync::Arc;

pub(crate) struct AreaView {
    place: Place,
    figures: Figures,
    kinds: Vec<(String, i64)>,
    map: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct HomePage {
    l: Layout,
    role: &'static str,
    grants: Vec<GrantView>,
    areas: Vec<AreaView>,
    served: Vec<Place>,
    household: Option<Household>,
    helpers: Vec<String>,
    notices: Vec<crate::privacy::notices::NoticeView>,
    corrections: Vec<crate::registry::corrections::Correction>,
    /// For callers of a street (cases belong to one).
    cases: Option<CasesCard>,
    /// The areas' own cards (`http::area::Cards`), in order.
    cards: Vec<crate::http::area::Card>,
}

/// The home page's cases: for workers, the open and late cases they see and their unread
/// messages, each a link to its queue; for residents, reporting and their latest reports.
pub(crate) struct CasesCard {
    worker: bool,
    /// Open cases in sight, "1,000+" past [`HOME_COUNT_CAP`].
    open: String,
    /// Late ones, when there are.
    late: Option<String>,
    unread: i64,
    /// A resident's own open reports and those waiting for their rating, late first (at most
    /// [`HOME_REPORTS`]).
    recent: Vec<crate::cases::pages::Row>,
}

/// A resident's open reports the home page lists.
pub(crate) const HOME_REPORTS: i64 = 3;

/// The home page counts open and late cases up to this many and shows "1,000+" beyond: the
/// figure a worker acts on is "many", and counting a long history on every visit is not worth it.
pub(crate) const HOME_COUNT_CAP: i64 = 1000;

impl CasesCard {
    fn read(
        c: &mut dyn crate::store::Conn,
        caller: &Caller,
        lang: crate::kernel::i18n::Lang,
    ) -> Result<Option<CasesCard>, crate::cases::CaseError> {
        use crate::cases::{Filter, Viewer};
        if caller.street_id.is_none() {
            return Ok(None);
        }
        let viewer = Viewer::of(caller);
        let worker = viewer.is_worker();
        let now = crate::store::now_ms();
        let open = Filter {
            state: Some("open".into()),
            mine: (!worker).then_some(true),
            ..Filter::default()
        };
        let late = Filter {
            late: Some(true),
            ..open.clone()
        };
        let recent = if worker {
            Vec::new()
        } else {
            // Closed reports still waiting for the reporter's rating (her turn), then open ones.
            let rate = Filter {
                state: Some("closed".into()),
                limit: Some(HOME_REPORTS),
                ..open.clone()
            };
            let mut cases = crate::cases::list(c, &viewer, &rate, now)?;
            let left = HOME_REPORTS - cases.len() as i64;
            if left > 0 {
                let mine = Filter {
                    limit: Some(left),
                    ..open.clone()
                };
                cases.extend(crate::cases::list(c, &viewer, &mine, now)?);
            }
            crate::cases::pages::rows(&cases, crate::kernel::i18n::Tr(lang), caller.user_id)
        };
        Ok(Some(CasesCard {
            worker,
            open: crate::cases::shown_count(
                crate::cases::count(c, &viewer, &open, now, HOME_COUNT_CAP)?,
                HOME_COUNT_CAP,
            ),
            late: {
                let n = crate::cases::count(c, &viewer, &late, now, HOME_COUNT_CAP)?;
                (n > 0).then(|| crate::cases::shown_count(n, HOME_COUNT_CAP))
            },
            unread: crate::cases::notify::unread(c, caller.user_id)?,
            recent,
        }))
    }
}

pub(crate) async fn home(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let role = caller.primary_role();
    let c2 = caller.clone();
    let lang = ctx().lang;
    let (areas, served, household, helpers, notices, corrections, cases) = state
        .db
        .read(move |c| {
            let mut areas = Vec::new();
            let mut served = Vec::new();
            let mut helpers = Vec::new();
            for g in &c2.grants {
                if g.role.reads_registry()
                    && let Some(pr) = &g.place
                    && let Some(place) = places::by_path(c, &pr.path)?
                {
                    let figures = households::figures(c, &place.path)?;
                    let mut kinds = places::kind_counts(c, &place.path)?;
                    kinds.retain(|(k, _)| k != &place.kind);
                    kinds.sort_by_key(|(k, _)| kind_order(k));
                    let map = area_map(c, &place)?;
                    areas.push(AreaView {
                        place,
                        figures,
                        kinds,
                        map,
                    });
                }
                if let Some(o) = &g.org {
                    for p in &o.serves {
                        if let Some(pl) = places::by_path(c, p)? {
                            served.push(pl);
                        }
                    }
                }
                if g.role == Role::Volunteer
                    && let Some(pr) = &g.place
                {
                    helpers.extend(workers_for(c, &pr.path, Tr(lang))?);
                }
            }
            let household = match c2.scope.own_household {
                Some(h) => households::get(c, &c2.scope, h)?,
                None => None,
            };
            if let Some(h) = &household {
                helpers.extend(workers_for(c, &h.unit_path, Tr(lang))?);
            }
            let notices = match c2.notice_streets() {
                Some(streets) => {
                    let n = crate::audit::anomaly::notices(c, streets.as_deref(), 20)?;
                    crate::privacy::notices::describe(c, Tr(lang), &n)?
                }
                None => Vec::new(),
            };
            let corrections = crate::registry::corrections::in_scope(c, &c2.scope.registry, true)?;
            // Its errors are the cases module's, answered after the read.
            let cases = CasesCard::read(c, &c2, lang);
            Ok((
                areas,
                served,
                household,
                helpers,
                notices,
                corrections,
                cases,
            ))
        })
        .await?;
    let cases = cases?;
    crate::registry::access::listed_people(
        &state,
        &caller,
        corrections.iter().map(|r| r.person_id),
    )
    .await?;
    let cards = crate::web::cards(&state, &caller).await;
    Ok(render(&HomePage {
        l: Layout::new(Some(&caller)),
        role: role.as_str(),
        grants: grant_views(&caller.grants),
        areas,
        served,
        household,
        helpers,
        notices,
        corrections,
        cases,
        cards,
    }))
}

pub(crate) fn kind_order(k: &str) -> usize {
    [
        "district",
        "street",
        "community",
        "grid",
        "building",
        "unit",
    ]
    .iter()
    .position(|x| *x == k)
    .unwrap_or(9)
}

/// The grid and community workers responsible for a place: whom a resident can turn to.
pub(crate) fn workers_for(
    c: &mut dyn crate::store::Conn,
    path: &str,
    t: Tr,
) -> crate::store::Result<Vec<String>> {
    Ok(crate::org::users::workers_for(c, path)?
        .into_iter()
        .map(|(name, role)| format!("{name} · {}", t.s(&format!("role.{}", role.as_str()))))
        .collect())
}

impl HomePage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
}
