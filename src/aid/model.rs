//! Mutual aid's types and rules: a post's direction and kind, its life as one table
//! ([`RULES`]) read by every check, and a post as typed, checked at the edge.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::kernel::error::{AppError, AppResult};

pub const MAX_TITLE: usize = 40;
pub const MAX_BODY: usize = 500;
pub const MAX_MESSAGE: usize = 500;
pub const MAX_REASON: usize = 200;
/// A post stays up 30 days unless its poster says otherwise, at most 60.
pub const DEFAULT_DAYS: i64 = 30;
pub const MAX_DAYS: i64 = 60;
/// A loan comes back within half a year: longer is a gift or a rental.
pub const MAX_LOAN_DAYS: i64 = 180;
pub const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AidDirection)]
pub enum Direction {
    Offer,
    Request,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::Offer, Direction::Request];
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Offer => "offer",
            Direction::Request => "request",
        }
    }
    pub fn parse(s: &str) -> Option<Direction> {
        Direction::ALL.into_iter().find(|d| d.as_str() == s)
    }
    pub fn opposite(self) -> Direction {
        match self {
            Direction::Offer => Direction::Request,
            Direction::Request => Direction::Offer,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AidKind)]
pub enum Kind {
    /// Things to give away (or wanted).
    Goods,
    /// A tool lent, with a return date.
    Lend,
    /// A skill: mending, tutoring, a haircut.
    Skill,
    /// Help: shopping for an elderly neighbour, a lift to hospital.
    Help,
    /// Spare medicine, with its expiry date and the fixed prescription warning.
    Medicine,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Goods,
        Kind::Lend,
        Kind::Skill,
        Kind::Help,
        Kind::Medicine,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Goods => "goods",
            Kind::Lend => "lend",
            Kind::Skill => "skill",
            Kind::Help => "help",
            Kind::Medicine => "medicine",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AidState)]
pub enum State {
    /// Up, waiting for a neighbour.
    Open,
    /// The poster chose a responder.
    Matched,
    /// Both parties said it is done.
    Done,
    /// Taken down by its poster.
    Withdrawn,
    /// Past its `expires_at` while still open (read from the time; aid's `expire` job also
    /// stores it and tells the poster once).
    Expired,
    /// Hidden by the community's workers, with a reason its poster sees.
    Hidden,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Open,
        State::Matched,
        State::Done,
        State::Withdrawn,
        State::Expired,
        State::Hidden,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Matched => "matched",
            State::Done => "done",
            State::Withdrawn => "withdrawn",
            State::Expired => "expired",
            State::Hidden => "hidden",
        }
    }
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// The state as read at `now`: an open post past its time is expired.
    pub fn at(stored: &str, expires_at: i64, now: i64) -> State {
        match State::parse(stored).unwrap_or(State::Hidden) {
            State::Open if now >= expires_at => State::Expired,
            s => s,
        }
    }
}

/// Who acts on a post.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The resident who posted it.
    Poster,
    /// The responder the poster chose.
    Responder,
    /// Another resident of the community.
    Neighbour,
    /// A worker who keeps the community's records (居委会/社工).
    Staff,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AidAction)]
pub enum Act {
    /// Write in a conversation (a neighbour's first message opens hers).
    Message,
    /// The poster chooses a responder among those who wrote.
    Match,
    /// A party says it is done; done when both have.
    Done,
    Withdraw,
    Report,
    /// Staff hide it with a reason.
    Hide,
    /// Staff put a hidden post back as it was, with a reason.
    Restore,
    /// A reporter takes her report back.
    Unreport,
}

pub struct Rule {
    pub act: Act,
    pub from: &'static [State],
    pub actors: &'static [Actor],
    /// `None`: the post stays as it is (a message, a report, the first of two "done").
    pub to: Option<State>,
}

use Actor::{Neighbour as N, Poster as P, Responder as R, Staff as S};
use State::{Done as D, Expired as E, Matched as M, Open as O, Withdrawn as W};

/// The single source of truth for a post's life.
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    Rule { act: Act::Message,  from: &[O],          actors: &[P, N],    to: None },
    Rule { act: Act::Message,  from: &[M],          actors: &[P, R],    to: None },
    Rule { act: Act::Match,    from: &[O],          actors: &[P],       to: Some(M) },
    Rule { act: Act::Done,     from: &[M],          actors: &[P, R],    to: Some(D) },
    Rule { act: Act::Withdraw, from: &[O, M],       actors: &[P],       to: Some(W) },
    Rule { act: Act::Report,   from: &[O, M, D],    actors: &[N, R],    to: None },
    Rule { act: Act::Hide,     from: &[O, M, D, W, E], actors: &[S],    to: Some(State::Hidden) },
    // Back to the state it was hidden from (kept with the post).
    Rule { act: Act::Restore,  from: &[State::Hidden], actors: &[S],    to: None },
    Rule { act: Act::Unreport, from: &[O, M, D, W, E], actors: &[N, R], to: None },
];

