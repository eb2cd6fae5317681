//! What cases contribute to the cockpit: open and late cases, the on-time rate, the median
//! time to resolve, satisfaction and self-governed matters, per grid. Each is read from the
//! kept figures (`case_figures`, `case_self_figures`, `case_late_open`), never from the cases.

use crate::store::{Conn, Result, Val, under_paths};

use super::figures::{day_of, median_hours};

/// The window of the rates: cases reported in the last 30 days (China time).
const WINDOW_DAYS: i64 = 30;

const HIST: &str = "h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11";

/// Sums of `cols` over a kept table's rows of a street under `paths` (its column `col`):
/// of the cases reported since `since` (a day number) when given, else of all of them —
/// `case_figures` keeps those in its rows of day -1, `case_self_figures` only by day, and
/// `case_late_open` has no day.
fn sums(
    c: &mut dyn Conn,
    table: &str,
    col: &str,
    cols: &[&str],
    street: i64,
    paths: &[String],
    since: Option<i64>,
) -> Result<Vec<i64>> {
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
    let row = c.query_opt(
        &format!("SELECT {} FROM {table} WHERE {cond}", sel.join(", ")),
        &p,
    )?;
    Ok(match row {
        Some(r) => (0..cols.len()).map(|i| r.i64(i)).collect(),
        None => vec![0; cols.len()],
    })
}

fn since() -> i64 {
    day_of(crate::kernel::time::now_ms()) - (WINDOW_DAYS - 1)
}

pub fn open(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
    let a = sums(
        c,
        "case_figures",
        "area_path",
        &["open"],
        street,
        paths,
        None,
    )?[0];
    let b = sums(
        c,
        "case_self_figures",
        "area_path",
        &["open"],
        street,
        paths,
        None,
    )?[0];
    Ok(Some((a + b) as f64))
}

pub fn late(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
    let n = sums(
        c,
        "case_late_open",
        "place_path",
        &["n"],
        street,
        paths,
        None,
    )?[0];
    Ok(Some(n as f64))
}

pub fn on_time(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
    let v = sums(
        c,
        "case_figures",
        "area_path",
        &["on_time", "resolved"],
        street,
        paths,
        Some(since()),
    )?;
    Ok((v[1] > 0).then(|| (v[0] as f64 * 1000.0 / v[1] as f64).round() / 10.0))
}

pub fn resolve_hours(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
    let cols: Vec<&str> = HIST.split(", ").collect();
    let mut hist = [0i64; 12];
    for table in ["case_figures", "case_self_figures"] {
        let v = sums(c, table, "area_path", &cols, street, paths, Some(since()))?;
        for (h, n) in hist.iter_mut().zip(v) {
            *h += n;
        }
    }
    Ok(median_hours(&hist))
}

pub fn satisfaction(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
    let (mut sum, mut n) = (0, 0);
    for table in ["case_figures", "case_self_figures"] {
        let v = sums(
            c,
            table,
            "area_path",
            &["rating_sum", "rated"],
            street,
            paths,
            Some(since()),
        )?;
        sum += v[0];
        n += v[1];
    }
    Ok((n > 0).then(|| (sum as f64 * 10.0 / n as f64).round() / 10.0))
}

pub fn self_open(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
    let n = sums(
        c,
        "case_self_figures",
        "area_path",
        &["open"],
        street,
        paths,
        None,
    )?[0];
    Ok(Some(n as f64))
}
