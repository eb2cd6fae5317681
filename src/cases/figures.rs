//! Figures by organisation for a period.

use super::*;

/// Per-organisation figures: cases handled, resolved on time, median time to resolve and the
/// reporters' satisfaction.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OrgFigures {
    pub org_id: i64,
    pub org_name: String,
    pub handled: i64,
    pub open: i64,
    pub resolved: i64,
    /// Share of resolved cases never late, 0–1.
    pub on_time_rate: Option<f64>,
    /// Median hours from report to resolution (calendar time).
    pub median_hours: Option<f64>,
    /// Mean rating 1–5.
    pub satisfaction: Option<f64>,
    pub rated: i64,
}

pub fn figures(
    c: &mut dyn Conn,
    street_id: i64,
    since: Option<i64>,
) -> Result<Vec<OrgFigures>, StoreError> {
    let rows = c.query(
        "SELECT o.id, o.name, c.state, c.late, c.created_at, c.resolved_at, c.rating \
         FROM cases c JOIN organisations o ON o.id = c.handler_org_id \
         WHERE c.street_id = $1 AND c.created_at >= $2 ORDER BY o.id",
        params![street_id, since.unwrap_or(i64::MIN)],
    )?;
    let mut out: Vec<OrgFigures> = Vec::new();
    let mut durations: Vec<Vec<i64>> = Vec::new();
    let mut ratings: Vec<Vec<i64>> = Vec::new();
    let mut on_time: Vec<i64> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|f| f.org_id != r.i64(0)) {
            out.push(OrgFigures {
                org_id: r.i64(0),
                org_name: r.str(1),
                handled: 0,
                open: 0,
                resolved: 0,
                on_time_rate: None,
                median_hours: None,
                satisfaction: None,
                rated: 0,
            });
            durations.push(Vec::new());
            ratings.push(Vec::new());
            on_time.push(0);
        }
        let i = out.len() - 1;
        let f = &mut out[i];
        f.handled += 1;
        let state = State::parse(&r.str(2)).unwrap_or(State::New);
        if state.is_open() {
            f.open += 1;
        }
        if let Some(res) = r.opt_i64(5) {
            f.resolved += 1;
            durations[i].push(res - r.i64(4));
            if !r.bool(3) {
                on_time[i] += 1;
            }
        }
        if let Some(x) = r.opt_i64(6) {
            ratings[i].push(x);
        }
    }
    for (i, f) in out.iter_mut().enumerate() {
        if f.resolved > 0 {
            f.on_time_rate = Some(on_time[i] as f64 / f.resolved as f64);
            let d = &mut durations[i];
            d.sort_unstable();
            let m = if d.len() % 2 == 1 {
                d[d.len() / 2] as f64
            } else {
                (d[d.len() / 2 - 1] + d[d.len() / 2]) as f64 / 2.0
            };
            f.median_hours = Some((m / HOUR_MS as f64 * 10.0).round() / 10.0);
        }
        if !ratings[i].is_empty() {
            f.rated = ratings[i].len() as i64;
            f.satisfaction = Some(
                (ratings[i].iter().sum::<i64>() as f64 / ratings[i].len() as f64 * 100.0).round()
                    / 100.0,
            );
        }
    }
    Ok(out)
}
