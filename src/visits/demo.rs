//! The demo street's visits and roster, so the first run shows a grid worker's week: plans for
//! the elderly living alone (monthly) and the disabled (quarterly); visits in the past in the
//! demo grid — some recent, some long enough ago to be overdue, some never made; a visit to
//! the demo resident; the roster's own tags (卧床, 透析, 居家吸氧) given to a few persons of the
//! grid, and helpers for several people on the roster.

use chrono::Months;

use super::model::Checked;
use super::store;
use crate::org::users;
use crate::params;
use crate::registry::records::{Actor, NewTag};
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result};

const DAY: i64 = 24 * 60 * 60 * 1000;

/// The roster's tags a street defines beside the built-in ones.
const ROSTER_TAG_DEFS: [(&str, &str, &str); 3] = [
    ("bed_bound", "卧床", "bed-bound"),
    ("dialysis", "透析", "on dialysis"),
    ("oxygen", "居家吸氧", "on home oxygen"),
];

const HELPERS: [(&str, &str, &str, &str); 5] = [
    (
        "王建国",
        "family",
        "13912345678",
        "儿子，住浦东，半小时可到",
    ),
    ("赵秀兰", "neighbour", "13812348765", "对门邻居，有备用钥匙"),
    ("孙志强", "volunteer", "13612340001", "楼组志愿者"),
    ("李红梅", "family", "13712342233", "女儿"),
    ("周志明", "volunteer", "021-58881234", "居委值班电话转"),
];

fn visit(
    person: Option<i64>,
    household: Option<i64>,
    at: i64,
    how: &'static str,
    health: &'static str,
    needs: Vec<&'static str>,
    notes: &str,
) -> Checked {
    Checked {
        person_id: person,
        household_id: household,
        visited_at: at,
        visited_on: crate::kernel::time::local(at)
            .map(|t| t.date_naive())
            .unwrap_or_default(),
        how,
        health,
        living: "fair",
        needs,
        notes: notes.to_string(),
        referral: String::new(),
        next_on: None,
        case: None,
    }
}

/// Writes the demo visits and roster (the demo accounts exist).
pub fn seed(c: &mut dyn Conn, keys: &FieldKeys, now: i64) -> Result<()> {
    let Some(worker) = users::exists(c, "wangge")? else {
        return Ok(());
    };
    let Some(u) = users::by_id(c, worker)? else {
        return Ok(());
    };
    let (Some(street), Some(grid)) = (u.street_id, u.grants.iter().find_map(|g| g.place.clone()))
    else {
        return Ok(());
    };
    let admin = users::exists(c, "admin")?.unwrap_or(worker);
    let who = Actor {
        user_id: admin,
        source: "demo",
    };
    for (code, zh, en) in ROSTER_TAG_DEFS {
        let _ = crate::registry::records::create_tag(
            c,
            street,
            &NewTag {
                code: code.into(),
                name_zh: zh.into(),
                name_en: Some(en.into()),
            },
            who,
        )?;
    }
    let today = crate::kernel::time::today();
    let starts = (today - Months::new(4)).format("%Y-%m-%d").to_string();
    store::insert_plan(c, street, "elderly_alone", 1, 7, &starts, admin, now)?;
    store::insert_plan(c, street, "disabled", 3, 14, &starts, admin, now)?;
    let paths = vec![grid.path.clone()];
    let alone =
        crate::registry::residents::reached(c, street, &paths, &["elderly_alone".into()], &[])?;
    let name = u.display_name.clone();
    let notes = [
        "身体尚可，独自买菜做饭；提醒按时服降压药。",
        "腿脚不便，希望有人帮忙送餐；已告知助餐点电话。",
        "家中电线老化，建议物业检查；子女每周来一次。",
        "情绪低落，说晚上睡不好；约好下月再来聊聊。",
    ];
    for (i, r) in alone.iter().enumerate() {
        // A third recent, a third overdue (six weeks ago), a third never visited.
        let ago = match i % 3 {
            0 => 5 + (i as i64 % 20),
            1 => 40 + (i as i64 % 30),
            _ => continue,
        };
        let at = now - ago * DAY - 3 * 60 * 60 * 1000;
        let needs = if i % 2 == 0 { vec!["meals"] } else { vec![] };
        let v = visit(
            Some(r.person_id),
            None,
            at,
            if i % 4 == 3 { "phone" } else { "door" },
            if i % 5 == 4 { "poor" } else { "good" },
            needs,
            notes[i % notes.len()],
        );
        store::insert_visit(
            c,
            street,
            &v,
            &r.place_path,
            (worker, &name),
            &[r.person_id],
            None,
            now,
        )?;
    }
    // The demo resident was visited at home last month.
    if let Some(j) = users::exists(c, "jumin")?
        && let Some(person) = users::by_id(c, j)?.and_then(|u| u.person_id)
        && let Some(r) = crate::registry::residents::resident(c, person)?
        && let Some(h) = r.household_id
    {
        let members: Vec<i64> = crate::registry::residents::members(c, h)?
            .iter()
            .map(|m| m.id)
            .collect();
        let v = visit(
            None,
            Some(h),
            now - 26 * DAY,
            "door",
            "good",
            vec!["repair"],
            "楼道灯坏了，已报物业；家里一切都好。",
        );
        store::insert_visit(
            c,
            street,
            &v,
            &r.place_path,
            (worker, &name),
            &members,
            None,
            now,
        )?;
    }
    // Helpers for several of the grid's elderly on the roster (the roster's own tags are
    // defined above, for workers to give as they learn of them).
    for (i, r) in alone.iter().take(6).enumerate() {
        let (hname, relation, phone, reach) = HELPERS[i % HELPERS.len()];
        let ph = crate::registry::idnum::Phone::parse(phone).expect("demo phone");
        c.exec(
            "INSERT INTO roster_helpers (street_id, person_id, name, relation, phone_enc, phone_masked, reach, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            params![street, r.person_id, hname, relation, keys.encrypt(ph.as_str()), ph.masked(), reach, admin, now],
        )?;
    }
    Ok(())
}
