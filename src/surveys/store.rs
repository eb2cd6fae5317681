//! The surveys area's tables: `surveys` (with its response count kept beside it),
//! `survey_recipients` (frozen at publication), `survey_answered` (who has answered, kept apart
//! from what), `survey_responses` and `survey_answers`.

use super::model::{Kind, Question, Row, State, Survey};
use crate::notices::Audience;
use crate::params;
use crate::store::{Conn, Result, Val, under_paths};

const COLS: &str = "id, street_id, kind, title, intro, questions, audience, audience_label, place_path, \
     anonymous, state, opens_at, closes_at, published_at, closed_at, recipients, answered, author_id, \
     author, author_path, created_at";

fn cols(prefix: &str) -> String {
    COLS.split(", ")
        .map(|c| format!("{prefix}{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn survey_row(r: &crate::store::Row) -> Survey {
    Survey {
        id: r.i64(0),
        street_id: r.i64(1),
        kind: Kind::parse(&r.str(2)),
        title: r.str(3),
        intro: r.str(4),
        questions: serde_json::from_str::<Vec<Question>>(&r.str(5)).unwrap_or_default(),
        audience: serde_json::from_str::<Audience>(&r.str(6)).unwrap_or_default(),
        audience_label: r.str(7),
        place_path: r.str(8),
        anonymous: r.bool(9),
        state: State::parse(&r.str(10)),
        opens_at: r.opt_i64(11),
        closes_at: r.i64(12),
        published_at: r.opt_i64(13),
        closed_at: r.opt_i64(14),
        recipients: r.i64(15),
        answered: r.i64(16),
        author_id: r.i64(17),
        author: r.str(18),
        author_path: r.str(19),
        created_at: r.i64(20),
    }
}

/// A survey's row as written.
pub struct NewSurvey<'a> {
    pub street_id: i64,
    pub kind: Kind,
    pub title: &'a str,
    pub intro: &'a str,
    pub questions: &'a [Question],
    pub audience: &'a Audience,
    pub audience_label: &'a str,
    pub place_path: &'a str,
    pub anonymous: bool,
    pub opens_at: Option<i64>,
    pub closes_at: i64,
    pub author_id: i64,
    pub author: &'a str,
    pub author_path: &'a str,
    pub now: i64,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

pub fn insert(c: &mut dyn Conn, s: &NewSurvey<'_>) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO surveys (street_id, kind, title, intro, questions, audience, audience_label, place_path, \
         anonymous, state, opens_at, closes_at, author_id, author, author_path, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'draft', $10, $11, $12, $13, $14, $15, $15) RETURNING id",
        params![
            s.street_id,
            s.kind.as_str(),
            s.title,
            s.intro,
            json(&s.questions),
            json(s.audience),
            s.audience_label,
            s.place_path,
            s.anonymous,
            s.opens_at,
            s.closes_at,
            s.author_id,
            s.author,
            s.author_path,
            s.now
        ],
    )?
    .i64(0))
}

/// Rewrites a draft (its kind, author and street stay).
pub fn update(c: &mut dyn Conn, id: i64, s: &NewSurvey<'_>) -> Result<u64> {
    c.exec(
        "UPDATE surveys SET title = $1, intro = $2, questions = $3, audience = $4, audience_label = $5, \
         place_path = $6, anonymous = $7, opens_at = $8, closes_at = $9, updated_at = $10 \
         WHERE id = $11 AND state = 'draft'",
        params![
            s.title,
            s.intro,
            json(&s.questions),
            json(s.audience),
            s.audience_label,
            s.place_path,
            s.anonymous,
            s.opens_at,
            s.closes_at,
            s.now,
            id
        ],
    )
}

/// A recipient as frozen at publication: a resident or an account, and her place.
pub struct Recipient {
    pub person_id: Option<i64>,
    pub user_id: Option<i64>,
    pub place_path: String,
}

