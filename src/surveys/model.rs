//! What a survey is: its questions, its audience, its life, an answer sheet, and the checks
//! both pass before they are stored (every refusal a catalogue key).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kernel::error::{AppError, AppResult};
use crate::notices::Audience;

/// The longest title, in characters.
pub const TITLE_MAX: usize = 80;
/// The longest introduction, in characters.
pub const INTRO_MAX: usize = 2_000;
/// The most questions a survey asks (kept small: linli is not a survey product).
pub const QUESTIONS_MAX: usize = 30;
/// The most options of one question.
pub const OPTIONS_MAX: usize = 20;
/// The longest prompt or option, in characters.
pub const PROMPT_MAX: usize = 200;
/// The longest free-text answer, in characters.
pub const TEXT_MAX: usize = 1_000;
/// How long a survey stays open unless its author says otherwise: 14 days.
pub const DEFAULT_DAYS: i64 = 14;
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest a survey may stay open: 90 days.
pub const MAX_DAYS: i64 = 90;

/// What a question asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SurveyQuestionKind)]
pub enum QuestionKind {
    /// One of the options.
    Single,
    /// Any of the options.
    Multiple,
    /// Free text.
    Text,
    /// 1 (worst) to 5 (best).
    Scale,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Single => "single",
            QuestionKind::Multiple => "multiple",
            QuestionKind::Text => "text",
            QuestionKind::Scale => "scale",
        }
    }
    pub fn parse(s: &str) -> Option<QuestionKind> {
        match s {
            "single" => Some(QuestionKind::Single),
            "multiple" => Some(QuestionKind::Multiple),
            "text" => Some(QuestionKind::Text),
            "scale" => Some(QuestionKind::Scale),
            _ => None,
        }
    }
    pub fn has_options(self) -> bool {
        matches!(self, QuestionKind::Single | QuestionKind::Multiple)
    }
}

/// One question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = SurveyQuestion)]
pub struct Question {
    pub kind: QuestionKind,
    pub prompt: String,
    /// The options of a single or multiple choice (none for text and scale).
    #[serde(default)]
    pub options: Vec<String>,
    #[serde(default)]
    pub required: bool,
}

impl Question {
    fn checked(mut self) -> AppResult<Question> {
        self.prompt = crate::kernel::text::fold_width(&self.prompt);
        if self.prompt.is_empty() {
            return Err(AppError::invalid("surveys.err_prompt_empty"));
        }
        if self.prompt.chars().count() > PROMPT_MAX {
            return Err(AppError::invalid("surveys.err_prompt_long"));
        }
        crate::kernel::text::check_line(&self.prompt).map_err(AppError::invalid)?;
        if self.kind.has_options() {
            let mut seen = Vec::with_capacity(self.options.len());
            for o in &self.options {
                let o = crate::kernel::text::fold_width(o);
                if o.is_empty() {
                    continue;
                }
                if o.chars().count() > PROMPT_MAX {
                    return Err(AppError::invalid("surveys.err_prompt_long"));
                }
                crate::kernel::text::check_line(&o).map_err(AppError::invalid)?;
                if seen.contains(&o) {
                    return Err(AppError::invalid("surveys.err_option_twice"));
                }
                seen.push(o);
            }
            if seen.len() < 2 {
                return Err(AppError::invalid("surveys.err_options_few"));
            }
            if seen.len() > OPTIONS_MAX {
                return Err(AppError::invalid("surveys.err_options_many"));
            }
            self.options = seen;
        } else {
            self.options.clear();
        }
        Ok(self)
    }
}

/// A survey's kind: an ordinary one, or a community's satisfaction survey (社区满意度调查),
/// whose scale answers feed the case figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SurveyKind)]
pub enum Kind {
    General,
    Satisfaction,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::General => "general",
            Kind::Satisfaction => "satisfaction",
        }
    }
    pub fn parse(s: &str) -> Kind {
        if s == "satisfaction" {
            Kind::Satisfaction
        } else {
            Kind::General
        }
    }
}

/// A survey's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SurveyState)]
pub enum State {
    Draft,
    Published,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Published => "published",
            State::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> State {
        match s {
            "published" => State::Published,
            "closed" => State::Closed,
            _ => State::Draft,
        }
    }
}

/// A survey as its author writes it.
#[derive(Clone, Debug)]
pub struct Draft {
    pub title: String,
    pub intro: String,
    pub questions: Vec<Question>,
    pub audience: Audience,
    pub anonymous: bool,
    pub opens_at: Option<i64>,
    pub closes_at: Option<i64>,
}

