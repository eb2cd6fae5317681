//! What the demo street needs of reach: nothing is sent from a demo, so it only names each
//! community's duty worker (its first community worker), so that a care alert's chain has
//! its last step.

use crate::params;
use crate::store::{Conn, Result};

/// Sets each community's duty worker to one of its community workers.
pub fn seed(c: &mut dyn Conn, now: i64) -> Result<usize> {
    let streets: Vec<i64> = c
        .query("SELECT id FROM places WHERE kind = $1", params!["street"])?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    let mut n = 0;
    for street in streets {
        let grants = crate::org::users::place_grants_for_street(c, street)?;
        for g in grants
            .iter()
            .filter(|g| g.kind == "community" && g.role == "community_worker")
        {
            if let Some(p) = crate::org::places::by_path(c, &g.path)?
                && super::settings::duty(c, p.id)?.is_none()
            {
                super::settings::set_duty(c, street, p.id, g.user_id, 15, now)?;
                n += 1;
            }
        }
    }
    Ok(n)
}
