//! The demo street's surveys: the first community's satisfaction survey (社区满意度调查),
//! open, answered by a few dozen residents but not yet by the demo resident, so her home page
//! asks her; and a closed anonymous survey on where to put e-bike chargers, with its results.

use super::model::{Kind, Question, QuestionKind, Row, satisfaction_questions};
use super::store::{self, NewSurvey, Recipient, Sheet};
use crate::kernel::i18n::{Lang, Tr};
use crate::notices::Audience;
use crate::org::users;
use crate::params;
use crate::store::{Conn, Result, StoreError};

const DAY: i64 = 24 * 60 * 60 * 1000;
/// The most demo answers per survey (enough for charts, quick to write).
const ANSWERS: usize = 48;

fn app_err(e: crate::kernel::AppError) -> StoreError {
    StoreError::Db(format!("demo survey: {}", e.key))
}

/// Writes the demo surveys (the demo accounts exist).
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
            "SELECT id, name FROM places WHERE path = $1",
            params![place.path.clone()],
        )?
        .map(|r| (r.i64(0), r.str(1)))
    else {
        return Ok(());
    };
    let jumin = users::exists(c, "jumin")?
        .and_then(|id| users::by_id(c, id).ok().flatten())
        .and_then(|u| u.person_id);
    let t = Tr(Lang::Zh);
    let audience = Audience {
        places: vec![community.0],
        ..Audience::default()
    };
    let surveys = [
        (
            Kind::Satisfaction,
            // Not the template's title: the demo's own words for its satisfaction survey.
            format!("{} 2026 年度居民测评", community.1),
            t.s("surveys.tpl_intro").to_string(),
            satisfaction_questions(t),
            3,
            11,
        ),
        (
            Kind::General,
            "电动自行车集中充电点选址意见征集".to_string(),
            "小区计划新建电动自行车集中充电点，请选出您认为合适的位置。本问卷匿名。".to_string(),
            vec![
                Question {
                    kind: QuestionKind::Single,
                    prompt: "您家是否有电动自行车？".into(),
                    options: vec!["有".into(), "没有".into()],
                    required: true,
                },
                Question {
                    kind: QuestionKind::Multiple,
                    prompt: "您认为哪些位置合适？（可多选）".into(),
                    options: vec![
                        "北门自行车棚".into(),
                        "3 号楼东侧空地".into(),
                        "地下车库入口".into(),
                    ],
                    required: true,
                },
                Question {
                    kind: QuestionKind::Scale,
                    prompt: "您对建充电点的支持程度（1 不支持 — 5 非常支持）".into(),
                    options: Vec::new(),
                    required: false,
                },
                Question {
                    kind: QuestionKind::Text,
                    prompt: "其他建议".into(),
                    options: Vec::new(),
                    required: false,
                },
            ],
            20,
            -6,
        ),
    ];
    for (kind, title, intro, questions, days_ago, days_left) in surveys {
        let scope = std::slice::from_ref(&place.path);
        let r = crate::notices::service::resolve(c, &audience, None, (Some(street), scope))
            .map_err(app_err)?;
        let to: Vec<Recipient> = crate::notices::service::recipients(c, &r, &audience, author)
            .map_err(app_err)?
            .into_iter()
            .map(|x| Recipient {
                person_id: x.person_id,
                user_id: x.user_id,
                place_path: x.place_path,
            })
            .collect();
        let at = now - days_ago * DAY;
        let closes = now + days_left * DAY;
        let id = store::insert(
            c,
            &NewSurvey {
                street_id: r.street_id,
                kind,
                title: &title,
                intro: &intro,
                questions: &questions,
                audience: &audience,
                audience_label: &r.label,
                place_path: &place.path,
                anonymous: true,
                opens_at: None,
                closes_at: closes,
                author_id: author,
                author: &u.display_name,
                author_path: &place.path,
                now: at,
            },
        )?;
        store::publish(c, id, r.street_id, &to, at)?;
        // Every seventh recipient answers, the demo resident never: the same sheets every time.
        let mut n = 0;
        for (i, rcp) in to.iter().enumerate() {
            if n >= ANSWERS || i % 7 != 3 || (rcp.person_id.is_some() && rcp.person_id == jumin) {
                continue;
            }
            let k = i as i64;
            let rows: Vec<Row> = questions
                .iter()
                .enumerate()
                .flat_map(|(q, question)| {
                    let q = q as i64;
                    match question.kind {
                        QuestionKind::Scale => vec![(q, None, Some(2 + (k * 7 + q) % 4), None)],
                        QuestionKind::Single => {
                            vec![(q, Some((k + q) % question.options.len() as i64), None, None)]
                        }
                        QuestionKind::Multiple => {
                            let m = question.options.len() as i64;
                            let mut v = vec![(q, Some(k % m), None, None)];
                            if k % 3 == 0 {
                                v.push((q, Some((k + 1) % m), None, None));
                            }
                            v
                        }
                        QuestionKind::Text => match k % 5 {
                            0 => vec![(q, None, None, Some("希望晚上楼道灯能修好。".to_string()))],
                            1 => vec![(q, None, None, Some("垃圾分类点再多设一个。".to_string()))],
                            _ => Vec::new(),
                        },
                    }
                })
                .collect();
            store::answer(
                c,
                &Sheet {
                    survey_id: id,
                    street_id: r.street_id,
                    seq: k + 1,
                    user_id: None,
                    who: None,
                    rows: &rows,
                    now: at + (k % 48) * 3_600_000,
                },
            )?;
            n += 1;
        }
        if days_left < 0 {
            store::close(c, id, closes)?;
        }
    }
    Ok(())
}
