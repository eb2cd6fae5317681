//! What a notice is: its words, its audience, its life, its receipts; and the checks a notice
//! passes before it is stored (every refusal a catalogue key).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kernel::error::{AppError, AppResult};
use crate::org::Role;

/// The longest title, in characters.
pub const TITLE_MAX: usize = 80;
/// The longest body, in characters (a long notice belongs in an attachment).
pub const BODY_MAX: usize = 5_000;
/// The most places, tags, households or roles one audience names.
pub const AUDIENCE_MAX: usize = 200;
/// How long a notice stays current unless its author says otherwise: 30 days.
pub const DEFAULT_DAYS: i64 = 30;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest a notice may stay current: a year.
pub const MAX_DAYS: i64 = 366;

/// Whom a notice is for: residents (通知公告), or workers (工作通知, which replaces the work
/// groups). A notice that names roles is a workers' notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = NoticeKind)]
pub enum Kind {
    Residents,
    Workers,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Residents => "residents",
            Kind::Workers => "workers",
        }
    }
    pub fn parse(s: &str) -> Kind {
        if s == "workers" {
            Kind::Workers
        } else {
            Kind::Residents
        }
    }
}

/// A notice's life: a draft is kept by its author; a scheduled one goes out at `publish_at`;
/// a published one has its recipients frozen; a withdrawn one is no longer shown to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = NoticeState)]
pub enum State {
    Draft,
    Scheduled,
    Published,
    Withdrawn,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Scheduled => "scheduled",
            State::Published => "published",
            State::Withdrawn => "withdrawn",
        }
    }
    pub fn parse(s: &str) -> State {
        match s {
            "scheduled" => State::Scheduled,
            "published" => State::Published,
            "withdrawn" => State::Withdrawn,
            _ => State::Draft,
        }
    }
}

/// Whom a notice reaches, as its author chose: residents living under `places` or in
/// `households` (narrowed to those holding one of `tags`, when tags are named); or, when
/// `roles` are named, the accounts holding one of those roles under `places` (a workers'
/// notice; without places, under the author's own).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = NoticeAudience)]
pub struct Audience {
    /// Places (a community, a grid, a building, a unit) by id.
    #[serde(default)]
    pub places: Vec<i64>,
    /// Tag codes, e.g. `elderly_alone`: only residents holding one of them.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Households by id.
    #[serde(default)]
    pub households: Vec<i64>,
    /// Role codes, e.g. `grid_worker`: a workers' notice.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl Audience {
    pub fn kind(&self) -> Kind {
        if self.roles.is_empty() {
            Kind::Residents
        } else {
            Kind::Workers
        }
    }

    /// The roles named, checked: a resident is never a workers' notice's recipient.
    pub fn parsed_roles(&self) -> AppResult<Vec<Role>> {
        self.roles
            .iter()
            .map(|r| match Role::parse(r.trim()) {
                Some(Role::Resident) | None => Err(AppError::invalid("notices.err_role")),
                Some(role) => Ok(role),
            })
            .collect()
    }

    /// Sorted, without repeats, within bounds; an audience that names nobody is refused.
    pub fn checked(mut self) -> AppResult<Audience> {
        self.places.sort_unstable();
        self.places.dedup();
        self.households.sort_unstable();
        self.households.dedup();
        for v in [&mut self.tags, &mut self.roles] {
            for t in v.iter_mut() {
                *t = t.trim().to_string();
            }
            v.retain(|t| !t.is_empty());
            v.sort();
            v.dedup();
        }
        if [
            self.places.len(),
            self.tags.len(),
            self.households.len(),
            self.roles.len(),
        ]
        .iter()
        .any(|n| *n > AUDIENCE_MAX)
        {
            return Err(AppError::invalid("notices.err_audience_size"));
        }
        if self.roles.is_empty() && self.places.is_empty() && self.households.is_empty() {
            return Err(AppError::invalid("notices.err_audience_empty"));
        }
        if !self.roles.is_empty() && !self.households.is_empty() {
            return Err(AppError::invalid("notices.err_audience_mixed"));
        }
        self.parsed_roles()?;
        Ok(self)
    }
}

/// When a new notice goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Kept as a draft.
    Draft,
    /// Now.
    Now,
    /// At this time (unix ms).
    At(i64),
}

/// A notice as its author writes it.
#[derive(Clone, Debug)]
pub struct Draft {
    pub title: String,
    pub body: String,
    pub audience: Audience,
    pub ack_wanted: bool,
    pub ack_by: Option<i64>,
    pub expires_at: Option<i64>,
    pub when: When,
}

