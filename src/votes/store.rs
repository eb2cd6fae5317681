//! The votes' SQL: votes, their frozen electorates, who took part and the tally. The units of a
//! scope are read from `places` (the hierarchy every area is placed in); the owners through
//! the registry's surface (`registry::residents::owners_under`).

use serde::Serialize;

use super::electorate::{NewElector, ScopeUnit};
use super::model::{Channel, Choice, Matter, ScopeKind, Tally, Totals};
use crate::params;
use crate::store::{Conn, Result, Row, Val, under_paths};

/// A vote as stored.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Vote {
    pub id: i64,
    #[serde(skip)]
    pub street_id: i64,
    pub title: String,
    pub matter: Matter,
    pub scope_kind: ScopeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub building_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stairwell_no: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estate: Option<String>,
    /// The place every unit of the scope lies under.
    #[serde(skip)]
    pub place_path: String,
    /// The scope as shown: `3号楼 2单元`, `3号楼`, `阳光小区`.
    pub scope_label: String,
    /// A secret ballot keeps who took part apart from how.
    pub secret: bool,
    /// Unix milliseconds.
    pub opens_at: i64,
    pub closes_at: i64,
    /// When the electorate was taken (at opening); absent before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frozen_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    pub created_at: i64,
}

impl Vote {
    /// Before opening, open, or closed at `now`.
    pub fn phase(&self, now: i64) -> &'static str {
        if now < self.opens_at {
            "upcoming"
        } else if now < self.closes_at {
            "open"
        } else {
            "closed"
        }
    }
}

const COLS: &str = "id, street_id, title, matter, scope_kind, building_id, stairwell_no, estate, \
                    place_path, scope_label, secret, opens_at, closes_at, frozen_at, template, created_at";

fn vote_row(mut r: Row) -> Vote {
    Vote {
        id: r.i64(0),
        street_id: r.i64(1),
        title: r.take_str(2).unwrap_or_default(),
        matter: Matter::parse(&r.str(3)).unwrap_or(Matter::Item9),
        scope_kind: ScopeKind::parse(&r.str(4)).unwrap_or(ScopeKind::Building),
        building_id: r.opt_i64(5),
        stairwell_no: r.opt_i64(6),
        estate: r.take_str(7),
        place_path: r.take_str(8).unwrap_or_default(),
        scope_label: r.take_str(9).unwrap_or_default(),
        secret: r.bool(10),
        opens_at: r.i64(11),
        closes_at: r.i64(12),
        frozen_at: r.opt_i64(13),
        template: r.take_str(14),
        created_at: r.i64(15),
    }
}

/// A vote to store.
pub struct NewVote<'a> {
    pub street_id: i64,
    pub title: &'a str,
    pub matter: Matter,
    pub scope_kind: ScopeKind,
    pub building_id: Option<i64>,
    pub stairwell_no: Option<i64>,
    pub estate: Option<&'a str>,
    pub place_path: &'a str,
    pub scope_label: &'a str,
    pub secret: bool,
    pub opens_at: i64,
    pub closes_at: i64,
    pub template: Option<&'a str>,
    pub created_by: i64,
    pub now: i64,
}

pub fn insert(c: &mut dyn Conn, v: &NewVote) -> Result<i64> {
    c.query_i64(
        "INSERT INTO votes (street_id, title, matter, scope_kind, building_id, stairwell_no, estate, \
         place_path, scope_label, secret, opens_at, closes_at, template, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        params![
            v.street_id,
            v.title,
            v.matter.code(),
            v.scope_kind.as_str(),
            v.building_id,
            v.stairwell_no,
            v.estate.map(str::to_string),
            v.place_path,
            v.scope_label,
            v.secret,
            v.opens_at,
            v.closes_at,
            v.template.map(str::to_string),
            v.created_by,
            v.now
        ],
    )
}

pub fn get(c: &mut dyn Conn, id: i64) -> Result<Option<Vote>> {
    Ok(c.query_opt(
        &format!("SELECT {COLS} FROM votes WHERE id = $1"),
        params![id],
    )?
    .map(vote_row))
}