/// Why a step is refused: the actor may never take it, or not in this state.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotParty,
    WrongState,
}

/// The rule that lets `actor` take `act` on a post in `state`.
pub fn rule(act: Act, state: State, actor: Actor) -> Result<&'static Rule, Refusal> {
    let mut known = false;
    for r in RULES.iter().filter(|r| r.act == act) {
        if r.actors.contains(&actor) {
            known = true;
            if r.from.contains(&state) {
                return Ok(r);
            }
        }
    }
    Err(if known {
        Refusal::WrongState
    } else {
        Refusal::NotParty
    })
}

/// A post as typed, before it is checked.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    pub direction: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    /// A loan's return date, `YYYY-MM-DD`.
    pub return_on: Option<String>,
    /// A medicine's expiry date, `YYYY-MM-DD`.
    pub expiry_on: Option<String>,
    /// How many days it stays up.
    pub days: Option<i64>,
}

/// A post checked.
#[derive(Clone, Debug)]
pub struct Checked {
    pub direction: Direction,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    pub return_on: Option<NaiveDate>,
    pub expiry_on: Option<NaiveDate>,
    pub expires_at: i64,
}

fn date(s: &Option<String>) -> AppResult<Option<NaiveDate>> {
    match s.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| AppError::invalid("aid.err_date")),
    }
}

/// A line or a note: trimmed, bounded, checked; `empty` refuses an empty one.
pub fn text(
    s: &str,
    max: usize,
    empty: Option<&str>,
    long: &str,
    multi: bool,
) -> AppResult<String> {
    let s = s.trim();
    if s.is_empty() {
        return match empty {
            Some(k) => Err(AppError::invalid(k)),
            None => Ok(String::new()),
        };
    }
    if s.chars().count() > max {
        return Err(AppError::invalid(long));
    }
    if multi {
        crate::kernel::text::check_note(s).map_err(AppError::invalid)?;
    } else {
        crate::kernel::text::check_line(s).map_err(AppError::invalid)?;
    }
    Ok(s.to_string())
}

/// The first moment of the day after `d` in the street's zone: a medicine good "until
/// 2027-03-31" is good all that day.
fn end_of(d: NaiveDate) -> i64 {
    use chrono::Datelike;
    let next = d.succ_opt().unwrap_or(d);
    crate::kernel::time::local_ms(next.year(), next.month(), next.day(), 0, 0)
}

impl Draft {
    /// Checks a post typed `today` (the street's date) at `now`.
    pub fn checked(&self, today: NaiveDate, now: i64) -> AppResult<Checked> {
        let direction = Direction::parse(self.direction.trim())
            .ok_or_else(|| AppError::invalid("aid.err_direction"))?;
        let kind =
            Kind::parse(self.kind.trim()).ok_or_else(|| AppError::invalid("aid.err_kind"))?;
        let title = text(
            &self.title,
            MAX_TITLE,
            Some("aid.err_title"),
            "aid.err_title_long",
            false,
        )?;
        let body = text(&self.body, MAX_BODY, None, "aid.err_body_long", true)?;
        let days = self.days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(AppError::invalid("aid.err_days"));
        }
        let mut expires_at = now + days * DAY_MS;
        let mut return_on = None;
        let mut expiry_on = None;
        match kind {
            Kind::Lend => {
                let d = date(&self.return_on)?
                    .ok_or_else(|| AppError::invalid("aid.err_return_missing"))?;
                if d <= today {
                    return Err(AppError::invalid("aid.err_return_past"));
                }
                if (d - today).num_days() > MAX_LOAN_DAYS {
                    return Err(AppError::invalid("aid.err_return_far"));
                }
                return_on = Some(d);
            }
            Kind::Medicine if direction == Direction::Offer => {
                let d = date(&self.expiry_on)?
                    .ok_or_else(|| AppError::invalid("aid.err_expiry_missing"))?;
                if d < today {
                    return Err(AppError::invalid("aid.err_expiry_past"));
                }
                // The post comes down when the medicine expires.
                expires_at = expires_at.min(end_of(d));
                expiry_on = Some(d);
            }
            _ => {}
        }
        Ok(Checked {
            direction,
            kind,
            title,
            body,
            return_on,
            expiry_on,
            expires_at,
        })
    }
}

