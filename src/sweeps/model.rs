//! A sweep campaign's types and rules: the form (what to ask at each door), the answers a door
//! gives, the campaign's life (draft → open → closed → purged), its progress by grid and
//! building, and the per-question tallies kept after the purge and compared between rounds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::kernel::error::{AppError, AppResult};

/// The most questions a form holds: a door is a short conversation.
pub const MAX_QUESTIONS: usize = 12;
/// The most options a single-choice question offers.
pub const MAX_OPTIONS: usize = 8;
/// The longest short-text answer, in characters.
pub const MAX_TEXT: usize = 200;
/// How long personal answers are kept after closing, when the form does not say (days).
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
/// The longest retention a campaign may ask for (days).
pub const MAX_RETENTION_DAYS: i64 = 730;
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What kind of answer a question takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SweepQuestionKind)]
pub enum QuestionKind {
    /// 是/否.
    YesNo,
    /// One of the options.
    Choice,
    /// A number (people at home, their ages…).
    Number,
    /// A short text (at most 200 characters).
    Text,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::YesNo => "yes_no",
            QuestionKind::Choice => "choice",
            QuestionKind::Number => "number",
            QuestionKind::Text => "text",
        }
    }
    pub fn parse(s: &str) -> Option<QuestionKind> {
        [
            QuestionKind::YesNo,
            QuestionKind::Choice,
            QuestionKind::Number,
            QuestionKind::Text,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One question of a campaign's form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = SweepQuestion)]
pub struct Question {
    /// Its key in the answers (`q1`, `q2`… when not given).
    #[serde(default)]
    pub key: String,
    /// What is asked, at most 60 characters.
    pub label: String,
    pub kind: QuestionKind,
    /// The options of a single-choice question (2 to 8, each at most 30 characters).
    #[serde(default)]
    pub options: Vec<String>,
}

fn too_long(s: &str, max: usize) -> bool {
    s.chars().count() > max
}

/// A form checked: 1 to 12 questions, each with a label, a kind and (for a choice) its options;
/// keys unique.
pub fn check_form(mut qs: Vec<Question>) -> AppResult<Vec<Question>> {
    if qs.is_empty() {
        return Err(AppError::invalid("sweeps.err_no_questions"));
    }
    if qs.len() > MAX_QUESTIONS {
        return Err(AppError::invalid("sweeps.err_many_questions"));
    }
    for (i, q) in qs.iter_mut().enumerate() {
        q.label = q.label.trim().to_string();
        q.key = q.key.trim().to_string();
        if q.key.is_empty() {
            q.key = format!("q{}", i + 1);
        }
        if q.label.is_empty() || too_long(&q.label, 60) {
            return Err(AppError::invalid("sweeps.err_question_label"));
        }
        crate::kernel::text::check_line(&q.label).map_err(AppError::invalid)?;
        if too_long(&q.key, 20) || !q.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(AppError::invalid("sweeps.err_question_key"));
        }
        if q.kind == QuestionKind::Choice {
            q.options = q
                .options
                .iter()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect();
            if q.options.len() < 2 || q.options.len() > MAX_OPTIONS {
                return Err(AppError::invalid("sweeps.err_options"));
            }
            for o in &q.options {
                if too_long(o, 30) {
                    return Err(AppError::invalid("sweeps.err_options"));
                }
                crate::kernel::text::check_line(o).map_err(AppError::invalid)?;
            }
            let mut seen = q.options.clone();
            seen.sort();
            seen.dedup();
            if seen.len() != q.options.len() {
                return Err(AppError::invalid("sweeps.err_options"));
            }
        } else {
            q.options.clear();
        }
    }
    let mut keys: Vec<&str> = qs.iter().map(|q| q.key.as_str()).collect();
    keys.sort();
    keys.dedup();
    if keys.len() != qs.len() {
        return Err(AppError::invalid("sweeps.err_question_key"));
    }
    Ok(qs)
}

/// One door's answers, by question key: a boolean, an option, a number or a short text.
pub type Answers = BTreeMap<String, Value>;

/// Answers checked against the form: every key a question's, every value of its kind; at
/// least one question answered. Texts are trimmed; empty ones dropped.
pub fn check_answers(form: &[Question], given: &Answers) -> AppResult<Answers> {
    let mut out = Answers::new();
    for (k, v) in given {
        let q = form
            .iter()
            .find(|q| &q.key == k)
            .ok_or_else(|| AppError::invalid("sweeps.err_answer_key"))?;
        if v.is_null() {
            continue;
        }
        let bad = || AppError::invalid("sweeps.err_answer_value");
        let v = match q.kind {
            QuestionKind::YesNo => Value::Bool(v.as_bool().ok_or_else(bad)?),
            QuestionKind::Choice => {
                let s = v.as_str().ok_or_else(bad)?.trim();
                if !q.options.iter().any(|o| o == s) {
                    return Err(bad());
                }
                Value::String(s.to_string())
            }
            QuestionKind::Number => {
                let n = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) if !s.trim().is_empty() => s.trim().parse::<f64>().ok(),
                    Value::String(_) => continue,
                    _ => None,
                }
                .filter(|n| n.is_finite() && n.abs() <= 1e9)
                .ok_or_else(bad)?;
                serde_json::Number::from_f64(n)
                    .map(|n| {
                        if n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                            Value::from(n.as_f64().unwrap_or(0.0) as i64)
                        } else {
                            Value::Number(n)
                        }
                    })
                    .ok_or_else(bad)?
            }
            QuestionKind::Text => {
                let s = v.as_str().ok_or_else(bad)?.trim();
                if s.is_empty() {
                    continue;
                }
                if too_long(s, MAX_TEXT) {
                    return Err(AppError::invalid("sweeps.err_answer_text"));
                }
                crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
                Value::String(s.to_string())
            }
        };
        out.insert(k.clone(), v);
    }
    if out.is_empty() {
        return Err(AppError::invalid("sweeps.err_answers_empty"));
    }
    Ok(out)
}

