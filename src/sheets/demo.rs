//! The demo street's sign-up sheets: an open group buy of rice and eggs for the first
//! community (forty households have signed up, the demo resident's has not, so her home page
//! asks her), and a closed sign-up for a health talk with one correction by the organiser.

use super::model::{self, Item};
use super::service::{freeze, household_key};
use super::store::{self, Lines, NewSheet};
use crate::notices::Audience;
use crate::org::users;
use crate::params;
use crate::store::{Conn, Result, StoreError};

const DAY: i64 = 24 * 60 * 60 * 1000;

fn app_err(e: crate::kernel::AppError) -> StoreError {
    StoreError::Db(format!("demo sheet: {}", e.key))
}

/// Writes the demo sheets (the demo accounts exist).
pub fn seed(c: &mut dyn Conn, now: i64) -> Result<()> {
    let Some(author) = users::exists(c, "shegong")? else {
        return Ok(());
    };
    let Some(u) = users::by_id(c, author)? else {
        return Ok(());
    };
    let (Some(place), Some(street)) = (u.grants.iter().find_map(|g| g.place.clone()), u.street_id)
    else {
        return Ok(());
    };
    let Some(community) = c
        .query_opt(
            "SELECT id FROM places WHERE path = $1",
            params![place.path.clone()],
        )?
        .map(|r| r.i64(0))
    else {
        return Ok(());
    };
    let jumin = users::exists(c, "jumin")?
        .and_then(|id| users::by_id(c, id).ok().flatten())
        .and_then(|u| u.person_id);
    let scope = vec![place.path.clone()];
    let audience = Audience {
        places: vec![community],
        ..Audience::default()
    };
    let sheets = [
        (
            "周五团购：五常大米、土鸡蛋",
            "合作社直供，周五下午 4 点在居委会门口取货，现场付款。",
            vec![
                Item {
                    name: "五常大米 5kg".into(),
                    price_fen: Some(4_500),
                },
                Item {
                    name: "土鸡蛋 30 枚".into(),
                    price_fen: Some(2_850),
                },
            ],
            now + 2 * DAY,
            3,
            40,
        ),
        (
            "健康讲座报名：老年人防跌倒",
            "社区卫生服务中心医生主讲，活动室，约一小时。",
            vec![Item {
                name: "参加人数".into(),
                price_fen: None,
            }],
            now - DAY,
            2,
            25,
        ),
    ];
    for (i, (title, intro, items, deadline, limit, n)) in sheets.into_iter().enumerate() {
        let (r, to) = freeze(c, &audience, &scope, Some(street), author).map_err(app_err)?;
        let id = store::insert(
            c,
            &NewSheet {
                street_id: r.street_id,
                title,
                intro,
                items: &items,
                audience: &audience,
                audience_label: &r.label,
                place_path: &place.path,
                deadline_at: deadline,
                household_limit: limit,
                author_id: author,
                author: &u.display_name,
                author_path: &place.path,
                now: now - 3 * DAY,
            },
            &to,
        )?;
        let jumin_home = to
            .iter()
            .find(|x| Some(x.person_id) == jumin)
            .map(household_key);
        let mut seen = std::collections::HashSet::new();
        let mut written = 0;
        for (k, who) in to.iter().enumerate() {
            let key = household_key(who);
            if written >= n || Some(&key) == jumin_home.as_ref() || !seen.insert(key.clone()) {
                continue;
            }
            if k % 3 != 0 {
                continue;
            }
            let lines: Vec<i64> = (0..items.len())
                .map(|j| ((k + j) % limit as usize) as i64 + if j == 0 { 1 } else { 0 })
                .map(|q| q.min(limit))
                .collect();
            let mut lines = lines;
            while lines.iter().sum::<i64>() > limit {
                if let Some(m) = lines.iter_mut().find(|q| **q > 0) {
                    *m -= 1;
                }
            }
            let quantity = lines.iter().sum();
            let at = now - 2 * DAY + k as i64 * 60_000;
            let note = if k % 7 == 0 { "下班后取" } else { "" };
            let eid = store::upsert(
                c,
                r.street_id,
                id,
                &key,
                who,
                &Lines {
                    lines: &lines,
                    quantity,
                    amount_fen: model::amount(&items, &lines),
                    note,
                },
                at,
            )?;
            if i == 1 && written == 0 {
                let e = store::entry_by_id(c, eid)?
                    .ok_or_else(|| StoreError::Db("demo sheet".into()))?;
                let after = vec![1i64];
                store::correct(
                    c,
                    &e,
                    &Lines {
                        lines: &after,
                        quantity: 1,
                        amount_fen: 0,
                        note,
                    },
                    (author, &u.display_name),
                    (
                        &model::describe(&items, &e.lines, &e.note),
                        &model::describe(&items, &after, note),
                        "电话告知老伴不来了",
                    ),
                    r.street_id,
                    now - DAY - 3_600_000,
                )?;
            }
            written += 1;
        }
    }
    Ok(())
}
