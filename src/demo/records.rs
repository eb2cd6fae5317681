//! The demo's owners, rental registrations, vehicles and a street-defined tag, derived
//! deterministically from the households already loaded: owner-occupied units belong to the
//! head (half each with a spouse); a rented unit belongs to a head living elsewhere in the same
//! street, who registered the rental with the unit's residents as tenants; about a third of
//! working-age heads keep a car, some with green new-energy plates.

use chrono::NaiveDate;

use crate::params;
use crate::store::{Conn, Result, StoreError, Val, now_ms};

const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";

fn mix(x: i64) -> u64 {
    // SplitMix64: a fixed, well-spread function of the id, so the demo is reproducible.
    let mut z = (x as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn plate(person: i64) -> (String, bool) {
    let h = mix(person);
    let office = LETTERS[(h % 6) as usize] as char; // 沪A–沪F, as the city issues them
    let new_energy = h.is_multiple_of(4);
    if new_energy {
        let e = if (h >> 8).is_multiple_of(3) { 'F' } else { 'D' };
        let second = LETTERS[((h >> 12) % LETTERS.len() as u64) as usize] as char;
        (
            format!("沪{office}{e}{second}{:04}", (h >> 20) % 10_000),
            true,
        )
    } else {
        let l = LETTERS[((h >> 12) % LETTERS.len() as u64) as usize] as char;
        (format!("沪{office}{l}{:04}", (h >> 20) % 10_000), false)
    }
}

fn chunks(c: &mut dyn Conn, table: &str, cols: &[&str], rows: Vec<Vec<Val>>) -> Result<()> {
    for part in rows.chunks(2000) {
        c.insert_many(table, cols, part)?;
    }
    Ok(())
}

pub fn seed(c: &mut dyn Conn, today: NaiveDate) -> std::result::Result<(), StoreError> {
    let now = now_ms();
    // Owner-occupied units: the first household's head, half each with a spouse.
    c.exec(
        "INSERT INTO unit_owners (street_id, unit_id, place_path, person_id, share_pct, since, created_at) \
         SELECT h.street_id, h.unit_id, h.place_path, h.head_person_id, \
           CASE WHEN EXISTS (SELECT 1 FROM persons s WHERE s.household_id = h.id AND s.relation = 'spouse') THEN 50 ELSE 100 END, \
           NULL, $1 \
         FROM households h JOIN places u ON u.id = h.unit_id \
         WHERE u.unit_use = 'self_occupied' AND h.head_person_id IS NOT NULL \
           AND h.id = (SELECT MIN(h2.id) FROM households h2 WHERE h2.unit_id = h.unit_id)",
        params![now],
    )?;
    c.exec(
        "INSERT INTO unit_owners (street_id, unit_id, place_path, person_id, share_pct, since, created_at) \
         SELECT h.street_id, h.unit_id, h.place_path, MIN(s.id), 50, NULL, $1 \
         FROM households h JOIN places u ON u.id = h.unit_id JOIN persons s ON s.household_id = h.id AND s.relation = 'spouse' \
         WHERE u.unit_use = 'self_occupied' AND h.head_person_id IS NOT NULL \
           AND h.id = (SELECT MIN(h2.id) FROM households h2 WHERE h2.unit_id = h.unit_id) \
         GROUP BY h.street_id, h.unit_id, h.place_path",
        params![now],
    )?;
    // Landlords: heads of owner-occupied homes in the same street, taken in turn.
    let landlords = c.query(
        "SELECT o.street_id, o.person_id FROM unit_owners o WHERE o.share_pct = 100 ORDER BY o.street_id, o.id",
        &[],
    )?;
    let mut by_street: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    for r in &landlords {
        by_street.entry(r.i64(0)).or_default().push(r.i64(1));
    }
    let rented = c.query(
        "SELECT id, street_id, path FROM places WHERE kind = 'unit' AND unit_use = 'rented' ORDER BY id",
        &[],
    )?;
    let tenants = c.query(
        "SELECT p.unit_id, p.id FROM persons p JOIN places u ON u.id = p.unit_id \
         WHERE u.unit_use = 'rented' AND p.residence <> 'left' ORDER BY p.unit_id, p.id",
        &[],
    )?;
    let mut tenants_of: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    for r in &tenants {
        tenants_of.entry(r.i64(0)).or_default().push(r.i64(1));
    }
    let mut rental_id = c.query_i64("SELECT COALESCE(MAX(id), 0) + 1 FROM rentals", &[])?;
    let (mut owners, mut rentals, mut links) = (Vec::new(), Vec::new(), Vec::new());
    let mut turn: std::collections::HashMap<i64, usize> = Default::default();
    let mut seq: std::collections::HashMap<i64, i64> = Default::default();
    for u in &rented {
        let (unit, street, path) = (u.i64(0), u.i64(1), u.str(2));
        let Some(pool) = by_street.get(&street).filter(|p| !p.is_empty()) else {
            continue;
        };
        let Some(ts) = tenants_of.get(&unit) else {
            continue;
        };
        let k = turn.entry(street).or_default();
        let landlord = pool[*k % pool.len()];
        *k += 7;
        owners.push(vec![
            Val::Int(street),
            Val::Int(unit),
            Val::Text(path.clone()),
            Val::Int(landlord),
            Val::Real(100.0),
            Val::Null,
            Val::Int(now),
        ]);
        let h = mix(unit);
        let start = today - chrono::Days::new(h % 330);
        let end = start + chrono::Months::new(if h.is_multiple_of(3) { 24 } else { 12 });
        let n = seq.entry(street).or_default();
        *n += 1;
        rentals.push(vec![
            Val::Int(rental_id),
            Val::Int(street),
            Val::Int(unit),
            Val::Text(path),
            Val::Text(format!(
                "ZL{}{:03}{:05}",
                start.format("%Y"),
                street % 1000,
                n
            )),
            Val::Int(landlord),
            Val::Text(start.format("%Y-%m-%d").to_string()),
            Val::Text(end.format("%Y-%m-%d").to_string()),
            Val::Text("active".into()),
            Val::Text(String::new()),
            Val::Int(now),
            Val::Int(now),
        ]);
        for t in ts {
            links.push(vec![Val::Int(street), Val::Int(rental_id), Val::Int(*t)]);
        }
        rental_id += 1;
    }
    chunks(
        c,
        "unit_owners",
        &[
            "street_id",
            "unit_id",
            "place_path",
            "person_id",
            "share_pct",
            "since",
            "created_at",
        ],
        owners,
    )?;
    chunks(
        c,
        "rentals",
        &[
            "id",
            "street_id",
            "unit_id",
            "place_path",
            "reg_no",
            "landlord_id",
            "start_date",
            "end_date",
            "state",
            "notes",
            "created_at",
            "updated_at",
        ],
        rentals,
    )?;
    chunks(
        c,
        "rental_tenants",
        &["street_id", "rental_id", "person_id"],
        links,
    )?;
    c.sync_id_sequence("rentals")?;
    // Cars: about a third of heads aged 25 to 70.
    let young = (today - chrono::Months::new(25 * 12))
        .format("%Y-%m-%d")
        .to_string();
    let old = (today - chrono::Months::new(70 * 12))
        .format("%Y-%m-%d")
        .to_string();
    let heads = c.query(
        "SELECT id, street_id, place_path FROM persons WHERE relation = 'head' AND residence <> 'left' \
         AND birth_date <= $1 AND birth_date > $2 ORDER BY id",
        params![young, old],
    )?;
    let mut seen = std::collections::HashSet::new();
    let mut cars = Vec::new();
    for r in &heads {
        let id = r.i64(0);
        if !mix(id ^ 0x5A5A).is_multiple_of(3) {
            continue;
        }
        let (text, green) = plate(id);
        if !seen.insert((r.i64(1), text.clone())) {
            continue;
        }
        let spot = mix(id) % 400 + 1;
        let parking = if spot.is_multiple_of(2) {
            format!("地库 B1-{spot:03}")
        } else {
            format!("地面车位 {spot}")
        };
        cars.push(vec![
            Val::Int(r.i64(1)),
            Val::Text(text),
            Val::from(green),
            Val::Int(id),
            Val::Text(r.str(2)),
            Val::Text(parking),
            Val::Int(now),
            Val::Int(now),
        ]);
    }
    chunks(
        c,
        "vehicles",
        &[
            "street_id",
            "plate",
            "new_energy",
            "owner_id",
            "place_path",
            "parking",
            "created_at",
            "updated_at",
        ],
        cars,
    )?;
    // A tag the street defined itself: households on minimum living allowance (低保).
    c.exec(
        "INSERT INTO tag_defs (street_id, code, name_zh, name_en, created_by, created_at) \
         SELECT id, 'low_income', '低保户', 'minimum living allowance', NULL, $1 FROM places WHERE kind = 'street'",
        params![now],
    )?;
    let since = (today - chrono::Months::new(18))
        .format("%Y-%m-%d")
        .to_string();
    let heads: Vec<Vec<Val>> = c
        .query(
            "SELECT id, street_id FROM persons WHERE relation = 'head' AND residence <> 'left' ORDER BY id",
            &[],
        )?
        .iter()
        .filter(|r| mix(r.i64(0) ^ 0x10B).is_multiple_of(40))
        .map(|r| {
            vec![
                Val::Int(r.i64(1)),
                Val::Int(r.i64(0)),
                Val::Text("low_income".into()),
                Val::Text(since.clone()),
                Val::Null,
                Val::Text("民政".into()),
                Val::Int(now),
            ]
        })
        .collect();
    chunks(
        c,
        "person_tags",
        &[
            "street_id",
            "person_id",
            "tag",
            "valid_from",
            "valid_to",
            "source",
            "created_at",
        ],
        heads,
    )?;
    Ok(())
}

/// Makes a person an owner of the unit she lives in (the demo's resident, so that a vote of
/// her stairwell names her): alone when it has no owner, else half of it, the others' shares
/// halved.
pub fn make_owner(c: &mut dyn Conn, person: i64) -> Result<()> {
    let Some(r) = c.query_opt(
        "SELECT u.street_id, u.id, u.path FROM persons p JOIN places u ON u.id = p.unit_id WHERE p.id = $1",
        params![person],
    )?
    else {
        return Ok(());
    };
    let (street, unit, path) = (r.i64(0), r.i64(1), r.str(2));
    if c.query_opt(
        "SELECT id FROM unit_owners WHERE unit_id = $1 AND person_id = $2",
        params![unit, person],
    )?
    .is_some()
    {
        return Ok(());
    }
    let others = c.query_i64(
        "SELECT COUNT(*) FROM unit_owners WHERE unit_id = $1",
        params![unit],
    )?;
    let share = if others == 0 {
        100.0
    } else {
        c.exec(
            "UPDATE unit_owners SET share_pct = share_pct / 2 WHERE unit_id = $1",
            params![unit],
        )?;
        50.0
    };
    c.exec(
        "INSERT INTO unit_owners (street_id, unit_id, place_path, person_id, share_pct, since, created_at) \
         VALUES ($1, $2, $3, $4, $5, NULL, $6)",
        params![street, unit, path, person, share, now_ms()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::plate::Plate;

    #[test]
    fn demo_plates_are_valid_plates() {
        for id in 0..5000 {
            let (text, green) = plate(id);
            let p = Plate::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(p.is_new_energy(), green, "{text}");
        }
    }
}