/// Freezes a survey's recipients and publishes it.
pub fn publish(
    c: &mut dyn Conn,
    id: i64,
    street_id: i64,
    recipients: &[Recipient],
    now: i64,
) -> Result<()> {
    const COLS: [&str; 6] = [
        "survey_id",
        "seq",
        "street_id",
        "person_id",
        "user_id",
        "place_path",
    ];
    for (k, chunk) in recipients.chunks(2_000).enumerate() {
        let rows: Vec<Vec<Val>> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| {
                vec![
                    Val::Int(id),
                    Val::Int((k * 2_000 + i + 1) as i64),
                    Val::Int(street_id),
                    Val::from(r.person_id),
                    Val::from(r.user_id),
                    Val::Text(r.place_path.clone()),
                ]
            })
            .collect();
        c.insert_many("survey_recipients", &COLS, &rows)?;
    }
    c.exec(
        "UPDATE surveys SET state = 'published', published_at = $1, recipients = $2, updated_at = $1 \
         WHERE id = $3",
        params![now, recipients.len() as i64, id],
    )?;
    Ok(())
}

pub fn close(c: &mut dyn Conn, id: i64, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE surveys SET state = 'closed', closed_at = $1, updated_at = $1 WHERE id = $2 AND state = 'published'",
        params![now, id],
    )
}

/// Closes the published surveys past their deadline; how many.
pub fn close_due(c: &mut dyn Conn, now: i64) -> Result<u64> {
    c.exec(
        "UPDATE surveys SET state = 'closed', closed_at = closes_at, updated_at = $1 \
         WHERE state = 'published' AND closes_at <= $1",
        params![now],
    )
}

pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Survey>> {
    Ok(c.query_opt(
        &format!("SELECT {COLS} FROM surveys WHERE id = $1"),
        params![id],
    )?
    .map(|r| survey_row(&r)))
}

/// The surveys a street's workers manage under `paths` (by their author's place), newest first.
pub fn managed(
    c: &mut dyn Conn,
    street_id: i64,
    paths: &[String],
    author_id: i64,
    limit: i64,
) -> Result<Vec<Survey>> {
    let mut p: Vec<Val> = vec![Val::Int(street_id), Val::Int(author_id), Val::Int(limit)];
    let under = under_paths("author_path", paths, 4, &mut p);
    Ok(c.query(
        &format!(
            "SELECT {COLS} FROM surveys WHERE street_id = $1 AND (author_id = $2 OR {under}) \
             ORDER BY id DESC LIMIT $3"
        ),
        &p,
    )?
    .iter()
    .map(survey_row)
    .collect())
}

/// Which recipient: a resident (by her record) or an account.
#[derive(Clone, Copy, Debug)]
pub enum Whose {
    Person(i64),
    User(i64),
}

impl Whose {
    fn cond(self) -> (&'static str, i64) {
        match self {
            Whose::Person(p) => ("r.person_id = $1", p),
            Whose::User(u) => ("r.user_id = $1", u),
        }
    }
}

/// A recipient's published and closed surveys, newest first, with whether she answered.
pub fn received(c: &mut dyn Conn, whose: Whose, limit: i64) -> Result<Vec<(Survey, bool)>> {
    let (cond, id) = whose.cond();
    let n = COLS.split(", ").count();
    Ok(c.query(
        &format!(
            "SELECT {}, (SELECT COUNT(*) FROM survey_answered a WHERE a.survey_id = r.survey_id AND a.seq = r.seq) \
             FROM survey_recipients r JOIN surveys s ON s.id = r.survey_id \
             WHERE {cond} AND s.state IN ('published', 'closed') ORDER BY s.published_at DESC, s.id DESC LIMIT $2",
            cols("s.")
        ),
        params![id, limit],
    )?
    .iter()
    .map(|r| (survey_row(r), r.i64(n) > 0))
    .collect())
}

/// A recipient's row of one survey: `(seq, answered)`.
pub fn recipient(c: &mut dyn Conn, survey: i64, whose: Whose) -> Result<Option<(i64, bool)>> {
    let (cond, id) = whose.cond();
    Ok(c.query_opt(
        &format!(
            "SELECT r.seq, (SELECT COUNT(*) FROM survey_answered a WHERE a.survey_id = r.survey_id AND a.seq = r.seq) \
             FROM survey_recipients r WHERE {cond} AND r.survey_id = $2"
        ),
        params![id, survey],
    )?
    .map(|r| (r.i64(0), r.i64(1) > 0)))
}