impl Draft {
    /// The words checked and trimmed, the questions whole, the times in order.
    pub fn checked(mut self, now: i64) -> AppResult<Draft> {
        self.title = crate::kernel::text::fold_width(&self.title);
        self.intro = self.intro.trim().replace("\r\n", "\n");
        if self.title.is_empty() {
            return Err(AppError::invalid("surveys.err_title_empty"));
        }
        if self.title.chars().count() > TITLE_MAX {
            return Err(AppError::invalid("surveys.err_title_long"));
        }
        crate::kernel::text::check_line(&self.title).map_err(AppError::invalid)?;
        if self.intro.chars().count() > INTRO_MAX {
            return Err(AppError::invalid("surveys.err_intro_long"));
        }
        crate::kernel::text::check_note(&self.intro).map_err(AppError::invalid)?;
        if self.questions.is_empty() {
            return Err(AppError::invalid("surveys.err_no_questions"));
        }
        if self.questions.len() > QUESTIONS_MAX {
            return Err(AppError::invalid("surveys.err_questions_many"));
        }
        self.questions = self
            .questions
            .into_iter()
            .map(Question::checked)
            .collect::<AppResult<_>>()?;
        self.audience = self.audience.checked()?;
        let starts = self.opens_at.unwrap_or(now).max(now);
        let closes = self.closes_at.unwrap_or(starts + DEFAULT_DAYS * DAY_MS);
        if closes <= now || closes <= starts {
            return Err(AppError::invalid("surveys.err_closes_before"));
        }
        if closes > starts + MAX_DAYS * DAY_MS {
            return Err(AppError::invalid("surveys.err_closes_far"));
        }
        self.closes_at = Some(closes);
        Ok(self)
    }
}

/// A survey with its response rate (the denominator frozen at publication).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Survey {
    pub id: i64,
    pub kind: Kind,
    pub title: String,
    pub intro: String,
    pub questions: Vec<Question>,
    pub audience: Audience,
    /// The audience in words.
    pub audience_label: String,
    /// Answers are kept without who gave them.
    pub anonymous: bool,
    pub state: State,
    /// Answers are taken from (unix ms; none: from publication) …
    pub opens_at: Option<i64>,
    /// … until this deadline.
    pub closes_at: i64,
    pub published_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Whom it was put to, frozen at publication.
    pub recipients: i64,
    /// How many of them answered.
    pub answered: i64,
    pub author: String,
    pub created_at: i64,
    #[serde(skip)]
    pub street_id: i64,
    #[serde(skip)]
    pub author_id: i64,
    #[serde(skip)]
    pub author_path: String,
    #[serde(skip)]
    pub place_path: String,
}

impl Survey {
    /// Whether answers are taken now.
    pub fn is_open(&self, now: i64) -> bool {
        self.state == State::Published
            && self.opens_at.is_none_or(|t| t <= now)
            && now < self.closes_at
    }
    /// The state as it stands now: a published survey past its deadline is closed.
    pub fn state_now(&self, now: i64) -> State {
        if self.state == State::Published && now >= self.closes_at {
            State::Closed
        } else {
            self.state
        }
    }
    /// The response rate in whole per cent (0 with no recipients).
    pub fn rate_pct(&self) -> i64 {
        if self.recipients <= 0 {
            0
        } else {
            self.answered.saturating_mul(100) / self.recipients
        }
    }
}

/// One answer as sent: to the question at `question` (from 0), the options chosen (from 0),
/// a scale's value, or a text.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[schema(as = SurveyAnswerIn)]
pub struct Answer {
    pub question: usize,
    #[serde(default)]
    pub choices: Vec<usize>,
    #[serde(default)]
    pub value: Option<i64>,
    #[serde(default)]
    pub text: Option<String>,
}

/// An answer checked against its question, ready to store: `(question, choice, value, text)`
/// rows.
pub type Row = (i64, Option<i64>, Option<i64>, Option<String>);

/// Checks a sheet against the questions: every required one answered, every answer within its
/// question (a choice that exists, one choice for a single choice, a scale 1–5, a text within
/// bounds), no question answered twice.
pub fn check_sheet(questions: &[Question], answers: &[Answer]) -> AppResult<Vec<Row>> {
    let mut rows = Vec::new();
    let mut seen = vec![false; questions.len()];
    for a in answers {
        let q = questions
            .get(a.question)
            .ok_or_else(|| AppError::invalid("surveys.err_question_unknown"))?;
        if std::mem::replace(&mut seen[a.question], true) {
            return Err(AppError::invalid("surveys.err_question_twice"));
        }
        let n = a.question as i64;
        match q.kind {
            QuestionKind::Single | QuestionKind::Multiple => {
                let mut c = a.choices.clone();
                c.sort_unstable();
                c.dedup();
                if c.is_empty() {
                    seen[a.question] = false;
                    continue;
                }
                if c.iter().any(|i| *i >= q.options.len()) {
                    return Err(AppError::invalid("surveys.err_choice_unknown"));
                }
                if q.kind == QuestionKind::Single && c.len() > 1 {
                    return Err(AppError::invalid("surveys.err_choice_one"));
                }
                rows.extend(c.into_iter().map(|i| (n, Some(i as i64), None, None)));
            }
            QuestionKind::Scale => match a.value {
                None => seen[a.question] = false,
                Some(v) if (1..=5).contains(&v) => rows.push((n, None, Some(v), None)),
                Some(_) => return Err(AppError::invalid("surveys.err_scale_range")),
            },
            QuestionKind::Text => {
                let t = a.text.as_deref().unwrap_or("").trim().replace("\r\n", "\n");
                if t.is_empty() {
                    seen[a.question] = false;
                    continue;
                }
                if t.chars().count() > TEXT_MAX {
                    return Err(AppError::invalid("surveys.err_text_long"));
                }
                crate::kernel::text::check_note(&t).map_err(AppError::invalid)?;
                rows.push((n, None, None, Some(t)));
            }
        }
    }
    for (i, q) in questions.iter().enumerate() {
        if q.required && !seen[i] {
            return Err(AppError::invalid("surveys.err_required"));
        }
    }
    if rows.is_empty() {
        return Err(AppError::invalid("surveys.err_sheet_empty"));
    }
    Ok(rows)
}

