//! What cases contribute to the cockpit: open and late cases, the on-time rate, the median
//! time to resolve, satisfaction and self-governed matters, per grid and per organisation.
//! Each is read from the kept figures (`case_figures`, `case_self_figures`, `case_late_open`),
//! never from the cases, in one grouped pass over the viewer's places: the parts add up per
//! grid (`http::area::sum_parts`) and are finished here.

use crate::store::{Conn, Result, Val, under_paths};

use super::figures::{day_of, median_hours};

/// The window of the rates: cases reported in the last 30 days (China time).
const WINDOW_DAYS: i64 = 30;

const HIST: [&str; 12] = [
    "h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "h10", "h11",
];

/// A kept table's sums of `cols` grouped by `by` (a place path column, or `org_id`), over a
/// street's rows under `paths` (in its column `col`): of the cases reported since `since` (a
/// day number) when given, else of all of them — `case_figures` keeps those in its rows of
/// day -1, `case_self_figures` only by day, and `case_late_open` has no day.
#[allow(clippy::too_many_arguments)]
fn grouped(
    c: &mut dyn Conn,
    table: &str,
    col: &str,
    by: &str,
    cols: &[&str],
    street: i64,
    paths: &[String],
    since: Option<i64>,
) -> Result<Vec<(String, Vec<i64>)>> {
    let mut p: Vec<Val> = vec![street.into()];
    let mut cond = format!("street_id = $1 AND {}", under_paths(col, paths, 2, &mut p));
    if let Some(d) = since {
        p.push(d.into());
        cond.push_str(&format!(" AND day >= ${}", p.len()));
    } else if table == "case_figures" {
        cond.push_str(" AND day = -1");
    }
    let sel: Vec<String> = cols
        .iter()
        .map(|c| format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT)"))
        .collect();
    Ok(c.query(
        &format!(
            "SELECT CAST({by} AS TEXT), {} FROM {table} WHERE {cond} GROUP BY {by}",
            sel.join(", ")
        ),
        &p,
    )?
    .into_iter()
    .map(|r| (r.str(0), (1..=cols.len()).map(|i| r.i64(i)).collect()))
    .collect())
}

fn since() -> i64 {
    day_of(crate::kernel::time::now_ms()) - (WINDOW_DAYS - 1)
}

type Rows = Result<Vec<(String, Vec<i64>)>>;

const ON_TIME: [&str; 2] = ["on_time", "resolved"];
const RATING: [&str; 2] = ["rating_sum", "rated"];

/// `case_figures` (cases an organisation handles) grouped by `by`: a place path, or `org_id`.
fn handled(
    c: &mut dyn Conn,
    by: &str,
    cols: &[&str],
    street: i64,
    paths: &[String],
    since: Option<i64>,
) -> Rows {
    grouped(
        c,
        "case_figures",
        "area_path",
        by,
        cols,
        street,
        paths,
        since,
    )
}

/// `case_self_figures` (self-governed matters) grouped by place path.
fn governed(
    c: &mut dyn Conn,
    cols: &[&str],
    street: i64,
    paths: &[String],
    since: Option<i64>,
) -> Rows {
    grouped(
        c,
        "case_self_figures",
        "area_path",
        "area_path",
        cols,
        street,
        paths,
        since,
    )
}

/// Cases open (handled by an organisation and self-governed).
pub fn open(c: &mut dyn Conn, street: i64, paths: &[String]) -> Rows {
    let mut v = handled(c, "area_path", &["open"], street, paths, None)?;
    v.extend(self_open(c, street, paths)?);
    Ok(v)
}

/// Cases open and past their deadline.
pub fn late(c: &mut dyn Conn, street: i64, paths: &[String]) -> Rows {
    grouped(
        c,
        "case_late_open",
        "place_path",
        "place_path",
        &["n"],
        street,
        paths,
        None,
    )
}

/// (resolved on time, resolved) of the cases reported in the window.
pub fn on_time(c: &mut dyn Conn, street: i64, paths: &[String]) -> Rows {
    handled(c, "area_path", &ON_TIME, street, paths, Some(since()))
}

/// The share resolved on time, 0–100 to one decimal.
pub fn on_time_rate(v: &[i64]) -> Option<f64> {
    (v.get(1).copied().unwrap_or(0) > 0)
        .then(|| (v[0] as f64 * 1000.0 / v[1] as f64).round() / 10.0)
}

/// The histogram of hours to resolve of the cases reported in the window.
pub fn resolve_hours(c: &mut dyn Conn, street: i64, paths: &[String]) -> Rows {
    let mut v = handled(c, "area_path", &HIST, street, paths, Some(since()))?;
    v.extend(governed(c, &HIST, street, paths, Some(since()))?);
    Ok(v)
}

/// The median of a histogram of hours.
pub fn median(v: &[i64]) -> Option<f64> {
    let mut hist = [0i64; 12];
    for (h, n) in hist.iter_mut().zip(v) {
        *h = *n;
    }
    median_hours(&hist)
}

/// (sum of ratings, ratings) of the cases reported in the window.
pub fn satisfaction(c: &mut dyn Conn, street: i64, paths: &[String]) -> Rows {
    let mut v = handled(c, "area_path", &RATING, street, paths, Some(since()))?;
    v.extend(governed(c, &RATING, street, paths, Some(since()))?);
    Ok(v)
}

/// The mean rating out of 5, to one decimal.
pub fn mean_rating(v: &[i64]) -> Option<f64> {
    (v.get(1).copied().unwrap_or(0) > 0).then(|| (v[0] as f64 * 10.0 / v[1] as f64).round() / 10.0)
}

/// Self-governed matters open.
pub fn self_open(c: &mut dyn Conn, street: i64, paths: &[String]) -> Rows {
    governed(c, &["open"], street, paths, None)
}

// ---- by organisation: the cases an organisation handles (self-governed matters have none)

type OrgRows = Result<Vec<(i64, Vec<i64>)>>;

fn by_org(rows: Vec<(String, Vec<i64>)>) -> Vec<(i64, Vec<i64>)> {
    rows.into_iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, v)))
        .collect()
}

/// Open cases per handling organisation.
pub fn open_by_org(c: &mut dyn Conn, street: i64, paths: &[String]) -> OrgRows {
    handled(c, "org_id", &["open"], street, paths, None).map(by_org)
}

/// (on time, resolved) per handling organisation, in the window.
pub fn on_time_by_org(c: &mut dyn Conn, street: i64, paths: &[String]) -> OrgRows {
    handled(c, "org_id", &ON_TIME, street, paths, Some(since())).map(by_org)
}

/// The histogram of hours to resolve per handling organisation, in the window.
pub fn resolve_hours_by_org(c: &mut dyn Conn, street: i64, paths: &[String]) -> OrgRows {
    handled(c, "org_id", &HIST, street, paths, Some(since())).map(by_org)
}

/// (sum of ratings, ratings) per handling organisation, in the window.
pub fn satisfaction_by_org(c: &mut dyn Conn, street: i64, paths: &[String]) -> OrgRows {
    handled(c, "org_id", &RATING, street, paths, Some(since())).map(by_org)
}