/// Whether an account has answered a survey (under any recipient's row).
pub fn answered_by(c: &mut dyn Conn, survey: i64, user: i64) -> Result<bool> {
    Ok(c.query_opt(
        "SELECT 1 FROM survey_answered WHERE survey_id = $1 AND user_id = $2",
        params![survey, user],
    )?
    .is_some())
}

/// One answer sheet to store.
pub struct Sheet<'a> {
    pub survey_id: i64,
    pub street_id: i64,
    pub seq: i64,
    /// The account that answered (none: entered for a recipient, as the demo does).
    pub user_id: Option<i64>,
    /// Who answered, kept only when the survey is not anonymous.
    pub who: Option<(Option<i64>, Option<i64>)>,
    pub rows: &'a [Row],
    pub now: i64,
}

/// Stores a sheet: the marker that the recipient has answered (whose keys refuse a second),
/// the sheet and its answers, and the survey's count.
pub fn answer(c: &mut dyn Conn, s: &Sheet<'_>) -> Result<i64> {
    c.exec(
        "INSERT INTO survey_answered (survey_id, seq, street_id, user_id) VALUES ($1, $2, $3, $4)",
        params![s.survey_id, s.seq, s.street_id, s.user_id],
    )?;
    // A random key: for an anonymous sheet, the order of rows must not follow the markers'.
    let mut id: i64 = rand::random::<i64>() & i64::MAX;
    while id == 0
        || c.query_opt("SELECT 1 FROM survey_responses WHERE id = $1", params![id])?
            .is_some()
    {
        id = rand::random::<i64>() & i64::MAX;
    }
    let (person, user, at) = match s.who {
        Some((p, u)) => (p, u, Some(s.now)),
        None => (None, None, None),
    };
    c.exec(
        "INSERT INTO survey_responses (id, survey_id, street_id, person_id, user_id, answered_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        params![id, s.survey_id, s.street_id, person, user, at],
    )?;
    let rows: Vec<Vec<Val>> = s
        .rows
        .iter()
        .map(|(q, choice, value, text)| {
            vec![
                Val::Int(id),
                Val::Int(s.survey_id),
                Val::Int(s.street_id),
                Val::Int(*q),
                Val::from(*choice),
                Val::from(*value),
                Val::from(text.clone()),
            ]
        })
        .collect();
    c.insert_many(
        "survey_answers",
        &[
            "response_id",
            "survey_id",
            "street_id",
            "question",
            "choice",
            "value",
            "text",
        ],
        &rows,
    )?;
    c.exec(
        "UPDATE surveys SET answered = answered + 1 WHERE id = $1",
        params![s.survey_id],
    )?;
    Ok(id)
}

/// Answer sheets of a survey.
pub fn responses(c: &mut dyn Conn, survey: i64) -> Result<i64> {
    c.query_i64(
        "SELECT COUNT(*) FROM survey_responses WHERE survey_id = $1",
        params![survey],
    )
}

/// Per question and option, how many chose it: `(question, choice, count)`.
pub fn choice_counts(c: &mut dyn Conn, survey: i64) -> Result<Vec<(i64, i64, i64)>> {
    Ok(c.query(
        "SELECT question, choice, COUNT(*) FROM survey_answers WHERE survey_id = $1 AND choice IS NOT NULL \
         GROUP BY question, choice ORDER BY question, choice",
        params![survey],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1), r.i64(2)))
    .collect())
}

/// Per question and scale value, how many gave it: `(question, value, count)`.
pub fn value_counts(c: &mut dyn Conn, survey: i64) -> Result<Vec<(i64, i64, i64)>> {
    Ok(c.query(
        "SELECT question, value, COUNT(*) FROM survey_answers WHERE survey_id = $1 AND value IS NOT NULL \
         GROUP BY question, value ORDER BY question, value",
        params![survey],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1), r.i64(2)))
    .collect())
}

