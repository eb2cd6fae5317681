//! What the demo street needs of supplies: in each community's store water that expires in
//! three weeks, torches below their minimum, first-aid kits, and folding beds partly lent to
//! the volunteers.

use super::store::{self, By, NewItem};
use crate::kernel::time::today;
use crate::store::{Conn, Result};

pub fn seed(c: &mut dyn Conn, now: i64) -> Result<()> {
    let communities: Vec<(i64, i64, String)> = c
        .query(
            "SELECT street_id, id, path FROM places WHERE kind = 'community' AND street_id IS NOT NULL ORDER BY path LIMIT 20",
            &[],
        )?
        .iter()
        .map(|r| (r.i64(0), r.i64(1), r.str(2)))
        .collect();
    let t = today();
    let by = By {
        name: "陈静",
        at: now - 7 * 24 * 60 * 60 * 1000,
    };
    for (street, place, path) in communities {
        let item = |c: &mut dyn Conn, name: &str, category: &str, unit: &str, min: i64| {
            store::insert_item(
                c,
                &NewItem {
                    street_id: street,
                    place_id: place,
                    place_path: &path,
                    name,
                    category,
                    unit,
                    min_level: min,
                },
                now,
            )
        };
        let water = item(c, "矿泉水", "water", "箱", 20)?;
        let soon = (t + chrono::Duration::days(20)).to_string();
        store::receive(c, water, 30, Some(&soon), "区应急办调拨", &by)?;
        let torch = item(c, "应急手电", "power", "个", 10)?;
        store::receive(c, torch, 6, None, "", &by)?;
        let kit = item(c, "急救包", "medical", "个", 5)?;
        let later = (t + chrono::Duration::days(400)).to_string();
        store::receive(c, kit, 15, Some(&later), "", &by)?;
        let bed = item(c, "折叠床", "shelter", "张", 4)?;
        store::receive(c, bed, 10, None, "", &by)?;
        let due = (t + chrono::Duration::days(3)).to_string();
        store::lend(c, bed, 4, "社区志愿服务队", Some(&due), &by)?;
    }
    Ok(())
}
