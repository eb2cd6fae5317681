//! The demo street's community fund: the first community's fund, kept by the demo resident
//! and the demo volunteer as representatives (one approval of two): scrap sold and a
//! neighbours' collection in, a stairwell sofa out, and a light bulb bought by the volunteer
//! waiting for the resident's approval (her home card asks her).

use super::model::{Kind, Rep};
use super::store::{self, NewEntry, NewFund};
use crate::org::users;
use crate::params;
use crate::store::{Conn, Result};

const DAY: i64 = 24 * 60 * 60 * 1000;

pub fn seed(c: &mut dyn Conn, now: i64) -> Result<()> {
    let (Some(worker), Some(jumin), Some(zhiyuan)) = (
        users::exists(c, "shegong")?,
        users::exists(c, "jumin")?,
        users::exists(c, "zhiyuan")?,
    ) else {
        return Ok(());
    };
    let (Some(w), Some(j), Some(z)) = (
        users::by_id(c, worker)?,
        users::by_id(c, jumin)?,
        users::by_id(c, zhiyuan)?,
    ) else {
        return Ok(());
    };
    let (Some(place), Some(street)) = (w.grants.iter().find_map(|g| g.place.clone()), w.street_id)
    else {
        return Ok(());
    };
    if j.id == z.id {
        return Ok(());
    }
    let Some(place_id) = c
        .query_opt(
            "SELECT id FROM places WHERE path = $1",
            params![place.path.clone()],
        )?
        .map(|r| r.i64(0))
    else {
        return Ok(());
    };
    let reps = [
        Rep {
            user_id: j.id,
            name: j.display_name.clone(),
        },
        Rep {
            user_id: z.id,
            name: z.display_name.clone(),
        },
    ];
    let fund = store::insert(
        c,
        &NewFund {
            street_id: street,
            place_id,
            place_path: &place.path,
            name: "楼道公共基金",
            required: 1,
            created_by: w.id,
            created_by_name: &w.display_name,
        },
        &reps,
        now - 30 * DAY,
    )?;
    // kind, fen, purpose, proposer, approver, approved this many days ago (or waiting).
    type Seed<'a> = (Kind, i64, &'a str, &'a Rep, &'a Rep, Option<i64>);
    let entries: [Seed; 4] = [
        (
            Kind::Income,
            8_650,
            "卖楼道废纸箱、旧报纸",
            &reps[0],
            &reps[1],
            Some(25),
        ),
        (
            Kind::Income,
            60_000,
            "居民自愿凑钱（12 户）",
            &reps[1],
            &reps[0],
            Some(20),
        ),
        (
            Kind::Expense,
            45_900,
            "一楼楼道休息沙发",
            &reps[0],
            &reps[1],
            Some(10),
        ),
        (
            Kind::Expense,
            2_400,
            "三楼声控灯泡两个",
            &reps[1],
            &reps[0],
            None,
        ),
    ];
    for (kind, amount, purpose, by, approver, days_ago) in entries {
        let at = now - days_ago.unwrap_or(1) * DAY;
        let id = store::insert_entry(
            c,
            &NewEntry {
                fund_id: fund,
                street_id: street,
                kind,
                sign: if kind == Kind::Expense { -1 } else { 1 },
                amount_fen: amount,
                purpose,
                reverses_id: None,
                by_user: by.user_id,
                by_name: &by.name,
            },
            at,
        )?;
        if days_ago.is_some() {
            store::approve(
                c,
                id,
                street,
                approver.user_id,
                &approver.name,
                at + 3_600_000,
            )?;
            store::mark_approved(c, id, at + 3_600_000)?;
        }
    }
    Ok(())
}