impl Draft {
    /// The words checked and trimmed, the times in order; `now` is the time of the check.
    pub fn checked(mut self, now: i64) -> AppResult<Draft> {
        self.title = crate::kernel::text::fold_width(&self.title);
        self.body = self.body.trim().replace("\r\n", "\n");
        if self.title.is_empty() {
            return Err(AppError::invalid("notices.err_title_empty"));
        }
        if self.title.chars().count() > TITLE_MAX {
            return Err(AppError::invalid("notices.err_title_long"));
        }
        crate::kernel::text::check_line(&self.title).map_err(AppError::invalid)?;
        if self.body.is_empty() {
            return Err(AppError::invalid("notices.err_body_empty"));
        }
        if self.body.chars().count() > BODY_MAX {
            return Err(AppError::invalid("notices.err_body_long"));
        }
        crate::kernel::text::check_note(&self.body).map_err(AppError::invalid)?;
        self.audience = self.audience.checked()?;
        let starts = match self.when {
            When::At(t) if t <= now => return Err(AppError::invalid("notices.err_schedule_past")),
            When::At(t) => t,
            _ => now,
        };
        let expires = self.expires_at.unwrap_or(starts + DEFAULT_DAYS * DAY_MS);
        if expires <= starts {
            return Err(AppError::invalid("notices.err_expires_before"));
        }
        if expires > starts + MAX_DAYS * DAY_MS {
            return Err(AppError::invalid("notices.err_expires_far"));
        }
        self.expires_at = Some(expires);
        if let Some(by) = self.ack_by {
            if !self.ack_wanted {
                return Err(AppError::invalid("notices.err_ack_by_without_ack"));
            }
            if by <= starts || by > expires {
                return Err(AppError::invalid("notices.err_ack_by_range"));
            }
        }
        Ok(self)
    }
}

/// An attachment as listed on a notice.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = NoticeFile)]
pub struct FileRef {
    pub id: i64,
    pub name: String,
    /// `application/pdf`, `image/jpeg` or `image/png`.
    pub mime: String,
    pub bytes: i64,
}

/// A notice with its receipts' totals (the denominator frozen at publication).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Notice {
    pub id: i64,
    pub kind: Kind,
    /// The short link's code: `/n/<code>`.
    pub code: String,
    pub title: String,
    /// Plain text; addresses starting `http://` or `https://` are shown as links.
    pub body: String,
    pub audience: Audience,
    /// The audience in words.
    pub audience_label: String,
    pub ack_wanted: bool,
    /// The deadline to acknowledge (unix ms).
    pub ack_by: Option<i64>,
    pub state: State,
    pub publish_at: Option<i64>,
    pub published_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub withdrawn_at: Option<i64>,
    /// Whom it went to, frozen at publication.
    pub recipients: i64,
    /// Opened by the recipient.
    pub read: i64,
    pub acknowledged: i64,
    /// Told in person or on paper.
    pub told: i64,
    /// Opened or told: delivered.
    pub reached: i64,
    pub author: String,
    pub created_at: i64,
    /// Why a scheduled notice did not go out.
    pub problem: Option<String>,
    pub files: Vec<FileRef>,
    #[serde(skip)]
    pub street_id: i64,
    #[serde(skip)]
    pub author_id: i64,
    #[serde(skip)]
    pub author_path: String,
}

impl Notice {
    /// Whether it is past its time (still shown to its recipients, among earlier notices).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
    /// The share of recipients reached, in whole per cent (0 with no recipients).
    pub fn reached_pct(&self) -> i64 {
        pct(self.reached, self.recipients)
    }
    pub fn ack_pct(&self) -> i64 {
        pct(self.acknowledged, self.recipients)
    }
}

/// `part` of `whole` in whole per cent, rounded down.
pub fn pct(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        part.saturating_mul(100) / whole
    }
}

/// A notice as one recipient has it: the notice and her receipt.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = ReceivedNotice)]
pub struct Received {
    pub notice: Notice,
    pub read_at: Option<i64>,
    pub ack_at: Option<i64>,
}

/// One building's receipts.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = NoticeBuilding)]
pub struct BuildingTotals {
    /// 0 for recipients without a building (workers' accounts).
    pub building_id: i64,
    pub name: String,
    pub recipients: i64,
    pub read: i64,
    pub acknowledged: i64,
    pub told: i64,
    /// Neither opened nor told.
    pub unreached: i64,
}

/// A recipient who has not opened a notice, as a building leader follows up: the flat and the
/// name masked (`502室 张**`), whether she was told and by whom.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = NoticeUnread)]
pub struct Unread {
    /// The recipient's number within the notice (for marking her told).
    pub seq: i64,
    /// The unit's name, e.g. `502室` (for a workers' notice, the worker's place).
    pub unit: String,
    pub name_masked: String,
    pub told_at: Option<i64>,
    /// `in_person` or `paper`.
    pub told_how: Option<String>,
    pub told_by: Option<String>,
    #[serde(skip)]
    pub person_id: Option<i64>,
    #[serde(skip)]
    pub user_id: Option<i64>,
}

