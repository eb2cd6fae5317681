//! The demo street's mutual aid: a handful of posts in the demo resident's community, by
//! neighbours in other buildings — spare blood-pressure medicine with its expiry, a drill to
//! lend, help needed to go to hospital, shopping for an elderly neighbour, a skill, a child's
//! bicycle — her own request for a ladder with a neighbour's answer waiting for her, a loan
//! done by both, and a post the community's worker hid with a reason. Deterministic: the
//! same street gives the same posts.

use super::model::{DAY_MS, Direction, Kind};
use super::service::{Home, home_at};
use super::store::{self, NewPost};
use crate::org::users;
use crate::store::{Conn, Result, StoreError};

fn app_err(e: crate::kernel::AppError) -> StoreError {
    StoreError::Db(format!("demo aid: {}", e.key))
}

fn date_in(now: i64, days: i64) -> String {
    crate::kernel::time::local_date(now + days * DAY_MS)
}

struct Demo {
    direction: Direction,
    kind: Kind,
    title: &'static str,
    body: &'static str,
    return_in: Option<i64>,
    expiry_in: Option<i64>,
    /// Days ago it was posted.
    ago: i64,
}

const POSTS: [Demo; 7] = [
    Demo {
        direction: Direction::Offer,
        kind: Kind::Medicine,
        title: "多余的降压药两盒（硝苯地平缓释片）",
        body: "医生调整了用药，剩下两盒未拆封，有需要的邻居请先问过自己的医生。",
        return_in: None,
        expiry_in: Some(240),
        ago: 2,
    },
    Demo {
        direction: Direction::Offer,
        kind: Kind::Lend,
        title: "冲击电钻出借",
        body: "带几个钻头，装窗帘、挂画都行，用完请归还。",
        return_in: Some(14),
        expiry_in: None,
        ago: 1,
    },
    Demo {
        direction: Direction::Request,
        kind: Kind::Help,
        title: "周四上午需要人陪同去医院复查",
        body: "腿脚不便，想请邻居陪同去区中心医院，打车费我出。",
        return_in: None,
        expiry_in: None,
        ago: 1,
    },
    Demo {
        direction: Direction::Request,
        kind: Kind::Help,
        title: "帮独居老人代买蔬菜",
        body: "楼上的奶奶行动不便，每周想请人帮忙从菜场带一次菜。",
        return_in: None,
        expiry_in: None,
        ago: 3,
    },
    Demo {
        direction: Direction::Offer,
        kind: Kind::Skill,
        title: "义务修理小家电",
        body: "退休电工，电风扇、电饭煲等小毛病可以帮忙看看，周末在家。",
        return_in: None,
        expiry_in: None,
        ago: 4,
    },
    Demo {
        direction: Direction::Offer,
        kind: Kind::Goods,
        title: "儿童自行车（八成新）免费送",
        body: "孩子长高了骑不了，适合四到六岁。",
        return_in: None,
        expiry_in: None,
        ago: 5,
    },
    Demo {
        direction: Direction::Offer,
        kind: Kind::Skill,
        title: "小学数学作业辅导",
        body: "周一到周五晚上七点后可以在线答疑。",
        return_in: None,
        expiry_in: None,
        ago: 6,
    },
];

fn post(c: &mut dyn Conn, h: &Home, d: &Demo, now: i64) -> Result<i64> {
    let at = now - d.ago * DAY_MS;
    let expiry_on = d.expiry_in.map(|x| date_in(now, x));
    let expires_at = match d.expiry_in {
        Some(x) => (at + 30 * DAY_MS).min(now + x * DAY_MS),
        None => at + 30 * DAY_MS,
    };
    store::insert_post(
        c,
        &NewPost {
            street_id: h.street_id,
            community_id: h.community.id,
            community_path: &h.community.path,
            building_id: h.building.as_ref().map(|b| b.id),
            poster_person: h.person,
            poster_user: None,
            poster_label: &h.label,
            direction: d.direction,
            kind: d.kind,
            title: d.title,
            body: d.body,
            return_on: d.return_in.map(|x| date_in(now, x)),
            expiry_on,
            expires_at,
            now: at,
        },
    )
}