/// Per question, how many sheets answered it: `(question, count)`.
pub fn answer_counts(c: &mut dyn Conn, survey: i64) -> Result<Vec<(i64, i64)>> {
    Ok(c.query(
        "SELECT question, COUNT(DISTINCT response_id) FROM survey_answers WHERE survey_id = $1 GROUP BY question",
        params![survey],
    )?
    .iter()
    .map(|r| (r.i64(0), r.i64(1)))
    .collect())
}

/// Free texts: `(question, text, person)` (the person only when the sheet keeps one).
pub fn texts(c: &mut dyn Conn, survey: i64, limit: i64) -> Result<Vec<(i64, String, Option<i64>)>> {
    Ok(c.query(
        "SELECT a.question, a.text, r.person_id FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id \
         WHERE a.survey_id = $1 AND a.text IS NOT NULL ORDER BY a.question, r.answered_at, a.response_id LIMIT $2",
        params![survey, limit],
    )?
    .iter()
    .map(|r| (r.i64(0), r.str(1), r.opt_i64(2)))
    .collect())
}

/// Places a worker may name in an audience: under her paths, down to buildings.
pub fn pickable(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<(i64, String, String, i64)>> {
    let mut p = Vec::new();
    let cond = under_paths("path", paths, 1, &mut p);
    Ok(c.query(
        &format!(
            "SELECT id, name, kind, depth FROM places WHERE {cond} \
                 AND kind IN ('street', 'community', 'grid', 'building') ORDER BY path LIMIT 5000"
        ),
        &p,
    )?
    .iter()
    .map(|r| (r.i64(0), r.str(1), r.str(2), r.i64(3)))
    .collect())
}

/// The communities at or under a worker's places, and the community above her place when she
/// keeps less than one: `(id, name, path)`.
pub fn communities(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<(i64, String, String)>> {
    let mut out: Vec<(i64, String, String)> = Vec::new();
    let mut p = Vec::new();
    let cond = under_paths("path", paths, 1, &mut p);
    for r in c.query(
        &format!("SELECT id, name, path FROM places WHERE kind = 'community' AND {cond} ORDER BY path LIMIT 200"),
        &p,
    )? {
        out.push((r.i64(0), r.str(1), r.str(2)));
    }
    Ok(out)
}

/// A community satisfaction survey's scale answers, for the case figures: per survey, its
/// place, title, the sum and number of its scale answers, and its id.
pub fn satisfaction(
    c: &mut dyn Conn,
    street_id: i64,
    since: Option<i64>,
) -> Result<Vec<Satisfaction>> {
    Ok(c.query(
        "SELECT s.place_path, s.title, CAST(COALESCE(SUM(a.value), 0) AS BIGINT), COUNT(a.value), s.id \
         FROM surveys s LEFT JOIN survey_answers a ON a.survey_id = s.id AND a.value IS NOT NULL \
         WHERE s.street_id = $1 AND s.kind = 'satisfaction' AND s.state IN ('published', 'closed') \
         AND s.published_at >= $2 \
         GROUP BY s.id, s.place_path, s.title, s.answered ORDER BY s.place_path, s.id",
        params![street_id, since.unwrap_or(0)],
    )?
    .iter()
    .map(|r| Satisfaction {
        place_path: r.str(0),
        title: r.str(1),
        sum: r.i64(2),
        ratings: r.i64(3),
        id: r.i64(4),
    })
    .collect())
}

/// A satisfaction survey's scale answers, summed.
pub struct Satisfaction {
    pub place_path: String,
    pub title: String,
    pub sum: i64,
    pub ratings: i64,
    pub id: i64,
}

/// The names of places by path (a satisfaction survey's community).
pub fn place_names(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for path in paths {
        if let Some(r) = c.query_opt(
            "SELECT path, name FROM places WHERE path = $1",
            params![path.clone()],
        )? {
            out.push((r.str(0), r.str(1)));
        }
    }
    Ok(out)
}