/// How a recipient was told without opening the notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = NoticeTold)]
pub enum Told {
    InPerson,
    Paper,
}

impl Told {
    pub fn as_str(self) -> &'static str {
        match self {
            Told::InPerson => "in_person",
            Told::Paper => "paper",
        }
    }
}

/// A piece of a body as shown: text, or a link (its text is its address).
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    Text(String),
    Link(String),
}

/// A body cut into text and links: an `http://` or `https://` address runs to the next space
/// or character that cannot stand in an address; trailing punctuation stays text.
pub fn pieces(body: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = find_link(rest) {
        if i > 0 {
            out.push(Piece::Text(rest[..i].to_string()));
        }
        let tail = &rest[i..];
        let mut end = tail
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_graphic()) || matches!(c, '<' | '>' | '"' | '\''))
            .map(|(j, _)| j)
            .unwrap_or(tail.len());
        while end > 0
            && matches!(
                tail.as_bytes()[end - 1],
                b'.' | b',' | b';' | b':' | b')' | b'!' | b'?'
            )
        {
            end -= 1;
        }
        let link = &tail[..end];
        if link.len() <= "https://".len() {
            out.push(Piece::Text(link.to_string()));
        } else {
            out.push(Piece::Link(link.to_string()));
        }
        rest = &tail[end..];
        if end == 0 {
            // Cannot happen (a link starts with a scheme), but never loop.
            out.push(Piece::Text(rest.to_string()));
            return out;
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    out
}

fn find_link(s: &str) -> Option<usize> {
    match (s.find("http://"), s.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> Draft {
        Draft {
            title: "停水通知".into(),
            body: "明天 9:00-12:00 停水。".into(),
            audience: Audience {
                places: vec![3],
                ..Audience::default()
            },
            ack_wanted: false,
            ack_by: None,
            expires_at: None,
            when: When::Now,
        }
    }

    #[test]
    fn checks_words_audience_and_times() {
        let now = 1_000_000;
        let d = draft().checked(now).unwrap();
        assert_eq!(d.expires_at, Some(now + DEFAULT_DAYS * DAY_MS));
        let mut d = draft();
        d.title = "  ".into();
        assert_eq!(d.checked(now).unwrap_err().key, "notices.err_title_empty");
        let mut d = draft();
        d.audience = Audience::default();
        assert_eq!(
            d.checked(now).unwrap_err().key,
            "notices.err_audience_empty"
        );
        let mut d = draft();
        d.audience.roles = vec!["resident".into()];
        assert_eq!(d.checked(now).unwrap_err().key, "notices.err_role");
        let mut d = draft();
        d.when = When::At(now - 1);
        assert_eq!(d.checked(now).unwrap_err().key, "notices.err_schedule_past");
        let mut d = draft();
        d.ack_by = Some(now + 10);
        assert_eq!(
            d.clone().checked(now).unwrap_err().key,
            "notices.err_ack_by_without_ack"
        );
        d.ack_wanted = true;
        assert!(d.clone().checked(now).is_ok());
        d.ack_by = Some(now + 400 * DAY_MS);
        assert_eq!(d.checked(now).unwrap_err().key, "notices.err_ack_by_range");
        let mut d = draft();
        d.body = "a\u{202E}b".into();
        assert_eq!(
            d.checked(now).unwrap_err().key,
            crate::kernel::text::REFUSED
        );
    }

    #[test]
    fn links_in_a_body() {
        assert_eq!(
            pieces("见 https://example.org/a?b=1。谢谢"),
            vec![
                Piece::Text("见 ".into()),
                Piece::Link("https://example.org/a?b=1".into()),
                Piece::Text("。谢谢".into()),
            ]
        );
        assert_eq!(
            pieces("(http://x.cn/p)."),
            vec![
                Piece::Text("(".into()),
                Piece::Link("http://x.cn/p".into()),
                Piece::Text(").".into()),
            ]
        );
        assert_eq!(pieces("http://"), vec![Piece::Text("http://".into())]);
        assert_eq!(pieces("<b>x</b>"), vec![Piece::Text("<b>x</b>".into())]);
    }

    #[test]
    fn percentages_never_divide_by_zero() {
        assert_eq!(pct(1, 0), 0);
        assert_eq!(pct(1, 3), 33);
        assert_eq!(pct(40_000, 40_000), 100);
    }
}
