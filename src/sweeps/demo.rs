//! The demo street's sweeps: last season's gas-safety sweep of the demo community, finished
//! and closed (almost every door answered), and this season's repeat of it in progress (about
//! two doors in five answered, some found nobody home), so the progress page, the comparison
//! and the door list all have something to show.

use super::model::{Answers, DAY_MS, Question, QuestionKind, check_form};
use super::store::{self, NewCampaign};
use crate::org::users;
use crate::store::{Conn, Result, StoreError};

fn form() -> Result<Vec<Question>> {
    let q = |label: &str, kind, options: &[&str]| Question {
        key: String::new(),
        label: label.to_string(),
        kind,
        options: options.iter().map(|o| o.to_string()).collect(),
    };
    check_form(vec![
        q("家中有无独居或高龄老人", QuestionKind::YesNo, &[]),
        q(
            "燃气报警器",
            QuestionKind::Choice,
            &["已安装", "未安装", "不使用燃气"],
        ),
        q("常住人数", QuestionKind::Number, &[]),
        q("其他需要帮助的情况", QuestionKind::Text, &[]),
    ])
    .map_err(|e| StoreError::Db(format!("demo sweep: {}", e.key)))
}

/// What the demo door `household` answered in round `round` (0: last season, 1: now): more
/// alarms installed the second time.
fn answers(household: i64, round: i64) -> Answers {
    let mut a = Answers::new();
    // A spread that does not follow the order the doors were visited in.
    let x = (household as u64).wrapping_mul(2_654_435_761) >> 8;
    let alarm = match x % 10 {
        n if n < 5 + 2 * round as u64 => "已安装",
        8 => "不使用燃气",
        _ => "未安装",
    };
    a.insert("q1".into(), serde_json::Value::Bool(x.is_multiple_of(7)));
    a.insert("q2".into(), alarm.into());
    a.insert("q3".into(), (1 + household % 4).into());
    if household % 23 == 0 {
        a.insert("q4".into(), "楼道灯坏了，老人晚上出门不便".into());
    }
    a
}

/// Writes a campaign over `path` and makes its doors; returns its id and doors.
#[allow(clippy::too_many_arguments)]
fn campaign(
    c: &mut dyn Conn,
    title: &str,
    place: (i64, &str, &str),
    street: i64,
    author: (i64, &str),
    previous: Option<i64>,
    started: i64,
) -> Result<(i64, Vec<(i64, i64)>)> {
    let questions = form()?;
    let paths = vec![place.1.to_string()];
    let id = store::insert(
        c,
        &NewCampaign {
            street_id: street,
            title,
            questions: &questions,
            scope: &[place.0],
            scope_paths: &paths,
            scope_label: place.2,
            retention_days: 180,
            previous_id: previous,
            author_id: author.0,
            author: author.1,
            author_path: place.1,
            now: started,
        },
    )?;
    super::service::make_doors(c, id, street, &paths, started)
        .map_err(|e| StoreError::Db(format!("demo sweep: {}", e.key)))?;
    let doors = c
        .query(
            "SELECT household_id, COALESCE(assignee_id, $2) FROM sweep_tasks WHERE campaign_id = $1 ORDER BY household_id",
            crate::params![id, author.0],
        )?
        .iter()
        .map(|r| (r.i64(0), r.i64(1)))
        .collect();
    Ok((id, doors))
}

fn visit(
    c: &mut dyn Conn,
    id: i64,
    street: i64,
    door: (i64, i64),
    round: i64,
    answered: bool,
    at: i64,
) -> Result<()> {
    let (household, by) = door;
    let outcome = if answered { "answered" } else { "nobody_home" };
    let cid = format!("demo-{id}-{household}-{outcome}");
    store::keep_submission(c, id, household, &cid, street, outcome, by, at)?;
    if answered {
        store::answer(c, id, household, &answers(household, round), by, at)
    } else {
        store::nobody_home(c, id, household, at)
    }
}

/// Writes the demo sweeps (the demo accounts exist).
pub fn seed(c: &mut dyn Conn, now: i64) -> Result<()> {
    let Some(uid) = users::exists(c, "shegong")? else {
        return Ok(());
    };
    let Some(u) = users::by_id(c, uid)? else {
        return Ok(());
    };
    let (Some(place), Some(street)) = (u.grants.iter().find_map(|g| g.place.clone()), u.street_id)
    else {
        return Ok(());
    };
    let at = (place.id, place.path.as_str(), place.name.as_str());
    let author = (uid, u.display_name.as_str());

    // Last season: started 60 days ago, every door visited within a fortnight, closed.
    let began = now - 60 * DAY_MS;
    let (first, doors) = campaign(c, "冬季燃气安全入户排摸", at, street, author, None, began)?;
    for (i, d) in doors.iter().enumerate() {
        let at = began + (i as i64 % 14) * DAY_MS + 3_600_000;
        if i % 19 == 5 {
            visit(c, first, street, *d, 0, false, at)?;
        }
        if i % 31 != 7 {
            visit(c, first, street, *d, 0, true, at + DAY_MS)?;
        }
    }
    store::mark_closed(c, first, began + 20 * DAY_MS, began + 200 * DAY_MS)?;

    // This season's repeat, in progress: two doors in five answered, some nobody home.
    let began = now - 3 * DAY_MS;
    let (second, doors) = campaign(
        c,
        "春季燃气安全入户排摸",
        at,
        street,
        author,
        Some(first),
        began,
    )?;
    for (i, d) in doors.iter().enumerate() {
        let at = began + (i as i64 % 3) * DAY_MS + 7_200_000;
        match i % 5 {
            0 | 1 => visit(c, second, street, *d, 1, true, at)?,
            2 if i % 2 == 0 => visit(c, second, street, *d, 1, false, at)?,
            _ => {}
        }
    }
    Ok(())
}
