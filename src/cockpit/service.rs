//! Who sees the cockpit and what it shows: the street's and communities' offices, within their
//! places; the measures the areas contribute, read for the viewer's grids; the daily snapshot
//! the trends draw.

use std::sync::Arc;

use super::{Measure, MeasureAsk, Unit, measures};
use crate::kernel::error::{AppError, AppResult};
use crate::org::Caller;
use crate::state::AppState;

use super::store::{self, Grid};

/// Persons counted below this in a cell are shown as "<5" outside the office.
pub const SMALL: f64 = 5.0;

/// A viewer of the cockpit: her street and the places she reads (her community, or the whole
/// street).
#[derive(Clone, Debug)]
pub struct Viewer {
    pub street_id: i64,
    pub roots: Vec<String>,
}

/// The street and community offices (and a district administrator on her street) see the
/// cockpit; everyone else is refused.
pub fn viewer(caller: &Caller) -> AppResult<Viewer> {
    // The offices that keep the street's places are the offices that see its cockpit.
    let mut roots = crate::org::access::place_editor_paths(caller);
    let street_id = caller.street_id.ok_or_else(AppError::forbidden)?;
    if roots.is_empty() {
        return Err(AppError::forbidden());
    }
    roots.sort();
    roots.dedup();
    Ok(Viewer { street_id, roots })
}

/// Whether the caller sees the cockpit (its navigation entry).
pub fn may_view(caller: &Caller) -> bool {
    viewer(caller).is_ok()
}

/// A measure by id, or 404.
pub fn measure(id: &str) -> AppResult<&'static Measure> {
    measures()
        .iter()
        .copied()
        .find(|m| m.id == id)
        .ok_or_else(AppError::not_found)
}

/// One measure's values for the viewer.
#[derive(Clone)]
pub struct Figure {
    pub measure: &'static Measure,
    /// Per grid, in the grids' order.
    pub grids: Vec<Option<f64>>,
    pub total: Option<f64>,
    /// Per handling organisation (id, value), for the measures that have it.
    pub by_org: Vec<(i64, Option<f64>)>,
}

/// What the cockpit shows a viewer: her grids and every measure's values, read at `as_of`.
pub struct Board {
    pub street_name: String,
    pub grids: Vec<Grid>,
    pub figures: Vec<Figure>,
    pub as_of: i64,
    /// The names of the organisations the figures name, by id.
    pub org_names: std::collections::HashMap<i64, String>,
}

/// How long a board read for a set of places may be shown again while this process commits
/// no write: another process sharing the database may have written.
pub const FRESH: std::time::Duration = std::time::Duration::from_secs(2);
/// How long it may be shown again however much is written: a street's sensors write every
/// second, and every request reading anew would put the cost back on each request. The watch
/// ticks the open cockpits as often.
pub const FRESH_UNDER_WRITES: std::time::Duration = std::time::Duration::from_millis(500);

/// The board of the viewer's places: the one read within [`FRESH_UNDER_WRITES`], or since the
/// last write within [`FRESH`], or a new read. Requests for the same places at the same time
/// wait for one read (the slot's lock) instead of each reading: 200 open cockpits refetching
/// on a tick, or a busy operations centre, cost one read, not one per request.
pub async fn board(state: &Arc<AppState>, v: &Viewer) -> AppResult<Arc<Board>> {
    let slot = super::live(state).slot(v.street_id, &v.roots);
    let mut held = slot.lock().await;
    let writes = state.db.writes();
    if let Some((at, seen, b)) = held.as_ref()
        && (at.elapsed() < FRESH_UNDER_WRITES || (*seen == writes && at.elapsed() < FRESH))
    {
        return Ok(b.clone());
    }
    let b = Arc::new(read_board(state, v).await?);
    *held = Some((std::time::Instant::now(), writes, b.clone()));
    Ok(b)
}

/// Reads every measure for the viewer's grids. A measure that fails is logged and shown
/// empty: one area's trouble never keeps the cockpit from opening.
pub async fn read_board(state: &Arc<AppState>, v: &Viewer) -> AppResult<Board> {
    let (street, roots) = (v.street_id, v.roots.clone());
    let (name, grids) = state
        .db
        .read(move |c| {
            let name = store::street(c, street)?.map(|s| s.1).unwrap_or_default();
            Ok((name, store::places_of(c, street, "grid", &roots)?))
        })
        .await?;
    let ask = MeasureAsk {
        street_id: v.street_id,
        grids: grids.iter().map(|g| (g.id, g.path.clone())).collect(),
        roots: v.roots.clone(),
    };
    let as_of = crate::kernel::time::now_ms();
    let mut figures = Vec::new();
    for m in measures() {
        let r = match (m.read)(state.clone(), ask.clone()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(measure = m.id, error = %e, "cockpit measure failed");
                Default::default()
            }
        };
        let by: std::collections::HashMap<i64, Option<f64>> = r.grids.into_iter().collect();
        let by_org = match m.by_org {
            Some(read) => read(state.clone(), ask.clone()).await.unwrap_or_else(|e| {
                tracing::error!(measure = m.id, error = %e, "cockpit measure by organisation failed");
                Vec::new()
            }),
            None => Vec::new(),
        };
        figures.push(Figure {
            measure: m,
            by_org,
            grids: grids
                .iter()
                .map(|g| by.get(&g.id).copied().flatten())
                .collect(),
            total: r.total,
        });
    }
    // The organisations' names, read once with the board rather than on every request.
    let ids: Vec<i64> = figures
        .iter()
        .flat_map(|f| f.by_org.iter().map(|(id, _)| *id))
        .collect();
    let org_names = if ids.is_empty() {
        Default::default()
    } else {
        state
            .db
            .read(move |c| crate::org::orgs::names(c, ids))
            .await?
    };
    Ok(Board {
        street_name: name,
        grids,
        figures,
        as_of,
        org_names,
    })
}

