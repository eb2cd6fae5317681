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
use std::collections::HashMap;

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
    /// Residents' satisfaction measured outside the cases (e.g. a community's satisfaction
    /// survey), for the places the viewer reads.
    pub outside: Vec<super::hooks::OutsideRating>,
    /// Self-governed matters (留白), apart: their own measures, no "late". Absent for a
    /// department or property company (they handle none of them as the state).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_governed: Option<SelfGovernedFigures>,
    /// How routing fared per category (the street's dispatchers only): how often cases were
    /// returned (退单) or sent to another organisation, and where those ended.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<RoutingFigures>,
    /// Joint handling (联合处置) per co-handling organisation: tasks set in the period, done,
    /// on time, late, released — for the street's dispatchers all organisations, for an
    /// organisation's members their own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<super::tasks::TaskFigures>,
}

/// One category's routing in practice, so the street can fix its routing table.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct RoutingFigures {
    pub category: String,
    pub category_name_zh: String,
    pub category_name_en: String,
    /// Cases of the category dispatched at least once.
    pub dispatched: i64,
    /// Of those, returned by a handler at least once.
    pub returned: i64,
    /// Of those, dispatched more than once (re-routed).
    pub rerouted: i64,
    /// Where the returned or re-routed cases are now: organisation and count, most first.
    pub ended_at: Vec<RoutingEnd>,
}

#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct RoutingEnd {
    pub org_id: i64,
    pub org_name: String,
    pub cases: i64,
}

/// The routing figures of the cases reported since China day `first_day`, read from
/// `case_routing_figures` (kept by triggers from each case's count of dispatches and returns),
/// so the cost follows the days, categories and organisations, not the cases.
fn routing(
    c: &mut dyn Conn,
    street_id: i64,
    first_day: i64,
) -> Result<Vec<RoutingFigures>, StoreError> {
    let rows = c.query(
        "SELECT f.category_id, f.org_id, CAST(SUM(f.dispatched) AS BIGINT), \
         CAST(SUM(f.returned) AS BIGINT), CAST(SUM(f.rerouted) AS BIGINT), \
         CAST(SUM(f.troubled) AS BIGINT) FROM case_routing_figures f \
         WHERE f.street_id = $1 AND f.day >= $2 GROUP BY f.category_id, f.org_id",
        params![street_id, first_day],
    )?;
    let mut by_cat: std::collections::BTreeMap<i64, (RoutingFigures, HashMap<i64, i64>)> =
        Default::default();
    for r in rows {
        if r.i64(2) == 0 {
            continue;
        }
        let (f, ends) = by_cat.entry(r.i64(0)).or_default();
        f.dispatched += r.i64(2);
        f.returned += r.i64(3);
        f.rerouted += r.i64(4);
        // Organisation 0: the case is with nobody now (returned and not sent on yet).
        let (org, troubled) = (r.i64(1), r.i64(5));
        if org != 0 && troubled > 0 {
            *ends.entry(org).or_default() += troubled;
        }
    }
    let cats: HashMap<i64, Category> = super::categories(c, street_id)?
        .into_iter()
        .map(|k| (k.id, k))
        .collect();
    let names = crate::org::orgs::names(c, by_cat.values().flat_map(|(_, e)| e.keys().copied()))?;
    let mut out: Vec<RoutingFigures> = by_cat
        .into_iter()
        .filter_map(|(id, (mut f, ends))| {
            let k = cats.get(&id)?;
            f.category = k.code.clone();
            f.category_name_zh = k.name_zh.clone();
            f.category_name_en = k.name_en.clone();
            f.ended_at = ends
                .into_iter()
                .map(|(org_id, cases)| RoutingEnd {
                    org_id,
                    org_name: names.get(&org_id).cloned().unwrap_or_default(),
                    cases,
                })
                .collect();
            f.ended_at
                .sort_by(|a, b| b.cases.cmp(&a.cases).then(a.org_id.cmp(&b.org_id)));
            Some(f)
        })
        .collect();
    // The categories that most often went wrong first.
    out.sort_by(|a, b| {
        (b.returned + b.rerouted)
            .cmp(&(a.returned + a.rerouted))
            .then(a.category.cmp(&b.category))
    });
    Ok(out)
}