/// A campaign's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SweepState)]
pub enum State {
    /// Written, not started: no tasks yet.
    Draft,
    /// Started: every household a task; answers taken.
    Open,
    /// Closed: no more answers; personal answers kept until the retention ends.
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Open => "open",
            State::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> State {
        match s {
            "open" => State::Open,
            "closed" => State::Closed,
            _ => State::Draft,
        }
    }
}

/// A campaign as read.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SweepCampaign)]
pub struct Campaign {
    pub id: i64,
    pub street_id: i64,
    pub title: String,
    pub questions: Vec<Question>,
    /// The places swept.
    pub scope: Vec<i64>,
    #[serde(skip)]
    pub scope_paths: Vec<String>,
    /// The places' names.
    pub scope_label: String,
    pub state: State,
    pub retention_days: i64,
    /// The campaign this one repeats.
    pub previous_id: Option<i64>,
    /// Households made tasks at the start.
    pub households: i64,
    pub author: String,
    #[serde(skip)]
    pub author_id: i64,
    #[serde(skip)]
    pub author_path: String,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// When the personal answers go (closing time + retention).
    pub purge_at: Option<i64>,
    /// When they went: the figures are the counts kept.
    pub purged_at: Option<i64>,
}

/// What a door's visit found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SweepOutcome)]
pub enum Outcome {
    /// Somebody answered the form.
    Answered,
    /// 无人在家: an attempt is recorded, the door stays open for another visit.
    NobodyHome,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::NobodyHome => "nobody_home",
        }
    }
}

/// A door's state in a campaign.
pub const TASK_OPEN: &str = "open";
pub const TASK_NOBODY: &str = "nobody_home";
pub const TASK_DONE: &str = "done";

/// Counts of doors: done (answered), nobody home at the last visit (still to visit), never
/// visited; `total` their sum.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = SweepCounts)]
pub struct Counts {
    pub total: i64,
    pub done: i64,
    pub nobody_home: i64,
    pub open: i64,
}

impl Counts {
    pub fn add(&mut self, state: &str, n: i64) {
        self.total += n;
        match state {
            TASK_DONE => self.done += n,
            TASK_NOBODY => self.nobody_home += n,
            _ => self.open += n,
        }
    }
    pub fn merge(&mut self, o: &Counts) {
        self.total += o.total;
        self.done += o.done;
        self.nobody_home += o.nobody_home;
        self.open += o.open;
    }
    /// Done, in per cent of all doors (rounded down).
    pub fn pct(&self) -> i64 {
        if self.total == 0 {
            0
        } else {
            self.done * 100 / self.total
        }
    }
}