/// Writes the demo posts (the demo accounts exist).
pub fn seed(c: &mut dyn Conn, now: i64) -> Result<()> {
    let Some(jumin_user) = users::exists(c, "jumin")? else {
        return Ok(());
    };
    let Some(person) = users::by_id(c, jumin_user)?.and_then(|u| u.person_id) else {
        return Ok(());
    };
    let Some(me) = home_at(c, person).map_err(app_err)? else {
        return Ok(());
    };
    // Neighbours: the heads of households in other buildings of her community, spread out.
    let households = crate::registry::residents::households_under(c, &me.community.path)?;
    let mut neighbours: Vec<Home> = Vec::new();
    let mut buildings = std::collections::HashSet::new();
    if let Some(b) = &me.building {
        buildings.insert(b.id);
    }
    for h in households.iter().step_by(3) {
        if neighbours.len() >= POSTS.len() + 2 {
            break;
        }
        let Some(head) = crate::registry::residents::members(c, h.id)?
            .into_iter()
            .next()
        else {
            continue;
        };
        let Some(home) = home_at(c, head.id).map_err(app_err)? else {
            continue;
        };
        let b = home.building.as_ref().map(|b| b.id).unwrap_or(0);
        // A different building for each of the first few, then any.
        if home.person == me.person || (neighbours.len() < 4 && !buildings.insert(b)) {
            continue;
        }
        neighbours.push(home);
    }
    if neighbours.len() < POSTS.len() + 2 {
        return Ok(());
    }
    let mut ids = Vec::new();
    for (d, h) in POSTS.iter().zip(&neighbours) {
        ids.push(post(c, h, d, now)?);
    }
    // Her own request for a ladder, with a neighbour's answer she has not read.
    let ladder = post(
        c,
        &me,
        &Demo {
            direction: Direction::Request,
            kind: Kind::Lend,
            title: "借用折叠梯一天",
            body: "周六换灯泡用，当天归还。",
            return_in: Some(5),
            expiry_in: None,
            ago: 1,
        },
        now,
    )?;
    let helper = &neighbours[POSTS.len()];
    let v = store::insert_conversation(
        c,
        me.street_id,
        ladder,
        (helper.person, None, &helper.label),
        now - 20 * 60_000,
    )?;
    store::insert_message(
        c,
        me.street_id,
        v,
        helper.person,
        "我家有一把两米的折叠梯，周六上午可以来拿。",
        now - 20 * 60_000,
    )?;
    // The drill, lent to her and returned: done by both.
    let drill = ids[1];
    let lender = &neighbours[1];
    let v = store::insert_conversation(
        c,
        me.street_id,
        drill,
        (me.person, Some(jumin_user), &me.label),
        now - DAY_MS,
    )?;
    store::insert_message(
        c,
        me.street_id,
        v,
        me.person,
        "想借电钻装个窗帘杆，明天还。",
        now - DAY_MS,
    )?;
    store::insert_message(
        c,
        me.street_id,
        v,
        lender.person,
        "好的，晚上七点后来 3 楼门口拿。",
        now - DAY_MS + 3_600_000,
    )?;
    store::mark_read(c, v, me.person, now - DAY_MS + 4_000_000)?;
    store::mark_read(c, v, lender.person, now - DAY_MS + 4_000_000)?;
    if let Some(conv) = store::conversation(c, v, me.person)? {
        store::set_matched(c, drill, &conv, now - DAY_MS + 3_700_000)?;
        store::mark_done(c, drill, false, now - 2 * 3_600_000)?;
        store::mark_done(c, drill, true, now - 3_600_000)?;
    }
    // A post the community's worker hid: selling is not mutual aid.
    let seller = &neighbours[POSTS.len() + 1];
    let sold = post(
        c,
        seller,
        &Demo {
            direction: Direction::Offer,
            kind: Kind::Goods,
            title: "低价转让保健品",
            body: "原价 980，现价 300。",
            return_in: None,
            expiry_in: None,
            ago: 3,
        },
        now,
    )?;
    store::report(
        c,
        me.street_id,
        sold,
        me.person,
        "在卖东西，不是互助",
        now - 2 * DAY_MS,
    )?;
    if let Some(worker) = users::exists(c, "shegong")? {
        store::hide(
            c,
            sold,
            worker,
            "互助平台不做买卖，请到二手平台发布。",
            now - DAY_MS,
        )?;
    }
    Ok(())
}