/// One question's results.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SurveyQuestionResult)]
pub struct QuestionResult {
    pub question: usize,
    pub kind: QuestionKind,
    pub prompt: String,
    /// Per option (single, multiple) or per value 1–5 (scale): its label and how many chose it.
    pub counts: Vec<Count>,
    /// How many answered this question.
    pub answers: i64,
    /// A scale's mean, two decimals.
    pub average: Option<f64>,
    /// Free texts, newest last; for a survey that is not anonymous, the author and managers
    /// see who wrote each, masked (`3号楼 张**`).
    pub texts: Vec<TextAnswer>,
}

/// How many chose an option or gave a value.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SurveyCount)]
pub struct Count {
    pub label: String,
    pub n: i64,
}

/// A free-text answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SurveyTextAnswer)]
pub struct TextAnswer {
    pub text: String,
    /// Who wrote it, masked; always empty for an anonymous survey.
    pub by: String,
    #[serde(skip)]
    pub person_id: Option<i64>,
}

/// A survey's results.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SurveyResults)]
pub struct Results {
    pub survey: Survey,
    /// Answer sheets received.
    pub responses: i64,
    pub questions: Vec<QuestionResult>,
}

/// The questions of a community satisfaction survey (社区满意度调查), in both languages'
/// order of the catalogue: overall satisfaction and case handling on a 1–5 scale, what to
/// improve as free text.
pub fn satisfaction_questions(t: crate::kernel::i18n::Tr) -> Vec<Question> {
    vec![
        Question {
            kind: QuestionKind::Scale,
            prompt: t.s("surveys.tpl_overall").to_string(),
            options: Vec::new(),
            required: true,
        },
        Question {
            kind: QuestionKind::Scale,
            prompt: t.s("surveys.tpl_cases").to_string(),
            options: Vec::new(),
            required: true,
        },
        Question {
            kind: QuestionKind::Single,
            prompt: t.s("surveys.tpl_channel").to_string(),
            options: [
                "surveys.tpl_ch_app",
                "surveys.tpl_ch_grid",
                "surveys.tpl_ch_phone",
            ]
            .iter()
            .map(|k| t.s(k).to_string())
            .collect(),
            required: false,
        },
        Question {
            kind: QuestionKind::Text,
            prompt: t.s("surveys.tpl_improve").to_string(),
            options: Vec::new(),
            required: false,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qs() -> Vec<Question> {
        vec![
            Question {
                kind: QuestionKind::Single,
                prompt: "a".into(),
                options: vec!["x".into(), "y".into()],
                required: true,
            },
            Question {
                kind: QuestionKind::Scale,
                prompt: "b".into(),
                options: vec![],
                required: false,
            },
        ]
    }

    #[test]
    fn sheets_are_checked_against_their_questions() {
        let ok = check_sheet(
            &qs(),
            &[
                Answer {
                    question: 0,
                    choices: vec![1],
                    ..Answer::default()
                },
                Answer {
                    question: 1,
                    value: Some(5),
                    ..Answer::default()
                },
            ],
        )
        .unwrap();
        assert_eq!(ok, vec![(0, Some(1), None, None), (1, None, Some(5), None)]);
        let err = |a: Vec<Answer>| check_sheet(&qs(), &a).unwrap_err().key;
        assert_eq!(
            err(vec![Answer {
                question: 1,
                value: Some(3),
                ..Answer::default()
            }]),
            "surveys.err_required"
        );
        assert_eq!(
            err(vec![Answer {
                question: 0,
                choices: vec![0, 1],
                ..Answer::default()
            }]),
            "surveys.err_choice_one"
        );
        assert_eq!(
            err(vec![
                Answer {
                    question: 0,
                    choices: vec![0],
                    ..Answer::default()
                },
                Answer {
                    question: 1,
                    value: Some(6),
                    ..Answer::default()
                }
            ]),
            "surveys.err_scale_range"
        );
        assert_eq!(
            err(vec![Answer {
                question: 0,
                choices: vec![2],
                ..Answer::default()
            }]),
            "surveys.err_choice_unknown"
        );
    }

    #[test]
    fn a_choice_needs_two_options() {
        let q = Question {
            kind: QuestionKind::Multiple,
            prompt: "p".into(),
            options: vec!["一".into(), " ".into()],
            required: false,
        };
        assert_eq!(q.checked().unwrap_err().key, "surveys.err_options_few");
    }
}
