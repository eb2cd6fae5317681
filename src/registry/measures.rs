//! What the registry contributes to the cockpit: residents and the care tags (elderly living
//! alone, disabled) per grid, read from the kept population figures (`registry::counts`);
//! a street never counted is read from its records until the registry's job counts it.

use std::sync::Arc;

use crate::http::area::{Measure, MeasureAsk, Reading, Unit};
use crate::params;
use crate::state::AppState;
use crate::store::{Conn, Result};

/// (residents, tag → holders) of the place at `path`.
fn figures(c: &mut dyn Conn, path: &str) -> Result<Option<super::stats::Population>> {
    let Some(id) = c
        .query_opt("SELECT id FROM places WHERE path = $1", params![path])?
        .map(|r| r.i64(0))
    else {
        return Ok(None);
    };
    super::stats::population(c, id, crate::kernel::time::today())
}

fn value(p: &super::stats::Population, tag: Option<&str>) -> i64 {
    match tag {
        None => p.residents,
        Some(t) => p
            .by_tag
            .iter()
            .filter(|c| c.key == t)
            .map(|c| c.count)
            .sum(),
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn per_grid(
    state: Arc<AppState>,
    ask: MeasureAsk,
    tag: Option<&'static str>,
) -> anyhow::Result<Reading> {
    Ok(state
        .db
        .read(move |c| {
            let mut out = Reading::default();
            for (id, path) in &ask.grids {
                let n = figures(c, path)?.map_or(0, |p| value(&p, tag));
                out.grids.push((*id, Some(n as f64)));
            }
            let mut total = 0;
            for root in &ask.roots {
                total += figures(c, root)?.map_or(0, |p| value(&p, tag));
            }
            out.total = Some(total as f64);
            Ok(out)
        })
        .await?)
}

/// The registry's measures on the cockpit: all count persons.
pub static MEASURES: [Measure; 3] = [
    Measure {
        id: "registry.residents",
        label: "cockpit.m.registry_residents",
        definition: "cockpit.d.registry_residents",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(per_grid(s, a, None)),
        drill: |_, path| format!("/persons?under={}", enc(path)),
    },
    Measure {
        id: "registry.elderly_alone",
        label: "cockpit.m.registry_elderly_alone",
        definition: "cockpit.d.registry_elderly_alone",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(per_grid(s, a, Some("elderly_alone"))),
        drill: |_, path| format!("/persons?under={}&tag=elderly_alone", enc(path)),
    },
    Measure {
        id: "registry.disabled",
        label: "cockpit.m.registry_disabled",
        definition: "cockpit.d.registry_disabled",
        unit: Unit::Count,
        persons: true,
        read: |s, a| Box::pin(per_grid(s, a, Some("disabled"))),
        drill: |_, path| format!("/persons?under={}&tag=disabled", enc(path)),
    },
];