/// The measures of self-governed matters in the period: how many, how many resolved, how fast,
/// how satisfied; never whether late (they have no deadline).
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct SelfGovernedFigures {
    /// Reported in the period: `open + resolved + closed_other`.
    pub handled: i64,
    pub open: i64,
    pub resolved: i64,
    pub closed_other: i64,
    /// Share of the ended ones that were resolved, 0–1.
    pub resolved_share: Option<f64>,
    /// Median hours from report to resolution (calendar time).
    pub median_hours: Option<f64>,
    /// Mean rating 1–5.
    pub satisfaction: Option<f64>,
    pub rated: i64,
}

/// The self-governed cases reported since China day `first_day` in the areas under the
/// viewer's places (every area for `None`), read from `case_self_figures` (kept by triggers, per
/// area and day), so the cost follows the areas and days, not the cases.
fn self_governed(
    c: &mut dyn Conn,
    street_id: i64,
    first_day: i64,
    places: Option<&[String]>,
) -> Result<SelfGovernedFigures, StoreError> {
    let sums: String = [
        "handled",
        "open",
        "resolved",
        "closed_other",
        "rated",
        "rating_sum",
    ]
    .iter()
    .map(|c| format!("CAST(SUM(f.{c}) AS BIGINT)"))
    .chain((0..12).map(|i| format!("CAST(SUM(f.h{i}) AS BIGINT)")))
    .collect::<Vec<_>>()
    .join(", ");
    let rows = c.query(
        &format!(
            "SELECT f.area_path, {sums} FROM case_self_figures f \
             WHERE f.street_id = $1 AND f.day >= $2 GROUP BY f.area_path"
        ),
        params![street_id, first_day],
    )?;
    let mut f = SelfGovernedFigures::default();
    let (mut rating_sum, mut hist) = (0, [0i64; 12]);
    for r in rows {
        if places.is_some_and(|p| !Scope::covers(p, &r.str(0))) {
            continue;
        }
        f.handled += r.i64(1);
        f.open += r.i64(2);
        f.resolved += r.i64(3);
        f.closed_other += r.i64(4);
        f.rated += r.i64(5);
        rating_sum += r.i64(6);
        for (i, h) in hist.iter_mut().enumerate() {
            *h += r.i64(7 + i);
        }
    }
    let ended = f.resolved + f.closed_other;
    f.resolved_share = (ended > 0).then(|| f.resolved as f64 / ended as f64);
    f.median_hours = median_hours(&hist);
    f.satisfaction =
        (f.rated > 0).then(|| (rating_sum as f64 / f.rated as f64 * 10.0).round() / 10.0);
    Ok(f)
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

/// The lower bounds, in hours, of the buckets of time from report to resolution that
/// `case_figures.h0..h11` count (the last is open-ended).
const BUCKETS_H: [i64; 12] = [0, 1, 2, 4, 8, 12, 24, 48, 72, 120, 240, 480];

/// Running sums for one row.
#[derive(Default)]
struct Acc {
    f: OrgFigures,
    on_time: i64,
    rating_sum: i64,
    hist: [i64; 12],
}

impl Acc {
    /// Adds one row of `case_figures` (columns from 2 on, as [`figures`] reads them).
    fn add(&mut self, r: &crate::store::Row) {
        let f = &mut self.f;
        f.handled += r.i64(2);
        f.open += r.i64(3);
        f.resolved += r.i64(4);
        f.closed_other += r.i64(5);
        self.on_time += r.i64(6);
        f.rated += r.i64(7);
        self.rating_sum += r.i64(8);
        for (i, h) in self.hist.iter_mut().enumerate() {
            *h += r.i64(9 + i);
        }
    }

    fn finish(self) -> OrgFigures {
        let mut f = self.f;
        if f.resolved > 0 {
            f.on_time_rate = Some(self.on_time as f64 / f.resolved as f64);
            f.median_hours = median_hours(&self.hist);
        }
        if f.rated > 0 {
            f.satisfaction =
                Some((self.rating_sum as f64 / f.rated as f64 * 100.0).round() / 100.0);
        }
        f
    }
}

/// The median of the hours counted in buckets, read where the middle resolution falls and
/// placed within its bucket in proportion (the last, open-ended bucket gives its lower bound).
/// Rounded to a tenth of an hour; within a bucket's width of the exact median.
pub(crate) fn median_hours(hist: &[i64; 12]) -> Option<f64> {
    let total: i64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let middle = total as f64 / 2.0;
    let mut below = 0.0;
    for (i, &n) in hist.iter().enumerate() {
        if n > 0 && below + n as f64 >= middle {
            let lo = BUCKETS_H[i] as f64;
            let m = match BUCKETS_H.get(i + 1) {
                Some(&hi) => lo + (hi as f64 - lo) * (middle - below) / n as f64,
                None => lo,
            };
            return Some((m * 10.0).round() / 10.0);
        }
        below += n as f64;
    }
    None
}

/// The day number `case_figures.day` keeps for an instant: days since 1970-01-01 in China time.
pub(crate) fn day_of(ms: i64) -> i64 {
    (ms + 8 * HOUR_MS).div_euclid(24 * HOUR_MS)
}

/// The figures of a street's cases reported since `since` (from the start of that day, China
/// time; every case when `None`), read from `case_figures`: a row per organisation, area and
/// day, kept by triggers with every change to a case, so the cost follows the organisations
/// and areas shown, not the cases.
pub fn figures(
    c: &mut dyn Conn,
    street_id: i64,
    street_name: &str,
    since: Option<i64>,
    reach: &FigureReach,
) -> Result<FiguresReport, StoreError> {
    let sums: String = [
        "handled",
        "open",
        "resolved",
        "closed_other",
        "on_time",
        "rated",
        "rating_sum",
    ]
    .iter()
    .map(|c| format!("CAST(SUM(f.{c}) AS BIGINT)"))
    .chain((0..12).map(|i| format!("CAST(SUM(f.h{i}) AS BIGINT)")))
    .collect::<Vec<_>>()
    .join(", ");
    let (days, first) = match since {
        Some(t) => ("f.day >= $2", day_of(t)),
        None => ("f.day = $2", -1),
    };
    let rows = c.query(
        &format!(
            "SELECT f.org_id, f.area_path, {sums} FROM case_figures f \
             WHERE f.street_id = $1 AND {days} GROUP BY f.org_id, f.area_path \
             ORDER BY f.org_id"
        ),
        params![street_id, first],
    )?;
    let names = crate::org::orgs::names(c, rows.iter().map(|r| r.i64(0)))?;
    let mut street = Acc::default();
    street.f.org_name = street_name.to_string();
    let mut orgs: Vec<Acc> = Vec::new();
    for r in rows {
        street.add(&r);
        let (org, area) = (r.i64(0), r.str(1));
        if !reach.sees(org, &area) {
            continue;
        }
        if orgs.last().is_none_or(|a| a.f.org_id != org) {
            let mut a = Acc::default();
            a.f.org_id = org;
            a.f.org_name = names.get(&org).cloned().unwrap_or_default();
            orgs.push(a);
        }
        if let Some(a) = orgs.last_mut() {
            a.add(&r);
        }
    }
    let outside = super::hooks::ratings(c, street_id, since, reach.places.as_deref())?;
    let first_day = since.map_or(i64::MIN, day_of);
    let self_governed = match (&reach.places, &reach.orgs) {
        (_, Some(_)) => None,
        (places, None) => Some(self_governed(c, street_id, first_day, places.as_deref())?),
    };
    // The routing table is the street's: its dispatchers read how it fares.
    let routing = match (&reach.places, &reach.orgs) {
        (None, None) => routing(c, street_id, first_day)?,
        _ => Vec::new(),
    };
    let mut tasks = match (&reach.places, &reach.orgs) {
        (Some(_), None) => Vec::new(),
        _ => super::tasks::figures(c, street_id, first_day, i64::MAX, crate::store::now_ms())?,
    };
    if let Some(mine) = &reach.orgs {
        tasks.retain(|f| mine.contains(&f.org_id));
    }
    Ok(FiguresReport {
        street: street.finish(),
        organisations: orgs.into_iter().map(Acc::finish).collect(),
        outside,
        self_governed,
        routing,
        tasks,
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_median_falls_in_its_bucket() {
        let mut h = [0i64; 12];
        assert_eq!(super::median_hours(&h), None);
        h[3] = 1; // one resolution in 4–8 h: the middle of the bucket
        assert_eq!(super::median_hours(&h), Some(6.0));
        h[11] = 3; // most past 480 h: the open bucket's lower bound
        assert_eq!(super::median_hours(&h), Some(480.0));
        let mut h = [0i64; 12];
        h[0] = 2;
        h[6] = 2; // 24–48 h
        assert_eq!(super::median_hours(&h), Some(1.0));
    }

    #[test]
    fn days_are_counted_in_china_time() {
        // 2026-12-02 23:30 in Shanghai is 15:30 UTC: the same day as 00:30 the next morning
        // would not be.
        let evening = chrono::DateTime::parse_from_rfc3339("2026-12-02T23:30:00+08:00")
            .unwrap()
            .timestamp_millis();
        let next = evening + 3_600_000;
        assert_eq!(super::day_of(next), super::day_of(evening) + 1);
    }
}