/// Votes held under any of these paths, newest first.
pub fn under(c: &mut dyn Conn, paths: &[String], limit: i64) -> Result<Vec<Vote>> {
    let mut p = Vec::new();
    let cond = under_paths("place_path", paths, 1, &mut p);
    p.push(Val::Int(limit));
    let n = p.len();
    Ok(c.query(
        &format!(
            "SELECT {COLS} FROM votes WHERE {cond} ORDER BY opens_at DESC, id DESC LIMIT ${n}"
        ),
        &p,
    )?
    .into_iter()
    .map(vote_row)
    .collect())
}

/// Votes whose frozen electorate names this person, newest first.
pub fn of_person(c: &mut dyn Conn, person_id: i64) -> Result<Vec<Vote>> {
    let cols = COLS
        .split(", ")
        .map(|c| format!("v.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(c.query(
        &format!(
            "SELECT {cols} FROM votes v WHERE v.id IN \
             (SELECT vote_id FROM vote_elector_persons WHERE person_id = $1) \
             ORDER BY v.opens_at DESC, v.id DESC LIMIT 200"
        ),
        params![person_id],
    )?
    .into_iter()
    .map(vote_row)
    .collect())
}

/// Votes of a street not yet frozen (an owner sees those she will vote in before they open).
pub fn unfrozen(c: &mut dyn Conn, street_id: i64) -> Result<Vec<Vote>> {
    Ok(c.query(
        &format!("SELECT {COLS} FROM votes WHERE street_id = $1 AND frozen_at IS NULL ORDER BY opens_at LIMIT 200"),
        params![street_id],
    )?
    .into_iter()
    .map(vote_row)
    .collect())
}

/// Votes that have opened and whose electorate is not yet taken.
pub fn due_to_freeze(c: &mut dyn Conn, now: i64) -> Result<Vec<i64>> {
    Ok(c.query(
        "SELECT id FROM votes WHERE frozen_at IS NULL AND opens_at <= $1 ORDER BY id LIMIT 100",
        params![now],
    )?
    .iter()
    .map(|r| r.i64(0))
    .collect())
}

/// A building (or other place) by id: (id, street, kind, name, path, estate, stairwells).
pub struct PlaceBrief {
    pub id: i64,
    pub street_id: Option<i64>,
    pub kind: String,
    pub name: String,
    pub path: String,
    pub estate: Option<String>,
    pub stairwells: Option<i64>,
}

fn brief_row(mut r: Row) -> PlaceBrief {
    PlaceBrief {
        id: r.i64(0),
        street_id: r.opt_i64(1),
        kind: r.take_str(2).unwrap_or_default(),
        name: r.take_str(3).unwrap_or_default(),
        path: r.take_str(4).unwrap_or_default(),
        estate: r.take_str(5),
        stairwells: r.opt_i64(6),
    }
}

pub fn place(c: &mut dyn Conn, id: i64) -> Result<Option<PlaceBrief>> {
    Ok(c.query_opt(
        "SELECT id, street_id, kind, name, path, estate, stairwells FROM places WHERE id = $1 AND retired_at IS NULL",
        params![id],
    )?
    .map(brief_row))
}

/// The buildings of a street that share an estate's name.
pub fn estate_buildings(c: &mut dyn Conn, street_id: i64, estate: &str) -> Result<Vec<PlaceBrief>> {
    Ok(c.query(
        "SELECT id, street_id, kind, name, path, estate, stairwells FROM places \
         WHERE street_id = $1 AND kind = 'building' AND estate = $2 AND retired_at IS NULL ORDER BY path",
        params![street_id, estate],
    )?
    .into_iter()
    .map(brief_row)
    .collect())
}