/// A building's progress.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = SweepBuildingProgress)]
pub struct BuildingProgress {
    pub building_id: i64,
    pub name: String,
    /// The volunteer the building was handed to, if any.
    pub volunteer: Option<String>,
    pub counts: Counts,
}

/// A grid's progress and its buildings'.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = SweepGridProgress)]
pub struct GridProgress {
    pub grid_id: i64,
    pub name: String,
    /// Its grid worker (none: nobody holds the grid).
    pub worker: Option<String>,
    pub counts: Counts,
    pub buildings: Vec<BuildingProgress>,
}

/// A campaign's progress: the totals, by grid and by building. After the purge these are the
/// counts kept.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = SweepProgress)]
pub struct Progress {
    pub counts: Counts,
    /// Visits that found nobody home, over all doors (a door visited three times counts three).
    pub attempts: i64,
    pub grids: Vec<GridProgress>,
}

/// How many doors chose an option.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = SweepOptionCount)]
pub struct OptionCount {
    pub option: String,
    pub count: i64,
}

/// An option's count now and in the previous round.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
#[schema(as = SweepOptionChange)]
pub struct OptionChange {
    pub option: String,
    pub now: i64,
    pub before: i64,
}

fn oc(option: &str) -> OptionCount {
    OptionCount {
        option: option.to_string(),
        count: 0,
    }
}

/// One question's tally: for yes/no and choices the count of each option; for numbers their
/// count and sum; for texts how many answered.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = SweepTally)]
pub struct Tally {
    pub key: String,
    pub label: String,
    pub kind: String,
    /// Doors that answered this question.
    pub answered: i64,
    /// The count of each option for yes/no (`yes`, `no`) and choices, in the form's order.
    pub options: Vec<OptionCount>,
    /// The sum of a number question's answers.
    pub sum: f64,
}

impl Tally {
    /// The mean of a number question's answers, one decimal.
    pub fn mean(&self) -> String {
        if self.answered == 0 {
            "–".into()
        } else {
            format!("{:.1}", self.sum / self.answered as f64)
        }
    }
}

/// What a campaign keeps when its personal answers go: the progress and the tallies.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub progress: Progress,
    pub tallies: Vec<Tally>,
}

/// Tallies the answers of done doors against a form.
pub fn tally(form: &[Question], answers: impl IntoIterator<Item = Answers>) -> Vec<Tally> {
    let mut out: Vec<Tally> = form
        .iter()
        .map(|q| Tally {
            key: q.key.clone(),
            label: q.label.clone(),
            kind: q.kind.as_str().to_string(),
            answered: 0,
            options: match q.kind {
                QuestionKind::YesNo => vec![oc("yes"), oc("no")],
                QuestionKind::Choice => q.options.iter().map(|o| oc(o)).collect(),
                _ => Vec::new(),
            },
            sum: 0.0,
        })
        .collect();
    for a in answers {
        for (q, t) in form.iter().zip(out.iter_mut()) {
            let Some(v) = a.get(&q.key) else { continue };
            let option = match q.kind {
                QuestionKind::YesNo => v.as_bool().map(|b| if b { "yes" } else { "no" }),
                QuestionKind::Choice => v.as_str(),
                QuestionKind::Number => {
                    if let Some(n) = v.as_f64() {
                        t.sum += n;
                        t.answered += 1;
                    }
                    continue;
                }
                QuestionKind::Text => {
                    t.answered += 1;
                    continue;
                }
            };
            if let Some(o) = option
                && let Some(slot) = t.options.iter_mut().find(|x| x.option == o)
            {
                slot.count += 1;
                t.answered += 1;
            }
        }
    }
    out
}

/// One question compared with the previous round.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SweepChange)]
pub struct Change {
    pub key: String,
    pub label: String,
    pub kind: String,
    pub answered: i64,
    pub answered_before: i64,
    pub options: Vec<OptionChange>,
    /// A number question's mean now and before.
    pub mean: Option<String>,
    pub mean_before: Option<String>,
}

