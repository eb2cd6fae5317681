//! What sensing contributes to the cockpit: alerts active now and devices online, per grid.
//! Both read the current state of the street's alerts (the `active` ones: at most one per rule
//! and device) and devices, never the history of readings or of cleared alerts.

use std::sync::Arc;

use crate::http::area::{Measure, MeasureAsk, Reading, Unit};
use crate::state::AppState;
use crate::store::{Conn, Result, Val, under_paths};

async fn per_grid(
    state: Arc<AppState>,
    ask: MeasureAsk,
    one: fn(&mut dyn Conn, i64, &[String]) -> Result<i64>,
) -> anyhow::Result<Reading> {
    Ok(state
        .db
        .read(move |c| {
            let mut out = Reading::default();
            for (id, path) in &ask.grids {
                let n = one(c, ask.street_id, std::slice::from_ref(path))?;
                out.grids.push((*id, Some(n as f64)));
            }
            out.total = Some(one(c, ask.street_id, &ask.roots)? as f64);
            Ok(out)
        })
        .await?)
}

fn active_alerts(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<i64> {
    let mut p: Vec<Val> = vec![street.into()];
    let cond = under_paths("place_path", paths, 2, &mut p);
    c.query_i64(
        &format!("SELECT COUNT(*) FROM alerts WHERE street_id = $1 AND active = 1 AND {cond}"),
        &p,
    )
}

fn devices_online(c: &mut dyn Conn, street: i64, paths: &[String]) -> Result<i64> {
    let mut p: Vec<Val> = vec![street.into(), crate::kernel::time::now_ms().into()];
    let cond = under_paths("d.place_path", paths, 3, &mut p);
    c.query_i64(
        &format!(
            "SELECT COUNT(*) FROM devices d JOIN device_profiles f ON f.id = d.profile_id \
             WHERE d.street_id = $1 AND d.active = 1 AND d.last_seen_at IS NOT NULL \
             AND $2 - d.last_seen_at <= f.report_interval_s * 1000 AND {cond}"
        ),
        &p,
    )
}

/// Sensing's measures on the cockpit.
pub static MEASURES: [Measure; 2] = [
    Measure {
        id: "sensing.alerts",
        label: "cockpit.m.sensing_alerts",
        definition: "cockpit.d.sensing_alerts",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(per_grid(s, a, active_alerts)),
        drill: |id, _| format!("/alerts?place={id}"),
    },
    Measure {
        id: "sensing.devices_online",
        label: "cockpit.m.sensing_devices",
        definition: "cockpit.d.sensing_devices",
        unit: Unit::Count,
        persons: false,
        read: |s, a| Box::pin(per_grid(s, a, devices_online)),
        drill: |id, _| format!("/devices?grid={id}"),
    },
];