/// A value as shown: "<5" for a count of persons below 5 when `protect` (the big screen and
/// anything shown outside the office), else the number in the measure's unit.
pub fn shown(m: &Measure, v: Option<f64>, protect: bool) -> String {
    let Some(x) = v else {
        return "—".to_string();
    };
    if protect && m.persons && x > 0.0 && x < SMALL {
        return "<5".to_string();
    }
    match m.unit {
        Unit::Count => crate::kernel::i18n::thousands(x.round() as i64),
        Unit::Percent => format!("{x:.1}%"),
        Unit::Hours => format!("{x:.1}"),
        Unit::Rating => format!("{x:.1}"),
    }
}

/// Today's snapshot of every measure, per grid, community and the street, for each street not
/// yet taken today; how many streets were taken. The rows themselves are the watermark: a
/// restart finds today's and takes nothing again.
pub async fn snapshot(state: &Arc<AppState>) -> anyhow::Result<usize> {
    let day = crate::kernel::time::today().format("%Y-%m-%d").to_string();
    let streets = state.db.read(store::streets).await?;
    let mut taken = 0;
    for street in streets {
        let d = day.clone();
        if state
            .db
            .read(move |c| store::has_day(c, street, &d))
            .await?
        {
            continue;
        }
        snapshot_street(state, street, &day).await?;
        taken += 1;
    }
    Ok(taken)
}

/// Takes (or takes again) a street's snapshot for `day`.
pub async fn snapshot_street(state: &Arc<AppState>, street: i64, day: &str) -> anyhow::Result<()> {
    let Some((path, _)) = state.db.read(move |c| store::street(c, street)).await? else {
        return Ok(());
    };
    let roots = vec![path];
    let r2 = roots.clone();
    let places = state
        .db
        .read(move |c| {
            let mut v = store::places_of(c, street, "community", &r2)?;
            v.extend(store::places_of(c, street, "grid", &r2)?);
            Ok(v)
        })
        .await?;
    let ask = MeasureAsk {
        street_id: street,
        grids: places.iter().map(|g| (g.id, g.path.clone())).collect(),
        roots,
    };
    let mut rows: Vec<(&'static str, i64, Option<f64>)> = Vec::new();
    for m in measures() {
        let r = (m.read)(state.clone(), ask.clone()).await?;
        for (id, v) in r.grids {
            rows.push((m.id, id, v));
        }
        rows.push((m.id, street, r.total));
    }
    let day = day.to_string();
    state
        .db
        .write(move |c| {
            for (m, place, v) in &rows {
                store::put(c, street, m, *place, &day, *v)?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}

/// The places whose snapshots make the viewer's total: her roots' own rows.
pub async fn root_ids(state: &Arc<AppState>, v: &Viewer) -> AppResult<Vec<i64>> {
    let roots = v.roots.clone();
    let street = v.street_id;
    Ok(state
        .db
        .read(move |c| {
            let mut ids = Vec::new();
            for kind in ["street", "community"] {
                ids.extend(
                    store::places_of(c, street, kind, &roots)?
                        .into_iter()
                        .filter(|p| roots.contains(&p.path))
                        .map(|p| p.id),
                );
            }
            Ok(ids)
        })
        .await?)
}

/// The first day of a trend over the last `days` days (7, 30 or 90; else 422).
fn trend_from(days: i64) -> AppResult<String> {
    if !matches!(days, 7 | 30 | 90) {
        return Err(AppError::invalid("cockpit.err_days"));
    }
    Ok(
        (crate::kernel::time::today() - chrono::Days::new(days as u64 - 1))
            .format("%Y-%m-%d")
            .to_string(),
    )
}

/// A measure's daily values over the last `days` days, summed over the viewer's places (for
/// a rate, a viewer of one place reads that place's own).
pub async fn trend(
    state: &Arc<AppState>,
    v: &Viewer,
    m: &'static Measure,
    days: i64,
) -> AppResult<Vec<(String, Option<f64>)>> {
    Ok(trends(state, v, &[m], days)
        .await?
        .pop()
        .unwrap_or_default())
}

/// The trends of `list`, in its order: the viewer's places found once, every series read on
/// one reader.
pub async fn trends(
    state: &Arc<AppState>,
    v: &Viewer,
    list: &[&'static Measure],
    days: i64,
) -> AppResult<Vec<Vec<(String, Option<f64>)>>> {
    let from = trend_from(days)?;
    let ids = root_ids(state, v).await?;
    let street = v.street_id;
    let ms: Vec<&'static str> = list.iter().map(|m| m.id).collect();
    Ok(state
        .db
        .read(move |c| {
            ms.iter()
                .map(|m| store::trend(c, street, m, &ids, &from))
                .collect()
        })
        .await?)
}