/// The estates of the buildings under these paths, by name.
pub fn estates_under(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<String>> {
    let mut p = Vec::new();
    let cond = under_paths("path", paths, 1, &mut p);
    Ok(c.query(
        &format!(
            "SELECT DISTINCT estate FROM places WHERE kind = 'building' AND estate IS NOT NULL \
                 AND estate <> '' AND retired_at IS NULL AND {cond} ORDER BY estate LIMIT 500"
        ),
        &p,
    )?
    .iter()
    .map(|r| r.str(0))
    .collect())
}

/// The buildings under these paths (for the form's choice): (id, estate, name, stairwells).
pub fn buildings_under(c: &mut dyn Conn, paths: &[String]) -> Result<Vec<PlaceBrief>> {
    let mut p = Vec::new();
    let cond = under_paths("path", paths, 1, &mut p);
    Ok(c.query(
        &format!(
            "SELECT id, street_id, kind, name, path, estate, stairwells FROM places \
             WHERE kind = 'building' AND retired_at IS NULL AND {cond} ORDER BY path LIMIT 2000"
        ),
        &p,
    )?
    .into_iter()
    .map(brief_row)
    .collect())
}

/// A unit's building and stairwell, when it has both.
pub fn unit_stairwell(c: &mut dyn Conn, unit_id: i64) -> Result<Option<(i64, i64)>> {
    Ok(c.query_opt(
        "SELECT u.parent_id, u.stairwell_no FROM places u JOIN places b ON b.id = u.parent_id \
         WHERE u.id = $1 AND u.kind = 'unit' AND b.kind = 'building'",
        params![unit_id],
    )?
    .and_then(|r| Some((r.opt_i64(0)?, r.opt_i64(1)?))))
}

/// The units of a building, of one stairwell when given, with their areas.
pub fn units_of(
    c: &mut dyn Conn,
    building: &PlaceBrief,
    stairwell: Option<i64>,
) -> Result<Vec<ScopeUnit>> {
    let mut p = Vec::new();
    let cond = under_paths("path", std::slice::from_ref(&building.path), 1, &mut p);
    let mut sql = format!(
        "SELECT id, name, area_m2 FROM places WHERE kind = 'unit' AND retired_at IS NULL AND {cond}"
    );
    if let Some(s) = stairwell {
        p.push(Val::Int(s));
        sql.push_str(&format!(" AND stairwell_no = ${}", p.len()));
    }
    sql.push_str(" ORDER BY path");
    Ok(c.query(&sql, &p)?
        .into_iter()
        .map(|r| ScopeUnit {
            id: r.i64(0),
            label: format!("{} {}", building.name, r.str(1)),
            area_m2: r.opt_f64(2),
        })
        .collect())
}

/// Stores the electorate and marks the vote frozen, unless another transaction did first
/// (then nothing is written and `false` comes back).
pub fn freeze(c: &mut dyn Conn, vote: &Vote, electors: &[NewElector], now: i64) -> Result<bool> {
    if c.exec(
        "UPDATE votes SET frozen_at = $1 WHERE id = $2 AND frozen_at IS NULL",
        params![now, vote.id],
    )? == 0
    {
        return Ok(false);
    }
    let mut links = Vec::new();
    for e in electors {
        let id = c.query_i64(
            "INSERT INTO vote_electors (street_id, vote_id, area_cm2, units, developer, label, names) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            params![
                vote.street_id,
                vote.id,
                e.area_cm2,
                e.units.len() as i64,
                e.developer,
                e.label.clone(),
                e.names.clone()
            ],
        )?;
        for p in &e.persons {
            links.push(vec![
                Val::Int(vote.street_id),
                Val::Int(vote.id),
                Val::Int(id),
                Val::Int(*p),
            ]);
        }
    }
    for part in links.chunks(1000) {
        c.insert_many(
            "vote_elector_persons",
            &["street_id", "vote_id", "elector_id", "person_id"],
            part,
        )?;
    }
    Ok(true)
}

/// The frozen electorate's totals.
pub fn totals(c: &mut dyn Conn, vote_id: i64) -> Result<Totals> {
    let r = c.query_one(
        "SELECT CAST(COALESCE(SUM(area_cm2), 0) AS BIGINT), COUNT(*) FROM vote_electors WHERE vote_id = $1",
        params![vote_id],
    )?;
    Ok(Totals {
        area_cm2: r.i64(0),
        heads: r.i64(1),
    })
}