/// A post as a reader sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = AidPost)]
pub struct Post {
    pub id: i64,
    #[serde(skip)]
    pub street_id: i64,
    #[serde(skip)]
    pub community_id: i64,
    #[serde(skip)]
    pub community_path: String,
    #[serde(skip)]
    pub building_id: Option<i64>,
    #[serde(skip)]
    pub poster_person: i64,
    #[serde(skip)]
    pub poster_user: Option<i64>,
    #[serde(skip)]
    pub responder_person: Option<i64>,
    #[serde(skip)]
    pub responder_user: Option<i64>,
    #[serde(skip)]
    pub stored_state: String,
    pub direction: Direction,
    pub kind: Kind,
    pub title: String,
    pub body: String,
    /// A loan's return date, `YYYY-MM-DD`.
    pub return_on: Option<String>,
    /// A medicine's expiry date, `YYYY-MM-DD`.
    pub expiry_on: Option<String>,
    /// As read now (an open post past `expires_at` is expired).
    pub state: State,
    /// Unix ms: it comes down then.
    pub expires_at: i64,
    /// The poster's name masked (王**).
    pub poster: String,
    /// The poster's building, never the flat.
    pub building: Option<String>,
    /// Metres between the reader's building and the poster's, when both are on the map.
    pub distance_m: Option<i64>,
    /// It answers one of the reader's own open posts (the other direction, the same kind).
    pub fits: bool,
    /// The chosen responder's name masked.
    pub responder: Option<String>,
    pub poster_done: bool,
    pub responder_done: bool,
    /// Why the workers hid it: shown to its poster and the workers.
    pub hidden_reason: Option<String>,
    /// How many residents reported it (shown to the workers).
    pub reports: i64,
    /// The fixed prescription warning of a medicine post, in the reader's language.
    pub warning: Option<String>,
    pub created_at: i64,
}

/// A conversation between a post's poster and a responder.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = AidConversation)]
pub struct Conversation {
    pub id: i64,
    pub post_id: i64,
    #[serde(skip)]
    pub street_id: i64,
    #[serde(skip)]
    pub responder_person: i64,
    #[serde(skip)]
    pub responder_user: Option<i64>,
    /// The responder's name masked.
    pub responder: String,
    /// The post's title.
    pub title: String,
    /// The other party's name masked, as the reader sees it.
    pub with: String,
    /// Messages to the reader she has not read.
    pub unread: i64,
    pub last_at: i64,
}

/// A message in a conversation.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = AidMessage)]
pub struct Message {
    pub id: i64,
    #[serde(skip)]
    pub sender_person: i64,
    /// The reader wrote it.
    pub mine: bool,
    /// The sender's name masked.
    pub from: String,
    /// Phone and ID numbers typed into it are masked.
    pub body: String,
    pub created_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn draft(kind: &str, direction: &str) -> Draft {
        Draft {
            direction: direction.into(),
            kind: kind.into(),
            title: "电钻".into(),
            ..Draft::default()
        }
    }

    #[test]
    fn the_table_refuses_non_parties_and_wrong_states() {
        assert!(rule(Act::Done, State::Matched, Actor::Responder).is_ok());
        assert_eq!(
            rule(Act::Done, State::Matched, Actor::Neighbour).err(),
            Some(Refusal::NotParty)
        );
        assert_eq!(
            rule(Act::Done, State::Open, Actor::Poster).err(),
            Some(Refusal::WrongState)
        );
        // A neighbour writes to an open post: once another was chosen it is its state that
        // refuses her (409), not who she is.
        assert_eq!(
            rule(Act::Message, State::Matched, Actor::Neighbour).err(),
            Some(Refusal::WrongState)
        );
        assert_eq!(
            rule(Act::Hide, State::Open, Actor::Neighbour).err(),
            Some(Refusal::NotParty)
        );
        assert!(rule(Act::Hide, State::Expired, Actor::Staff).is_ok());
        assert_eq!(State::at("open", 10, 10), State::Expired);
        assert_eq!(State::at("matched", 10, 10), State::Matched);
    }

    #[test]
    fn loans_need_a_return_date_and_medicine_an_expiry() {
        let today = d("2026-12-05");
        let now = crate::kernel::time::local_ms(2026, 12, 5, 10, 0);
        let mut l = draft("lend", "offer");
        assert_eq!(
            l.checked(today, now).unwrap_err().key,
            "aid.err_return_missing"
        );
        l.return_on = Some("2026-12-05".into());
        assert_eq!(
            l.checked(today, now).unwrap_err().key,
            "aid.err_return_past"
        );
        l.return_on = Some("2026-12-20".into());
        assert!(l.checked(today, now).is_ok());
        let mut m = draft("medicine", "offer");
        assert_eq!(
            m.checked(today, now).unwrap_err().key,
            "aid.err_expiry_missing"
        );
        m.expiry_on = Some("2026-12-01".into());
        assert_eq!(
            m.checked(today, now).unwrap_err().key,
            "aid.err_expiry_past"
        );
        m.expiry_on = Some("2026-12-10".into());
        let c = m.checked(today, now).unwrap();
        assert!(c.expires_at < now + 6 * DAY_MS);
        m.expiry_on = Some("12/10/2026".into());
        assert_eq!(m.checked(today, now).unwrap_err().key, "aid.err_date");
    }
}
