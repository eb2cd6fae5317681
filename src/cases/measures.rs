//! What cases contribute to the cockpit: open and late cases, the on-time rate, the median
//! time to resolve, satisfaction and self-governed matters, per grid. Each is read from the
//! kept figures (`case_figures`, `case_self_figures`, `case_late_open`), never from the cases.

use std::sync::Arc;

use crate::http::area::{Measure, MeasureAsk, Reading, Unit};
use crate::state::AppState;
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

/// Runs `one` for every grid and for the viewer's places, on a reader.
async fn per_grid(
    state: Arc<AppState>,
    ask: MeasureAsk,
    one: fn(&mut dyn Conn, i64, &[String]) -> Result<Option<f64>>,
) -> anyhow::Result<Reading> {
    Ok(state
        .db
        .read(move |c| {
            let mut out = Reading::default();
            for (id, path) in &ask.grids {
                out.grids
                    .push((*id, one(c, ask.street_id, std::slice::from_ref(path))?));
            }
            out.total = one(c, ask.street_id, &ask.roots)?;
            Ok(out)
        })
        .await?)
}

fn open(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
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

fn late(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
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

fn on_time(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
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

fn resolve_hours(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
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

fn satisfaction(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
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

fn self_open(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<Option<f64>> {
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

/// The cases' measures on the cockpit.
pub static MEASURES: [Measure; 6] = [
    Measure {
        id: "cases.open",
        label: "cockpit.m.cases_open",
        definition: "cockpit.d.cases_open",
        unit: Unit::Count,
        persons: false,
        read: |s, a| Box::pin(per_grid(s, a, open)),
        drill: |id, _| format!("/cases?place={id}&state=open"),
    },
    Measure {
        id: "cases.late",
        label: "cockpit.m.cases_late",
        definition: "cockpit.d.cases_late",
        unit: Unit::Count,
        persons: false,
        read: |s, a| Box::pin(per_grid(s, a, late)),
        drill: |id, _| format!("/cases?place={id}&late=1"),
    },
    Measure {
        id: "cases.on_time",
        label: "cockpit.m.cases_on_time",
        definition: "cockpit.d.cases_on_time",
        unit: Unit::Percent,
        persons: false,
        read: |s, a| Box::pin(per_grid(s, a, on_time)),
        drill: |id, _| format!("/cases?place={id}&state=closed"),
    },
    Measure {
        id: "cases.resolve_hours",
        label: "cockpit.m.cases_resolve_hours",
        definition: "cockpit.d.cases_resolve_hours",
        unit: Unit::Hours,
        persons: false,
        read: |s, a| Box::pin(per_grid(s, a, resolve_hours)),
        drill: |id, _| format!("/cases?place={id}&state=closed"),
    },
    Measure {
        id: "cases.satisfaction",
        label: "cockpit.m.cases_satisfaction",
        definition: "cockpit.d.cases_satisfaction",
        unit: Unit::Rating,
        persons: false,
        read: |s, a| Box::pin(per_grid(s, a, satisfaction)),
        drill: |id, _| format!("/cases?place={id}&state=rated"),
    },
    Measure {
        id: "cases.self_open",
        label: "cockpit.m.cases_self_open",
        definition: "cockpit.d.cases_self_open",
        unit: Unit::Count,
        persons: false,
        read: |s, a| Box::pin(per_grid(s, a, self_open)),
        drill: |id, _| format!("/cases?place={id}&state=open"),
    },
];