/// The tally so far.
pub fn tally(c: &mut dyn Conn, vote_id: i64) -> Result<Tally> {
    let mut t = Tally::default();
    for r in c.query(
        "SELECT choice, heads, area_cm2 FROM vote_tally WHERE vote_id = $1",
        params![vote_id],
    )? {
        match Choice::parse(&r.str(0)) {
            Some(Choice::For) => (t.for_heads, t.for_area) = (r.i64(1), r.i64(2)),
            Some(Choice::Against) => (t.against_heads, t.against_area) = (r.i64(1), r.i64(2)),
            Some(Choice::Abstain) => (t.abstain_heads, t.abstain_area) = (r.i64(1), r.i64(2)),
            None => {}
        }
    }
    Ok(t)
}

/// An elector of a frozen electorate, with its owners and its ballot if cast.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = VoteElector)]
pub struct Elector {
    pub id: i64,
    pub area_cm2: i64,
    pub units: i64,
    /// The units with no owner on record (the developer's), one elector together.
    pub developer: bool,
    /// Building and units.
    pub label: String,
    /// The owners' names, masked.
    pub names: String,
    /// Who may cast its ballot (the owners' person ids); shown to workers entering a ballot.
    pub persons: Vec<i64>,
    /// Its ballot, once cast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ballot: Option<Participation>,
}

/// That an elector took part: how the ballot came in and when (and how it voted, for an open
/// ballot only).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = VoteParticipation)]
pub struct Participation {
    pub channel: Channel,
    pub at: i64,
    /// The owner who cast it or gave the proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cast_by: Option<i64>,
    /// The choice, on an open ballot only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<Choice>,
}

const ELECTOR: &str = "SELECT e.id, e.area_cm2, e.units, e.developer, e.label, e.names, \
                       b.channel, b.at, b.cast_by, b.choice FROM vote_electors e \
                       LEFT JOIN vote_participation b ON b.vote_id = e.vote_id AND b.elector_id = e.id";

fn elector_row(mut r: Row) -> Elector {
    Elector {
        id: r.i64(0),
        area_cm2: r.i64(1),
        units: r.i64(2),
        developer: r.bool(3),
        label: r.take_str(4).unwrap_or_default(),
        names: r.take_str(5).unwrap_or_default(),
        persons: Vec::new(),
        ballot: r
            .take_str(6)
            .and_then(|ch| Channel::parse(&ch))
            .map(|channel| Participation {
                channel,
                at: r.i64(7),
                cast_by: r.opt_i64(8),
                choice: r.opt_str(9).and_then(|c| Choice::parse(&c)),
            }),
    }
}

fn with_persons(c: &mut dyn Conn, vote_id: i64, mut es: Vec<Elector>) -> Result<Vec<Elector>> {
    let mut by: std::collections::HashMap<i64, Vec<i64>> = Default::default();
    for r in c.query(
        "SELECT elector_id, person_id FROM vote_elector_persons WHERE vote_id = $1 ORDER BY person_id",
        params![vote_id],
    )? {
        by.entry(r.i64(0)).or_default().push(r.i64(1));
    }
    for e in &mut es {
        e.persons = by.remove(&e.id).unwrap_or_default();
    }
    Ok(es)
}

/// Every elector of a vote, in the order they were taken.
pub fn electors(c: &mut dyn Conn, vote_id: i64) -> Result<Vec<Elector>> {
    let es = c
        .query(
            &format!("{ELECTOR} WHERE e.vote_id = $1 ORDER BY e.id"),
            params![vote_id],
        )?
        .into_iter()
        .map(elector_row)
        .collect();
    with_persons(c, vote_id, es)
}