/// The comparison of a campaign with the one it repeats.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SweepComparison)]
pub struct Comparison {
    pub id: i64,
    pub previous_id: i64,
    pub previous_title: String,
    pub counts: Counts,
    pub counts_before: Counts,
    pub changes: Vec<Change>,
}

/// Compares tallies question by question (matched by key; a question new in this round is
/// compared with nothing).
pub fn compare(now: &[Tally], before: &[Tally]) -> Vec<Change> {
    now.iter()
        .map(|t| {
            let b = before.iter().find(|b| b.key == t.key && b.kind == t.kind);
            let number = t.kind == QuestionKind::Number.as_str();
            Change {
                key: t.key.clone(),
                label: t.label.clone(),
                kind: t.kind.clone(),
                answered: t.answered,
                answered_before: b.map_or(0, |b| b.answered),
                options: t
                    .options
                    .iter()
                    .map(|o| OptionChange {
                        option: o.option.clone(),
                        now: o.count,
                        before: b
                            .and_then(|b| b.options.iter().find(|p| p.option == o.option))
                            .map_or(0, |x| x.count),
                    })
                    .collect(),
                mean: number.then(|| t.mean()),
                mean_before: if number { b.map(|b| b.mean()) } else { None },
            }
        })
        .collect()
}

/// One door on a worker's list.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SweepDoor)]
pub struct Door {
    pub household_id: i64,
    pub building_id: i64,
    /// The building's name (`3号楼`).
    pub building: String,
    /// The unit's name (`502室`).
    pub unit: String,
    /// The unit's floor, when known.
    pub floor: Option<i64>,
    /// The head of the household, masked (`张**`).
    pub head_masked: String,
    /// open, nobody_home, done.
    pub state: String,
    pub attempts: i64,
    pub answered_at: Option<i64>,
}

/// What a submission did (the same on a retry with the same client id).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SweepRecorded)]
pub struct Recorded {
    pub household_id: i64,
    pub client_id: String,
    pub outcome: Outcome,
    /// The door's state now.
    pub state: String,
    pub attempts: i64,
    /// True when this client id had been recorded before (a retry): nothing was added.
    pub repeated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form() -> Vec<Question> {
        check_form(vec![
            Question {
                key: String::new(),
                label: "家中有无 65 岁以上老人".into(),
                kind: QuestionKind::YesNo,
                options: vec![],
            },
            Question {
                key: String::new(),
                label: "疫苗接种".into(),
                kind: QuestionKind::Choice,
                options: vec!["已接种".into(), "未接种".into()],
            },
            Question {
                key: String::new(),
                label: "常住人数".into(),
                kind: QuestionKind::Number,
                options: vec![],
            },
        ])
        .unwrap()
    }

    #[test]
    fn answers_are_checked_against_the_form() {
        let f = form();
        assert_eq!(f[1].key, "q2");
        let ok: Answers =
            serde_json::from_value(json!({"q1": true, "q2": "已接种", "q3": "3"})).unwrap();
        let a = check_answers(&f, &ok).unwrap();
        assert_eq!(a["q3"], json!(3));
        for bad in [
            json!({"q1": "yes"}),
            json!({"q2": "其他"}),
            json!({"q3": "many"}),
            json!({"q9": true}),
            json!({}),
        ] {
            let b: Answers = serde_json::from_value(bad).unwrap();
            assert!(check_answers(&f, &b).is_err());
        }
    }

    #[test]
    fn tallies_count_and_compare() {
        let f = form();
        let a: Vec<Answers> = vec![
            serde_json::from_value(json!({"q1": true, "q2": "已接种", "q3": 2})).unwrap(),
            serde_json::from_value(json!({"q1": false, "q3": 4})).unwrap(),
        ];
        let t = tally(&f, a);
        assert_eq!((t[0].options[0].count, t[0].options[1].count), (1, 1));
        assert_eq!(t[1].answered, 1);
        assert_eq!(t[2].mean(), "3.0");
        let c = compare(&t, &t[..1]);
        assert_eq!((c[0].options[0].now, c[0].options[0].before), (1, 1));
        assert_eq!(c[1].answered_before, 0);
    }
}
