//! What the demo street needs of eligibility: in every street a rule switched on (80 and over
//! → 高龄津贴) with its to-dos found and a few already closed, and a draft (a disability tag →
//! a subsidy check) waiting for its preview.

use super::store::{self, Definition};
use crate::kernel::time::today;
use crate::registry::criteria;
use crate::store::{Conn, Result};

/// Seeds the demo's rules and to-dos (once, with the demo's accounts made).
pub fn seed(c: &mut dyn Conn, now: i64) -> Result<()> {
    let admin = crate::org::users::exists(c, "admin")?.unwrap_or(0);
    let by = (admin, "周建华");
    let streets: Vec<i64> = c
        .query(
            "SELECT id FROM places WHERE kind = 'street' ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    for street in streets {
        let tags = criteria::tag_codes(c, street)?;
        let old_age = Definition {
            name: "高龄津贴".into(),
            benefit: "80 周岁以上老人高龄津贴".into(),
            condition: "年龄 >= 80".into(),
            tell_resident: true,
            resident_text: "您已年满 80 周岁，可以申请高龄津贴。请带身份证和户口簿到社区服务站办理，行动不便的可以请网格员上门。".into(),
        };
        let id = store::insert_rule(c, street, &old_age, by, now - 20 * DAY)?;
        store::set_state(c, id, "on", by, now - 20 * DAY)?;
        if let Some(rule) = store::get_rule(c, id)?
            && let Ok(crit) = super::condition::parse(&rule.condition, &tags)
        {
            let found = criteria::matching(c, street, &crit, &[], today())?;
            store::add_todos(c, &rule, &found, now - 20 * DAY)?;
        }
        let disabled = Definition {
            name: "残疾人两项补贴核查".into(),
            benefit: "困难残疾人生活补贴和重度残疾人护理补贴".into(),
            condition: "标签 = 残疾人".into(),
            tell_resident: false,
            resident_text: String::new(),
        };
        store::insert_rule(c, street, &disabled, by, now - 2 * DAY)?;
    }
    // A few to-dos of the first street closed with each outcome.
    let ids: Vec<i64> = c
        .query(
            "SELECT id FROM elig_todos ORDER BY place_path, id LIMIT 3",
            &[],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    for (id, outcome) in ids.into_iter().zip(["applied", "declined", "not_eligible"]) {
        store::close_todo(c, id, outcome, "", by, now - DAY)?;
    }
    Ok(())
}

const DAY: i64 = 24 * 60 * 60 * 1000;