/// One elector of a vote.
pub fn elector(c: &mut dyn Conn, vote_id: i64, id: i64) -> Result<Option<Elector>> {
    let Some(e) = c
        .query_opt(
            &format!("{ELECTOR} WHERE e.vote_id = $1 AND e.id = $2"),
            params![vote_id, id],
        )?
        .map(elector_row)
    else {
        return Ok(None);
    };
    let persons = c
        .query(
            "SELECT person_id FROM vote_elector_persons WHERE vote_id = $1 AND elector_id = $2 ORDER BY person_id",
            params![vote_id, id],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    Ok(Some(Elector { persons, ..e }))
}

/// The electors of a vote this person owns for.
pub fn electors_of_person(c: &mut dyn Conn, vote_id: i64, person_id: i64) -> Result<Vec<Elector>> {
    let es = c
        .query(
            &format!(
                "{ELECTOR} WHERE e.vote_id = $1 AND e.id IN \
                 (SELECT elector_id FROM vote_elector_persons WHERE vote_id = $1 AND person_id = $2) ORDER BY e.id"
            ),
            params![vote_id, person_id],
        )?
        .into_iter()
        .map(elector_row)
        .collect();
    with_persons(c, vote_id, es)
}

/// A ballot to record.
pub struct NewBallot<'a> {
    pub vote: &'a Vote,
    pub elector_id: i64,
    pub area_cm2: i64,
    pub channel: Channel,
    pub cast_by: Option<i64>,
    pub proxy_name: Option<&'a str>,
    pub entered_by: i64,
    pub evidence: Option<(&'a str, &'a str)>,
    pub choice: Choice,
    pub at: i64,
}

/// Records that an elector took part (the unique key refuses a second ballot, whatever its
/// channel) and adds the choice to the tally; on a secret ballot the choice is not kept with
/// who took part.
pub fn record(c: &mut dyn Conn, b: &NewBallot) -> Result<()> {
    let v = b.vote;
    c.exec(
        "INSERT INTO vote_participation (street_id, vote_id, elector_id, channel, cast_by, proxy_name, \
         entered_by, evidence, evidence_type, choice, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        params![
            v.street_id,
            v.id,
            b.elector_id,
            b.channel.as_str(),
            b.cast_by,
            b.proxy_name.map(str::to_string),
            b.entered_by,
            b.evidence.map(|e| e.0.to_string()),
            b.evidence.map(|e| e.1.to_string()),
            (!v.secret).then(|| b.choice.as_str().to_string()),
            b.at
        ],
    )?;
    c.exec(
        "INSERT INTO vote_tally (street_id, vote_id, choice, heads, area_cm2) VALUES ($1, $2, $3, 1, $4) \
         ON CONFLICT (vote_id, choice) DO UPDATE SET heads = vote_tally.heads + 1, \
         area_cm2 = vote_tally.area_cm2 + excluded.area_cm2",
        params![v.street_id, v.id, b.choice.as_str(), b.area_cm2],
    )?;
    Ok(())
}

/// An elector's ballot, if one was recorded.
pub fn participation(
    c: &mut dyn Conn,
    vote_id: i64,
    elector_id: i64,
) -> Result<Option<Participation>> {
    Ok(c.query_opt(
        "SELECT channel, at, cast_by, choice FROM vote_participation WHERE vote_id = $1 AND elector_id = $2",
        params![vote_id, elector_id],
    )?
    .and_then(|r| {
        Some(Participation {
            channel: Channel::parse(&r.str(0))?,
            at: r.i64(1),
            cast_by: r.opt_i64(2),
            choice: r.opt_str(3).and_then(|c| Choice::parse(&c)),
        })
    }))
}

/// The file kept with an elector's ballot (a paper ballot's scan, a proxy's evidence): its path
/// under the data folder and its type.
pub fn evidence(
    c: &mut dyn Conn,
    vote_id: i64,
    elector_id: i64,
) -> Result<Option<(String, String)>> {
    Ok(c.query_opt(
        "SELECT evidence, evidence_type FROM vote_participation WHERE vote_id = $1 AND elector_id = $2 \
         AND evidence IS NOT NULL",
        params![vote_id, elector_id],
    )?
    .map(|r| (r.str(0), r.str(1))))
}
