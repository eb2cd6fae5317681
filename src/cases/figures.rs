//! Figures by organisation for a period, for the viewer: a street's dispatchers see every
//! organisation's, a community or grid worker those of the cases in her places, a department
//! or property company its own; everyone also sees the street's totals.
//!
//! The columns add up: every case a handling organisation received is exactly one of **open**
//! (waiting or being handled, reopened ones included), **resolved** (closed after a resolution
//! that stands) or **closed otherwise** (rejected, voided or closed without a resolution), so
//! `handled = open + resolved + closed_other`. A case reopened after its resolution counts as
//! open until it is resolved again, never twice.

use super::*;
use crate::org::Scope;

/// One organisation's figures (or the street's, with `org_id` 0).
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct OrgFigures {
    pub org_id: i64,
    pub org_name: String,
    /// Cases the organisation received in the period: `open + resolved + closed_other`.
    pub handled: i64,
    /// Still open now, reopened cases included.
    pub open: i64,
    /// Closed after a resolution that stands.
    pub resolved: i64,
    /// Closed without a resolution: rejected, voided.
    pub closed_other: i64,
    /// Share of resolved cases never late, 0–1.
    pub on_time_rate: Option<f64>,
    /// Median hours from report to resolution (calendar time).
    pub median_hours: Option<f64>,
    /// Mean rating 1–5.
    pub satisfaction: Option<f64>,
    pub rated: i64,
}

/// The figures a viewer may read: the organisations within her reach, and the street's totals.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FiguresReport {
    pub street: OrgFigures,
    pub organisations: Vec<OrgFigures>,
}

/// Which cases' organisations a viewer sees figures of.
#[derive(Clone, Debug, Default)]
pub struct FigureReach {
    /// Only cases under these places (community and grid workers); `None`: every place.
    pub places: Option<Vec<String>>,
    /// Only these organisations (departments, property companies); `None`: every one.
    pub orgs: Option<Vec<i64>>,
}

impl FigureReach {
    /// A street's dispatchers see everything; others their places or their organisations.
    pub fn of(v: &Viewer, street_path: &str) -> FigureReach {
        if v.dispatch
            .iter()
            .any(|p| Scope::covers(std::slice::from_ref(p), street_path))
        {
            return FigureReach::default();
        }
        FigureReach {
            places: (!v.verify.is_empty()).then(|| v.verify.clone()),
            orgs: (!v.orgs.is_empty()).then(|| v.orgs.clone()),
        }
    }

    fn sees(&self, org: i64, place: &str) -> bool {
        let by_place = self
            .places
            .as_ref()
            .is_some_and(|p| Scope::covers(p, place));
        let by_org = self.orgs.as_ref().is_some_and(|o| o.contains(&org));
        match (&self.places, &self.orgs) {
            (None, None) => true,
            _ => by_place || by_org,
        }
    }
}

/// Running sums for one row.
#[derive(Default)]
struct Acc {
    f: OrgFigures,
    durations: Vec<i64>,
    ratings: Vec<i64>,
    on_time: i64,
}

impl Acc {
    fn add(
        &mut self,
        state: State,
        late: bool,
        created: i64,
        resolved_at: Option<i64>,
        rating: Option<i64>,
    ) {
        let f = &mut self.f;
        f.handled += 1;
        if state.is_open() {
            f.open += 1;
        } else if let Some(res) = resolved_at.filter(|_| state.was_resolved()) {
            f.resolved += 1;
            self.durations.push(res - created);
            if !late {
                self.on_time += 1;
            }
        } else {
            f.closed_other += 1;
        }
        if let Some(x) = rating {
            self.ratings.push(x);
        }
    }

    fn finish(mut self) -> OrgFigures {
        let mut f = self.f;
        if f.resolved > 0 {
            f.on_time_rate = Some(self.on_time as f64 / f.resolved as f64);
            let d = &mut self.durations;
            d.sort_unstable();
            let m = if d.len() % 2 == 1 {
                d[d.len() / 2] as f64
            } else {
                (d[d.len() / 2 - 1] + d[d.len() / 2]) as f64 / 2.0
            };
            f.median_hours = Some((m / HOUR_MS as f64 * 10.0).round() / 10.0);
        }
        if !self.ratings.is_empty() {
            f.rated = self.ratings.len() as i64;
            f.satisfaction = Some(
                (self.ratings.iter().sum::<i64>() as f64 / self.ratings.len() as f64 * 100.0)
                    .round()
                    / 100.0,
            );
        }
        f
    }
}

pub fn figures(
    c: &mut dyn Conn,
    street_id: i64,
    street_name: &str,
    since: Option<i64>,
    reach: &FigureReach,
) -> Result<FiguresReport, StoreError> {
    let rows = c.query(
        "SELECT c.handler_org_id, c.state, c.late, c.created_at, c.resolved_at, c.rating, c.place_path \
         FROM cases c \
         WHERE c.street_id = $1 AND c.created_at >= $2 AND c.handler_org_id IS NOT NULL \
         ORDER BY c.handler_org_id",
        params![street_id, since.unwrap_or(i64::MIN)],
    )?;
    let names = crate::org::orgs::names(c, rows.iter().map(|r| r.i64(0)))?;
    let mut street = Acc::default();
    street.f.org_name = street_name.to_string();
    let mut orgs: Vec<Acc> = Vec::new();
    for r in rows {
        let state = State::parse(&r.str(1)).unwrap_or(State::New);
        let (late, created, resolved, rating) = (r.bool(2), r.i64(3), r.opt_i64(4), r.opt_i64(5));
        street.add(state, late, created, resolved, rating);
        if !reach.sees(r.i64(0), &r.str(6)) {
            continue;
        }
        if orgs.last().is_none_or(|a| a.f.org_id != r.i64(0)) {
            let mut a = Acc::default();
            a.f.org_id = r.i64(0);
            a.f.org_name = names.get(&r.i64(0)).cloned().unwrap_or_default();
            orgs.push(a);
        }
        if let Some(a) = orgs.last_mut() {
            a.add(state, late, created, resolved, rating);
        }
    }
    Ok(FiguresReport {
        street: street.finish(),
        organisations: orgs.into_iter().map(Acc::finish).collect(),
    })
}

/// The figures the caller may read, for cases reported since `since`.
pub async fn for_caller(
    state: &AppState,
    caller: &Caller,
    since: Option<i64>,
) -> Result<FiguresReport, AppError> {
    if !caller.browses_cases() {
        return Err(AppError::forbidden());
    }
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let viewer = Viewer::of(caller);
    Ok(state
        .db
        .read(move |c| {
            let place = crate::org::places::by_id_unscoped(c, street)?;
            let (name, path) = place.map(|p| (p.name, p.path)).unwrap_or_default();
            figures(c, street, &name, since, &FigureReach::of(&viewer, &path))
        })
        .await?)
}
