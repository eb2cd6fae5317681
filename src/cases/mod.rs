//! Cases (一网统管 · 高效处置一件事): a problem reported through any channel becomes one case,
//! routed to the organisation that must fix it, watched against a deadline in working time,
//! escalated when late, verified on site by someone other than the handler, closed and rated.
//!
//! This module holds the types and the storage; [`lifecycle`] the table of allowed steps,
//! [`escalation`] the deadline sweep, [`notify`] the inbox and webhooks, [`dedupe`] the
//! duplicate suggestions, [`open311`] the GeoReport v2 API, [`http`] the JSON API and
//! [`pages`] the server-rendered pages.

pub mod calendar;
pub mod dedupe;
pub mod demo;
pub mod escalation;
pub mod hooks;
pub mod http;
pub mod jobs;
pub mod lifecycle;
pub mod notify;
pub mod open311;
pub mod pages;
pub mod photos;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::area::{Area, Nav};
use crate::kernel::error::AppError;
use crate::org::{Caller, Role, geometry};
use crate::params;
use crate::state::AppState;
use crate::store::{Conn, Row, StoreError, Val, under_paths};
use calendar::{Calendar, HOUR_MS};
use utoipa::OpenApi;

pub use lifecycle::{Action, Actor, State};

/// All routes of the cases capability: the JSON API, Open311 and the pages.
/// What cases contribute to the application.
pub fn area() -> Area {
    Area {
        openapi: http::CasesApi::openapi,
        jobs: jobs::jobs,
        nav: &[Nav {
            order: 10,
            href: "/cases",
            id: "nav-cases",
            label: "case.page.title",
            shown: |_| true,
        }],
        ..Area::new("cases", router)
    }
}

fn router() -> Router<Arc<AppState>> {
    http::router()
        .merge(open311::router())
        .merge(pages::router())
}

pub use crate::kernel::ids::CaseId;

/// Where a case came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A resident's report from a phone.
    Resident,
    /// A hotline call (12345) entered by a worker.
    Hotline,
    /// A grid worker's patrol.
    Patrol,
    /// A sensor alert.
    Sensor,
    /// The JSON API.
    Api,
    /// Open311 GeoReport v2.
    Open311,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Resident,
        Channel::Hotline,
        Channel::Patrol,
        Channel::Sensor,
        Channel::Api,
        Channel::Open311,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Resident => "resident",
            Channel::Hotline => "hotline",
            Channel::Patrol => "patrol",
            Channel::Sensor => "sensor",
            Channel::Api => "api",
            Channel::Open311 => "open311",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
    /// Whether a report from this channel may be published (the Open311 feed, "similar reports
    /// nearby"): a hotline caller did not agree to it, and a sensor's alert names the flat.
    pub fn published(self) -> bool {
        !matches!(self, Channel::Hotline | Channel::Sensor)
    }
}

/// The type of an extra field of a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    /// YYYY-MM-DD.
    Date,
    /// One of `options`.
    Single,
    /// Any of `options`, comma-separated in forms, a list in JSON.
    Multi,
}

/// An extra field a category asks for (e.g. the plate of an illegally parked car).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldDef {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub label_zh: String,
    pub label_en: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub options: Vec<String>,
}

impl FieldDef {
    pub fn label(&self, lang: crate::kernel::i18n::Lang) -> &str {
        if lang == crate::kernel::i18n::Lang::En {
            &self.label_en
        } else {
            &self.label_zh
        }
    }
}

/// A category of the service catalogue.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Category {
    pub id: i64,
    pub street_id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub group: String,
    pub fields: Vec<FieldDef>,
    /// Working hours allowed to accept a case.
    pub accept_hours: i64,
    /// Working hours allowed to resolve it once accepted.
    pub resolve_hours: i64,
    /// 1 urgent, 2 normal, 3 low.
    pub priority: i64,
    pub dup_radius_m: i64,
    pub verify_required: bool,
    /// Listed over Open311.
    pub public: bool,
    pub active: bool,
    /// About people (群租, a family dispute, care for an elderly person): never published,
    /// whatever `public` says.
    pub about_people: bool,
}

impl Category {
    /// Whether cases of this category may be shown to the public (the Open311 feed, "similar
    /// reports nearby"): offered publicly and not about people.
    pub fn publishable(&self) -> bool {
        self.public && !self.about_people
    }

    pub fn name(&self, lang: crate::kernel::i18n::Lang) -> &str {
        if lang == crate::kernel::i18n::Lang::En {
            &self.name_en
        } else {
            &self.name_zh
        }
    }
}

const CATEGORY_COLS: &str = "id, street_id, code, name_zh, name_en, group_code, fields, accept_hours, \
     resolve_hours, priority, dup_radius_m, verify_required, public, active, about_people";

fn category_from(mut r: Row) -> Category {
    Category {
        id: r.i64(0),
        street_id: r.i64(1),
        code: r.take_str(2).unwrap_or_default(),
        name_zh: r.take_str(3).unwrap_or_default(),
        name_en: r.take_str(4).unwrap_or_default(),
        group: r.take_str(5).unwrap_or_default(),
        fields: serde_json::from_str(&r.str(6)).unwrap_or_default(),
        accept_hours: r.i64(7),
        resolve_hours: r.i64(8),
        priority: r.i64(9),
        dup_radius_m: r.i64(10),
        verify_required: r.bool(11),
        public: r.bool(12),
        active: r.bool(13),
        about_people: r.bool(14),
    }
}

pub fn categories(c: &mut dyn Conn, street_id: i64) -> Result<Vec<Category>, StoreError> {
    let rows = c.query(
        &format!(
            "SELECT {CATEGORY_COLS} FROM case_categories WHERE street_id = $1 ORDER BY group_code, code"
        ),
        params![street_id],
    )?;
    Ok(rows.into_iter().map(category_from).collect())
}

pub fn category_by_code(
    c: &mut dyn Conn,
    street_id: i64,
    code: &str,
) -> Result<Option<Category>, StoreError> {
    Ok(c.query_opt(
        &format!("SELECT {CATEGORY_COLS} FROM case_categories WHERE street_id = $1 AND code = $2"),
        params![street_id, code],
    )?
    .map(category_from))
}

pub fn category_by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Category>, StoreError> {
    Ok(c.query_opt(
        &format!("SELECT {CATEGORY_COLS} FROM case_categories WHERE id = $1"),
        params![id],
    )?
    .map(category_from))
}

/// A category as an administrator defines it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
pub struct NewCategory {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub group: String,
    #[serde(default)]
    pub fields: Vec<FieldDef>,
    pub accept_hours: i64,
    pub resolve_hours: i64,
    #[serde(default = "default_priority")]
    pub priority: i64,
    #[serde(default = "default_radius")]
    pub dup_radius_m: i64,
    #[serde(default = "yes")]
    pub verify_required: bool,
    #[serde(default = "yes")]
    pub public: bool,
    /// About people (群租, a family dispute, care for an elderly person): never offered or
    /// published, whatever `public` says. When absent, a category keeps what it had (a new
    /// one is not about people).
    #[serde(default)]
    pub about_people: Option<bool>,
}

fn default_priority() -> i64 {
    2
}
fn default_radius() -> i64 {
    100
}
fn yes() -> bool {
    true
}

/// Adds a category or replaces the one with the same code; returns its id.
pub fn save_category(c: &mut dyn Conn, street_id: i64, k: &NewCategory) -> Result<i64, CaseError> {
    let code_ok = !k.code.is_empty()
        && k.code.len() <= 40
        && k.code
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
    if !code_ok {
        return Err(CaseError::Invalid("case.err_category_code"));
    }
    if k.name_zh.trim().is_empty() || k.name_en.trim().is_empty() {
        return Err(CaseError::Invalid("case.err_category_name"));
    }
    if !(1..=2000).contains(&k.accept_hours) || !(1..=2000).contains(&k.resolve_hours) {
        return Err(CaseError::Invalid("case.err_hours"));
    }
    if !(1..=3).contains(&k.priority) || !(0..=5000).contains(&k.dup_radius_m) {
        return Err(CaseError::Invalid("case.err_category_numbers"));
    }
    for f in &k.fields {
        let choice = matches!(f.kind, FieldType::Single | FieldType::Multi);
        if f.key.is_empty() || f.label_zh.is_empty() || choice == f.options.is_empty() {
            return Err(CaseError::Invalid("case.err_field_def"));
        }
    }
    let fields = serde_json::to_string(&k.fields).unwrap_or_else(|_| "[]".into());
    let now = crate::store::now_ms();
    let old = category_by_code(c, street_id, &k.code)?;
    let about_people = k
        .about_people
        .unwrap_or_else(|| old.as_ref().is_some_and(|o| o.about_people));
    let public = k.public && !about_people;
    if let Some(old) = old {
        c.exec(
            "UPDATE case_categories SET name_zh = $2, name_en = $3, group_code = $4, fields = $5, \
             accept_hours = $6, resolve_hours = $7, priority = $8, dup_radius_m = $9, \
             verify_required = $10, public = $11, about_people = $12, active = 1 WHERE id = $1",
            params![
                old.id,
                k.name_zh.trim(),
                k.name_en.trim(),
                k.group.trim(),
                fields,
                k.accept_hours,
                k.resolve_hours,
                k.priority,
                k.dup_radius_m,
                k.verify_required,
                public,
                about_people
            ],
        )?;
        return Ok(old.id);
    }
    Ok(c.query_i64(
        "INSERT INTO case_categories (street_id, code, name_zh, name_en, group_code, fields, \
         accept_hours, resolve_hours, priority, dup_radius_m, verify_required, public, about_people, \
         active, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14) RETURNING id",
        params![
            street_id,
            k.code.as_str(),
            k.name_zh.trim(),
            k.name_en.trim(),
            k.group.trim(),
            fields,
            k.accept_hours,
            k.resolve_hours,
            k.priority,
            k.dup_radius_m,
            k.verify_required,
            public,
            about_people,
            now
        ],
    )?)
}

/// Makes `org_id` responsible for a category at a place and everything under it.
pub fn set_route(
    c: &mut dyn Conn,
    category_id: i64,
    place_id: i64,
    org_id: i64,
) -> Result<(), StoreError> {
    let p = c.query_one(
        "SELECT street_id, path FROM places WHERE id = $1",
        params![place_id],
    )?;
    let street = p.opt_i64(0).unwrap_or(place_id);
    c.exec(
        "DELETE FROM category_routes WHERE category_id = $1 AND place_id = $2",
        params![category_id, place_id],
    )?;
    c.exec(
        "INSERT INTO category_routes (street_id, category_id, place_id, place_path, org_id) VALUES ($1, $2, $3, $4, $5)",
        params![street, category_id, place_id, p.str(1), org_id],
    )?;
    Ok(())
}

/// The organisation responsible for a category at a place: the route of the most specific
/// place that contains it.
pub fn route(
    c: &mut dyn Conn,
    category_id: i64,
    place_path: &str,
) -> Result<Option<i64>, StoreError> {
    let rows = c.query(
        "SELECT place_path, org_id FROM category_routes WHERE category_id = $1",
        params![category_id],
    )?;
    Ok(rows
        .iter()
        .filter(|r| crate::org::Scope::covers(&[r.str(0)], place_path))
        .max_by_key(|r| r.str(0).len())
        .map(|r| r.i64(1)))
}

/// The routes of a category, for the catalogue page: (place name, organisation name).
pub fn routes_of(c: &mut dyn Conn, category_id: i64) -> Result<Vec<(String, String)>, StoreError> {
    Ok(c
        .query(
            "SELECT p.name, o.name FROM category_routes r JOIN places p ON p.id = r.place_id \
             JOIN organisations o ON o.id = r.org_id WHERE r.category_id = $1 ORDER BY r.place_path",
            params![category_id],
        )?
        .iter()
        .map(|r| (r.str(0), r.str(1)))
        .collect())
}

/// One case with the names the pages and the API show.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Case {
    pub id: CaseId,
    pub street_id: i64,
    pub category_id: i64,
    pub category: String,
    pub category_name_zh: String,
    pub category_name_en: String,
    pub channel: Channel,
    pub state: State,
    /// 1 urgent, 2 normal, 3 low.
    pub priority: i64,
    pub description: String,
    pub address: String,
    pub place_id: i64,
    pub place_path: String,
    pub place_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// The category's extra fields, by key.
    #[schema(value_type = Object)]
    pub extra: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter_id: Option<i64>,
    pub reporter_name: String,
    /// The reporter's phone or e-mail, masked (`139****5678`): only in the detail a worker
    /// reads (audited); in full only when revealed, for a purpose
    /// (`POST /api/v1/cases/{id}/reveal`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reporter_contact: Option<String>,
    /// The organisation routing suggests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_org_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_org_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler_org_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler_org_name: Option<String>,
    /// A user handling it directly (a grid worker for a sensor alert).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler_user_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler_user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolver_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verifier_id: Option<i64>,
    /// The master case when this one was merged into it as a duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_id: Option<i64>,
    /// Working hours asked for in a pending extension request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension_hours: Option<i64>,
    /// The deadline running: accept, resolve, hold (paused) or none.
    pub clock: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warn_at: Option<i64>,
    /// Escalation level: 0 grid, 1 community, 2 street, 3 district.
    pub level: i64,
    /// Has been late at some point.
    pub late: bool,
    /// Is past its running deadline now.
    pub overdue: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating_comment: Option<String>,
    pub verify_required: bool,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    #[serde(skip)]
    pub token: String,
    #[serde(skip)]
    pub hold_from: Option<String>,
    #[serde(skip)]
    pub remaining_ms: Option<i64>,
    #[serde(skip)]
    pub building_id: Option<i64>,
    #[serde(skip)]
    pub contact: Contact,
    #[serde(skip)]
    pub clock_start: i64,
    #[serde(skip)]
    pub warned: bool,
}

impl Case {
    pub fn category_name(&self, lang: crate::kernel::i18n::Lang) -> &str {
        if lang == crate::kernel::i18n::Lang::En {
            &self.category_name_en
        } else {
            &self.category_name_zh
        }
    }
    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }

    /// Masks phone and ID numbers typed into the case's free text (description, address,
    /// rating comment), unless `viewer` (a user id) is who reported it: their own words are
    /// shown to them as written.
    pub fn mask_free_text(&mut self, viewer: i64) {
        if self.reporter_id == Some(viewer) {
            return;
        }
        use crate::privacy::mask::free_text;
        self.description = free_text(&self.description);
        self.address = free_text(&self.address);
        self.rating_comment = self.rating_comment.as_deref().map(free_text);
    }
}

/// A reporter's phone or e-mail as stored: encrypted under the field key like persons'
/// phones, with its masked form for display.
#[derive(Clone, Debug, Default)]
pub struct Contact {
    pub enc: Option<Vec<u8>>,
    pub masked: String,
    /// A contact stored in clear before contacts were encrypted, until the pass at start
    /// ([`seal_clear_contacts`]) encrypts it.
    unsealed: Option<String>,
}

impl Contact {
    /// Encrypts a contact as given at intake (at most 100 characters); none when empty.
    pub fn seal(keys: &crate::store::keys::FieldKeys, clear: &str) -> Result<Contact, CaseError> {
        let clear = clear.trim();
        if clear.chars().count() > 100 {
            return Err(CaseError::Invalid("case.err_too_long"));
        }
        if clear.is_empty() {
            return Ok(Contact::default());
        }
        Ok(Contact {
            enc: Some(keys.encrypt(clear)),
            masked: crate::privacy::mask::contact(clear),
            unsealed: None,
        })
    }

    fn stored(enc: Option<Vec<u8>>, masked: String, clear: String) -> Contact {
        if enc.is_none() && !clear.is_empty() {
            return Contact {
                enc: None,
                masked: crate::privacy::mask::contact(&clear),
                unsealed: Some(clear),
            };
        }
        Contact {
            enc,
            masked,
            unsealed: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.masked.is_empty()
    }

    /// The contact in full: for a reveal, which is audited before it is shown.
    pub fn open(&self, keys: &crate::store::keys::FieldKeys) -> Option<String> {
        match &self.enc {
            Some(blob) => keys.decrypt(blob),
            None => self.unsealed.clone(),
        }
    }
}

/// Encrypts reporters' contacts stored in clear (before schema 20), a batch at a time: the
/// cases job runs it at start. Returns how many it encrypted.
pub fn seal_clear_contacts(
    c: &mut dyn Conn,
    keys: &crate::store::keys::FieldKeys,
    batch: i64,
) -> Result<usize, StoreError> {
    let rows = c.query(
        &format!(
            "SELECT id, reporter_contact FROM cases WHERE reporter_contact <> '' ORDER BY id LIMIT {}",
            batch.clamp(1, 10_000)
        ),
        params![],
    )?;
    let mut n = 0;
    for r in rows {
        let clear = r.str(1);
        let sealed = keys.encrypt(clear.trim());
        n += c.exec(
            "UPDATE cases SET reporter_contact_enc = $2, reporter_contact_masked = $3, \
             reporter_contact = '' WHERE id = $1 AND reporter_contact = $4",
            params![
                r.i64(0),
                sealed,
                crate::privacy::mask::contact(clear.trim()),
                clear.as_str()
            ],
        )? as usize;
    }
    Ok(n)
}

pub(crate) const CASE_COLS: &str = "c.id, c.street_id, c.category_id, k.code, k.name_zh, k.name_en, c.channel, c.state, \
     c.priority, c.description, c.address, c.place_id, c.place_path, p.name, c.lat, c.lon, c.extra, \
     c.reporter_id, c.reporter_name, c.suggested_org_id, so.name, c.handler_org_id, ho.name, \
     c.handler_user_id, hu.display_name, c.resolver_id, c.verifier_id, c.master_id, c.extension_hours, \
     c.clock, c.due_at, c.warn_at, c.level, c.late, c.rating, c.rating_comment, c.created_at, \
     c.updated_at, c.resolved_at, c.closed_at, c.token, k.verify_required, c.hold_from, \
     c.remaining_ms, c.building_id, c.reporter_contact, c.clock_start, c.warned, \
     c.reporter_contact_enc, c.reporter_contact_masked";
pub(crate) const CASE_FROM: &str = "cases c JOIN case_categories k ON k.id = c.category_id \
     JOIN places p ON p.id = c.place_id \
     LEFT JOIN organisations so ON so.id = c.suggested_org_id \
     LEFT JOIN organisations ho ON ho.id = c.handler_org_id \
     LEFT JOIN users hu ON hu.id = c.handler_user_id";

pub(crate) fn case_from(mut r: Row, now: i64) -> Case {
    let clock = r.take_str(29).unwrap_or_default();
    let due_at = r.opt_i64(30);
    Case {
        id: CaseId(r.i64(0)),
        street_id: r.i64(1),
        category_id: r.i64(2),
        category: r.take_str(3).unwrap_or_default(),
        category_name_zh: r.take_str(4).unwrap_or_default(),
        category_name_en: r.take_str(5).unwrap_or_default(),
        channel: Channel::parse(&r.str(6)).unwrap_or(Channel::Api),
        state: State::parse(&r.str(7)).unwrap_or(State::New),
        priority: r.i64(8),
        description: r.take_str(9).unwrap_or_default(),
        address: r.take_str(10).unwrap_or_default(),
        place_id: r.i64(11),
        place_path: r.take_str(12).unwrap_or_default(),
        place_name: r.take_str(13).unwrap_or_default(),
        lat: r.opt_f64(14),
        lon: r.opt_f64(15),
        extra: serde_json::from_str(&r.str(16)).unwrap_or(serde_json::Value::Null),
        reporter_id: r.opt_i64(17),
        reporter_name: r.take_str(18).unwrap_or_default(),
        reporter_contact: None,
        suggested_org_id: r.opt_i64(19),
        suggested_org_name: r.take_str(20),
        handler_org_id: r.opt_i64(21),
        handler_org_name: r.take_str(22),
        handler_user_id: r.opt_i64(23),
        handler_user_name: r.take_str(24),
        resolver_id: r.opt_i64(25),
        verifier_id: r.opt_i64(26),
        master_id: r.opt_i64(27),
        extension_hours: r.opt_i64(28),
        overdue: matches!(clock.as_str(), "accept" | "resolve") && due_at.is_some_and(|d| d < now),
        clock,
        due_at,
        warn_at: r.opt_i64(31),
        level: r.i64(32),
        late: r.bool(33),
        rating: r.opt_i64(34),
        rating_comment: r.take_str(35),
        created_at: r.i64(36),
        updated_at: r.i64(37),
        resolved_at: r.opt_i64(38),
        closed_at: r.opt_i64(39),
        token: r.take_str(40).unwrap_or_default(),
        verify_required: r.bool(41),
        hold_from: r.take_str(42),
        remaining_ms: r.opt_i64(43),
        building_id: r.opt_i64(44),
        contact: Contact::stored(
            r.blob(48),
            r.take_str(49).unwrap_or_default(),
            r.take_str(45).unwrap_or_default(),
        ),
        clock_start: r.i64(46),
        warned: r.bool(47),
    }
}

/// One case by id, without a scope check (internal use: the caller checks [`Viewer::sees`]).
pub fn get(c: &mut dyn Conn, id: i64, now: i64) -> Result<Option<Case>, StoreError> {
    Ok(c.query_opt(
        &format!("SELECT {CASE_COLS} FROM {CASE_FROM} WHERE c.id = $1"),
        params![id],
    )?
    .map(|r| case_from(r, now)))
}

/// A case's state by id, for other modules (sensing learns when its case closes).
pub fn state_of(c: &mut dyn Conn, id: CaseId) -> Result<Option<State>, StoreError> {
    Ok(
        c.query_opt("SELECT state FROM cases WHERE id = $1", params![id.0])?
            .and_then(|r| State::parse(&r.str(0))),
    )
}

/// Who is looking at cases, and what they may see: cases under the places they work in, cases
/// dispatched to their organisations or to them, and cases they reported or follow.
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    pub user_id: i64,
    pub street_id: Option<i64>,
    pub name: String,
    /// Places where the caller dispatches (street/district administrators, community workers).
    pub dispatch: Vec<String>,
    /// Places where the caller may verify on site (those plus grid workers).
    pub verify: Vec<String>,
    pub orgs: Vec<i64>,
}

impl Viewer {
    pub fn of(caller: &Caller) -> Viewer {
        let mut v = Viewer {
            user_id: caller.user_id,
            street_id: caller.street_id,
            name: caller.display_name.clone(),
            ..Viewer::default()
        };
        for g in &caller.grants {
            match (g.role, &g.place, &g.org) {
                (Role::DistrictAdmin | Role::StreetAdmin | Role::CommunityWorker, Some(p), _) => {
                    v.dispatch.push(p.path.clone());
                    v.verify.push(p.path.clone());
                }
                (Role::GridWorker, Some(p), _) => v.verify.push(p.path.clone()),
                (Role::DeptHandler | Role::PropertyManager, _, Some(o)) => v.orgs.push(o.id),
                _ => {}
            }
        }
        v
    }

    /// The paths under which cases are visible without being dispatched to the caller.
    fn paths(&self) -> Vec<String> {
        let mut p = self.verify.clone();
        p.sort();
        p.dedup();
        p
    }

    /// The roles the caller holds towards one case.
    pub fn actors(&self, case: &Case) -> Vec<Actor> {
        let mut out = Vec::new();
        if crate::org::Scope::covers(&self.dispatch, &case.place_path) {
            out.push(Actor::Dispatcher);
        }
        if self.handles(case) {
            out.push(Actor::Handler);
        }
        if crate::org::Scope::covers(&self.verify, &case.place_path) {
            out.push(Actor::Verifier);
        }
        if case.reporter_id == Some(self.user_id) {
            out.push(Actor::Reporter);
        }
        out
    }

    pub fn handles(&self, case: &Case) -> bool {
        case.handler_user_id == Some(self.user_id)
            || case.handler_org_id.is_some_and(|o| self.orgs.contains(&o))
    }

    pub fn is_worker(&self) -> bool {
        !self.verify.is_empty() || !self.orgs.is_empty()
    }

    /// Works over places (dispatchers, community and grid workers), not only on the cases
    /// dispatched to an organisation: the callers shown likely duplicates as cases.
    pub fn works_in_places(&self) -> bool {
        !self.verify.is_empty()
    }

    /// Whether a case with these particulars is one this viewer sees: the rule of
    /// [`Viewer::condition`], on values already read (followers aside: following a case shows
    /// it to its follower only when opened by its number).
    pub fn sees(
        &self,
        place_path: &str,
        handler_org_id: Option<i64>,
        handler_user_id: Option<i64>,
        reporter_id: Option<i64>,
    ) -> bool {
        crate::org::Scope::covers(&self.paths(), place_path)
            || handler_org_id.is_some_and(|o| self.orgs.contains(&o))
            || handler_user_id == Some(self.user_id)
            || reporter_id == Some(self.user_id)
    }

    /// The SQL condition for the cases this viewer sees, parameters from `first`.
    fn condition(&self, first: usize, p: &mut Vec<Val>) -> String {
        let mut parts = Vec::new();
        let paths = self.paths();
        if !paths.is_empty() {
            parts.push(under_paths("c.place_path", &paths, first + p.len(), p));
        }
        if !self.orgs.is_empty() {
            let list: Vec<String> = self.orgs.iter().map(|o| o.to_string()).collect();
            parts.push(format!("c.handler_org_id IN ({})", list.join(", ")));
        }
        p.push(Val::Int(self.user_id));
        let n = first + p.len() - 1;
        parts.push(format!(
            "c.handler_user_id = ${n} OR c.reporter_id = ${n} OR c.id IN (SELECT case_id FROM case_followers WHERE user_id = ${n})"
        ));
        format!("({})", parts.join(" OR "))
    }
}

/// Filters of the case list.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct Filter {
    /// A state, or several separated by commas; `open` for every open state.
    pub state: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// A place id: cases at it or under it.
    pub place: Option<i64>,
    /// Only cases past their deadline now (`true`), or never late (`false`).
    pub late: Option<bool>,
    /// Only cases the caller reported or follows.
    pub mine: Option<bool>,
    /// Only cases dispatched to the caller's organisation or to the caller.
    pub handling: Option<bool>,
    /// A case number, or words found in the description, the address or the place's name.
    pub q: Option<String>,
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "crate::http::blank_as_none")]
    pub offset: Option<i64>,
}

/// The cases a viewer sees, late ones first, then by deadline and age; phone and ID numbers in
/// their text masked but for the viewer's own reports ([`Case::mask_free_text`]).
pub fn list(
    c: &mut dyn Conn,
    viewer: &Viewer,
    f: &Filter,
    now: i64,
) -> Result<Vec<Case>, CaseError> {
    let mut p: Vec<Val> = Vec::new();
    let conds = filter_sql(c, viewer, f, now, &mut p)?;
    let limit = f.limit.unwrap_or(100).clamp(1, 500);
    let offset = f.offset.unwrap_or(0).max(0);
    p.push(now.into());
    let n = p.len();
    let sql = format!(
        "SELECT {CASE_COLS} FROM {CASE_FROM} WHERE {conds} \
         ORDER BY CASE WHEN c.clock IN ('accept', 'resolve') AND c.due_at < ${n} THEN 0 ELSE 1 END, \
         c.level DESC, c.priority, COALESCE(c.due_at, c.created_at), c.id LIMIT {limit} OFFSET {offset}"
    );
    Ok(c.query(&sql, &p)?
        .into_iter()
        .map(|r| {
            let mut case = case_from(r, now);
            case.mask_free_text(viewer.user_id);
            case
        })
        .collect())
}

/// How many cases [`list`] would give without its limit.
pub fn count(c: &mut dyn Conn, viewer: &Viewer, f: &Filter, now: i64) -> Result<i64, CaseError> {
    let mut p: Vec<Val> = Vec::new();
    let conds = filter_sql(c, viewer, f, now, &mut p)?;
    Ok(c.query_i64(
        &format!("SELECT COUNT(*) FROM {CASE_FROM} WHERE {conds}"),
        &p,
    )?)
}

/// The WHERE clause of [`list`] and [`count`]: the viewer's cases, narrowed by the filter.
fn filter_sql(
    c: &mut dyn Conn,
    viewer: &Viewer,
    f: &Filter,
    now: i64,
    p: &mut Vec<Val>,
) -> Result<String, CaseError> {
    let mut conds = vec![viewer.condition(1, p)];
    if let Some(s) = f.state.as_deref().filter(|s| !s.is_empty()) {
        let mut states = Vec::new();
        for part in s.split(',') {
            if part == "open" {
                states.extend(State::ALL.into_iter().filter(|s| s.is_open()));
            } else {
                states.push(State::parse(part).ok_or(CaseError::Invalid("case.err_state"))?);
            }
        }
        let list: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        conds.push(format!("c.state IN ({})", list.join(", ")));
    }
    if let Some(code) = f.category.as_deref().filter(|s| !s.is_empty()) {
        p.push(code.into());
        conds.push(format!("k.code = ${}", p.len()));
    }
    if let Some(place) = f.place {
        let path = c
            .query_opt("SELECT path FROM places WHERE id = $1", params![place])?
            .map(|r| r.str(0))
            .ok_or(CaseError::Invalid("case.err_place"))?;
        let n = p.len() + 1;
        conds.push(under_paths("c.place_path", &[path], n, p));
    }
    if let Some(late) = f.late {
        p.push(now.into());
        let n = p.len();
        let overdue = format!("(c.clock IN ('accept', 'resolve') AND c.due_at < ${n})");
        conds.push(if late {
            overdue
        } else {
            format!("(c.late = 0 AND NOT {overdue})")
        });
    }
    if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let q = q.trim_start_matches('#');
        p.push(crate::store::like_containing(q).into());
        let n = p.len();
        let mut alt = vec![format!(
            "c.description LIKE ${n} ESCAPE '\\' OR c.address LIKE ${n} ESCAPE '\\' \
             OR p.name LIKE ${n} ESCAPE '\\'"
        )];
        if let Ok(id) = q.parse::<i64>() {
            p.push(id.into());
            alt.push(format!("c.id = ${}", p.len()));
        }
        conds.push(format!("({})", alt.join(" OR ")));
    }
    if f.mine == Some(true) {
        p.push(viewer.user_id.into());
        let n = p.len();
        conds.push(format!(
            "(c.reporter_id = ${n} OR c.id IN (SELECT case_id FROM case_followers WHERE user_id = ${n}))"
        ));
    }
    if f.handling == Some(true) {
        let mut alt = vec![format!("c.handler_user_id = {}", viewer.user_id)];
        if !viewer.orgs.is_empty() {
            let list: Vec<String> = viewer.orgs.iter().map(|o| o.to_string()).collect();
            alt.push(format!("c.handler_org_id IN ({})", list.join(", ")));
        }
        conds.push(format!("({})", alt.join(" OR ")));
    }
    Ok(conds.join(" AND "))
}

/// One step of a case's life.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<i64>,
    /// A name, or `system` for the deadline watcher.
    pub actor: String,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub note: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

pub fn events(c: &mut dyn Conn, case_id: i64) -> Result<Vec<Event>, StoreError> {
    Ok(c.query(
        "SELECT id, at, actor_id, actor, action, from_state, to_state, note, data FROM case_events \
             WHERE case_id = $1 ORDER BY id",
        params![case_id],
    )?
    .into_iter()
    .map(|mut r| Event {
        id: r.i64(0),
        at: r.i64(1),
        actor_id: r.opt_i64(2),
        actor: r.take_str(3).unwrap_or_default(),
        action: r.take_str(4).unwrap_or_default(),
        from_state: r.take_str(5).unwrap_or_default(),
        to_state: r.take_str(6).unwrap_or_default(),
        note: r.take_str(7).unwrap_or_default(),
        data: serde_json::from_str(&r.str(8)).unwrap_or(serde_json::Value::Null),
    })
    .collect())
}

/// Appends a step to a case's timeline.
#[allow(clippy::too_many_arguments)]
pub fn record_event(
    c: &mut dyn Conn,
    street_id: i64,
    case_id: i64,
    at: i64,
    actor: (Option<i64>, &str),
    action: &str,
    from: &str,
    to: &str,
    note: &str,
    data: serde_json::Value,
) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO case_events (street_id, case_id, at, actor_id, actor, action, from_state, to_state, note, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        params![street_id, case_id, at, actor.0, actor.1, action, from, to, note, data.to_string()],
    )?;
    Ok(())
}

/// What can go wrong with a case request, mapped to HTTP in one place.
#[derive(Debug)]
pub enum CaseError {
    Store(StoreError),
    /// Bad input: a translation key.
    Invalid(&'static str),
    /// The caller's role may not take this step (403), and why.
    Forbidden(Why),
    /// The case's state does not allow this step (409), and why.
    Conflict(Why),
    NotFound,
}

/// Why a step was refused. The message is composed when the error becomes a response, in the
/// request's language (store work runs on blocking threads, outside the request's context).
#[derive(Debug)]
pub enum Why {
    Key(&'static str),
    Rule(lifecycle::Refusal, Action, State),
}

impl Why {
    pub fn message(&self) -> String {
        match self {
            Why::Key(k) => crate::kernel::i18n::Tr(crate::kernel::ctx().lang)
                .s(k)
                .to_string(),
            Why::Rule(r, a, s) => lifecycle::refusal_message(*r, *a, *s),
        }
    }
}

impl From<StoreError> for CaseError {
    fn from(e: StoreError) -> Self {
        CaseError::Store(e)
    }
}

impl From<CaseError> for AppError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::Store(e) => e.into(),
            CaseError::Invalid(key) => AppError::invalid(key),
            CaseError::Forbidden(why) => {
                AppError::with_message(StatusCode::FORBIDDEN, "forbidden", why.message())
            }
            CaseError::Conflict(why) => {
                AppError::with_message(StatusCode::CONFLICT, "state_conflict", why.message())
            }
            CaseError::NotFound => AppError::not_found(),
        }
    }
}

/// A new case as an intake channel hands it over.
#[derive(Clone, Debug, Default)]
pub struct NewCase {
    pub category: String,
    pub description: String,
    /// A place of the street (a building, unit, grid...); found from the point when absent.
    pub place_id: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub address: String,
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub reporter_id: Option<i64>,
    pub reporter_name: String,
    pub reporter_contact: Contact,
    pub open311_key_id: Option<i64>,
    /// Never wait for the word segmenter: when it is not loaded yet, store the description's
    /// character pairs only and let the cases job complete the terms. Set by intake that runs
    /// inside a write transaction (sensor alerts).
    pub terms_later: bool,
}

/// The place a case belongs to, with the building and the point used for duplicates.
pub struct Located {
    pub place_id: i64,
    pub path: String,
    pub building_id: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A point marked this close to a building is at that building (a building is stored as one
/// point; this covers its footprint and the door in front of it).
pub const AT_BUILDING_M: f64 = 50.0;
/// When a street has no areas drawn (no grid, community or street polygon), a point is placed
/// in the nearest building up to this far away.
const NEAREST_BUILDING_M: f64 = 2000.0;

/// Where a point marked on the map lies in a street: the building it is at (within
/// [`AT_BUILDING_M`]), else the smallest area drawn that holds it (grid, then community, then
/// the street); `None` when it is outside the street. A street without areas drawn falls back
/// to its nearest building within [`NEAREST_BUILDING_M`].
pub fn place_at(
    c: &mut dyn Conn,
    street_id: i64,
    lat: f64,
    lon: f64,
) -> Result<Option<Row>, StoreError> {
    let rows = c.query(
        "SELECT id, street_id, kind, path, parent_id, geojson FROM places \
         WHERE (street_id = $1 AND kind IN ('building', 'grid', 'community') OR id = $1) \
         AND geojson IS NOT NULL",
        params![street_id],
    )?;
    let mut nearest: Option<(f64, Row)> = None;
    let mut areas: Vec<(i64, Row)> = Vec::new();
    let mut drawn = false;
    for r in rows {
        let Some(shape) = geometry::Shape::parse(&r.str(5)) else {
            continue;
        };
        let kind = r.str(2);
        if kind == "building" {
            if let Some((y, x)) = shape.point() {
                let d = dedupe::distance_m(lat, lon, y, x);
                if nearest.as_ref().is_none_or(|(best, _)| d < *best) {
                    nearest = Some((d, r));
                }
            }
            continue;
        }
        drawn |= shape.outline().is_some();
        if shape.holds(lat, lon) {
            let rank = match kind.as_str() {
                "grid" => 0,
                "community" => 1,
                _ => 2,
            };
            areas.push((rank, r));
        }
    }
    let limit = if drawn {
        AT_BUILDING_M
    } else {
        NEAREST_BUILDING_M
    };
    if let Some((d, r)) = nearest
        && d <= limit
    {
        return Ok(Some(r));
    }
    Ok(areas
        .into_iter()
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, r)| r))
}

/// Finds where a case is: the place given (which must be in the street), or where the point
/// given lies ([`place_at`]). Coordinates default to the place's (a unit's: its building's).
pub fn locate(
    c: &mut dyn Conn,
    street_id: i64,
    place_id: Option<i64>,
    lat: Option<f64>,
    lon: Option<f64>,
) -> Result<Located, CaseError> {
    if lat.is_some() != lon.is_some() {
        return Err(CaseError::Invalid("case.err_point_pair"));
    }
    if let (Some(a), Some(o)) = (lat, lon)
        && (!(-90.0..=90.0).contains(&a) || !(-180.0..=180.0).contains(&o))
    {
        return Err(CaseError::Invalid("case.err_point"));
    }
    let row = match place_id {
        Some(id) => c
            .query_opt(
                "SELECT id, street_id, kind, path, parent_id, geojson FROM places WHERE id = $1",
                params![id],
            )?
            .filter(|r| r.opt_i64(1) == Some(street_id) || r.i64(0) == street_id)
            .ok_or(CaseError::Invalid("case.err_place"))?,
        None => {
            let (Some(a), Some(o)) = (lat, lon) else {
                return Err(CaseError::Invalid("case.err_no_place"));
            };
            place_at(c, street_id, a, o)?.ok_or(CaseError::Invalid("case.err_point_outside"))?
        }
    };
    let kind = row.str(2);
    let building_id = match kind.as_str() {
        "building" => Some(row.i64(0)),
        "unit" => row.opt_i64(4),
        _ => None,
    };
    let (mut la, mut lo) = (lat, lon);
    if la.is_none() || lo.is_none() {
        let geo = match (kind.as_str(), building_id) {
            ("unit", Some(b)) => c
                .query_opt("SELECT geojson FROM places WHERE id = $1", params![b])?
                .and_then(|r| r.opt_str(0)),
            _ => row.opt_str(5),
        };
        if let Some((y, x)) = geo
            .as_deref()
            .and_then(geometry::Shape::parse)
            .and_then(|s| s.centre())
        {
            la = Some(y);
            lo = Some(x);
        }
    }
    Ok(Located {
        place_id: row.i64(0),
        path: row.str(3),
        building_id,
        lat: la,
        lon: lo,
    })
}

/// Checks the extra fields against the category's definitions; returns them normalised.
pub fn check_extra(
    cat: &Category,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, CaseError> {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    for key in extra.keys() {
        if !cat.fields.iter().any(|f| &f.key == key) {
            return Err(CaseError::Invalid("case.err_extra_unknown"));
        }
    }
    for f in &cat.fields {
        let v = extra.get(&f.key).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        });
        let Some(v) = v else {
            if f.required {
                return Err(CaseError::Invalid("case.err_extra_required"));
            }
            continue;
        };
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let norm = match f.kind {
            FieldType::Text => {
                let s = text(v).ok_or(CaseError::Invalid("case.err_extra_type"))?;
                if s.chars().count() > 200 {
                    return Err(CaseError::Invalid("case.err_extra_type"));
                }
                Value::String(s)
            }
            FieldType::Number => {
                let n = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                }
                .filter(|n| n.is_finite())
                .ok_or(CaseError::Invalid("case.err_extra_number"))?;
                serde_json::json!(n)
            }
            FieldType::Date => {
                let s = text(v).ok_or(CaseError::Invalid("case.err_extra_date"))?;
                chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                    .map_err(|_| CaseError::Invalid("case.err_extra_date"))?;
                Value::String(s)
            }
            FieldType::Single => {
                let s = text(v).ok_or(CaseError::Invalid("case.err_extra_choice"))?;
                if !f.options.contains(&s) {
                    return Err(CaseError::Invalid("case.err_extra_choice"));
                }
                Value::String(s)
            }
            FieldType::Multi => {
                let items: Vec<String> = match v {
                    Value::Array(a) => a.iter().filter_map(text).collect(),
                    Value::String(s) => s
                        .split([',', '，'])
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect(),
                    _ => Vec::new(),
                };
                if items.is_empty() || items.iter().any(|i| !f.options.contains(i)) {
                    return Err(CaseError::Invalid("case.err_extra_choice"));
                }
                Value::Array(items.into_iter().map(Value::String).collect())
            }
        };
        out.insert(f.key.clone(), norm);
    }
    Ok(out)
}

/// A report checked and placed, with everything storing it needs: its category, place,
/// routing suggestion, deadlines and who to tell. [`prepare`] reads all of it, so intake can
/// do that on a reader and leave the one writer (on SQLite) only the inserts of [`store`].
pub struct Prepared {
    pub category: Category,
    pub located: Located,
    pub suggested_org_id: Option<i64>,
    pub warn_at: i64,
    pub due_at: i64,
    /// The extra fields, normalised, as stored.
    pub extra: String,
    /// The description segmented for duplicate detection.
    pub terms: String,
    /// Only the character pairs so far: the cases job completes them.
    pub terms_partial: bool,
    /// The officials told of the new case.
    pub dispatchers: Vec<i64>,
    /// The case's token (Open311 `token`), random.
    pub token: String,
}

/// Checks a report and reads what opening it needs: validates it, finds its place, the
/// organisation routing suggests and the accept deadline (in working time). Reads only.
pub fn prepare(
    c: &mut dyn Conn,
    street_id: i64,
    n: &NewCase,
    now: i64,
) -> Result<Prepared, CaseError> {
    let cat = category_by_code(c, street_id, n.category.trim())?
        .filter(|k| k.active)
        .ok_or(CaseError::Invalid("case.err_category"))?;
    let description = n.description.trim();
    if description.is_empty() {
        return Err(CaseError::Invalid("case.err_description"));
    }
    if description.chars().count() > 2000
        || n.address.chars().count() > 200
        || n.reporter_name.chars().count() > 100
    {
        return Err(CaseError::Invalid("case.err_too_long"));
    }
    let extra = check_extra(&cat, &n.extra)?;
    let loc = locate(c, street_id, n.place_id, n.lat, n.lon)?;
    let suggested = route(c, cat.id, &loc.path)?;
    let cal = Calendar::load(c, street_id)?;
    let dur = cat.accept_hours * HOUR_MS;
    let (terms, terms_partial) = if n.terms_later {
        dedupe::segment_or_pairs(description)
    } else {
        (dedupe::segment(description), false)
    };
    // The operations centre learns of every new case.
    let dispatchers = notify::dispatchers(c, street_id, &loc.path, 0)?;
    Ok(Prepared {
        due_at: cal.add(now, dur),
        warn_at: cal.add(now, dur * 4 / 5),
        category: cat,
        located: loc,
        suggested_org_id: suggested,
        extra: serde_json::Value::Object(extra).to_string(),
        terms,
        terms_partial,
        dispatchers,
        token: crate::org::auth::random_token("")[..20].to_string(),
    })
}

/// Stores a prepared report as a new case, its report as the first event, and tells the
/// operations centre.
pub fn store(
    c: &mut dyn Conn,
    street_id: i64,
    channel: Channel,
    n: &NewCase,
    p: &Prepared,
    now: i64,
) -> Result<CaseId, CaseError> {
    let loc = &p.located;
    let id = c.query_i64(
        "INSERT INTO cases (street_id, category_id, channel, state, priority, description, address, \
         place_id, place_path, building_id, lat, lon, extra, reporter_id, reporter_name, reporter_contact_enc, \
         open311_key_id, token, suggested_org_id, clock, clock_start, warn_at, due_at, next_alarm_at, \
         created_at, updated_at, terms, cell, terms_partial, reporter_contact_masked) VALUES ($1, $2, $3, 'new', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17, $18, 'accept', $19, $20, $21, $20, $19, $19, $22, $23, $24, $25) RETURNING id",
        params![
            street_id,
            p.category.id,
            channel.as_str(),
            p.category.priority,
            n.description.trim(),
            n.address.trim(),
            loc.place_id,
            loc.path.clone(),
            loc.building_id,
            loc.lat,
            loc.lon,
            p.extra.clone(),
            n.reporter_id,
            n.reporter_name.trim(),
            n.reporter_contact.enc.clone(),
            n.open311_key_id,
            p.token.as_str(),
            p.suggested_org_id,
            now,
            p.warn_at,
            p.due_at,
            p.terms.clone(),
            loc.lat.zip(loc.lon).map(|(a, o)| dedupe::cell(a, o)),
            p.terms_partial as i64,
            n.reporter_contact.masked.as_str()
        ],
    )?;
    let actor = if n.reporter_name.trim().is_empty() {
        channel.as_str().to_string()
    } else {
        n.reporter_name.trim().to_string()
    };
    record_event(
        c,
        street_id,
        id,
        now,
        (n.reporter_id, &actor),
        "report",
        "",
        State::New.as_str(),
        "",
        serde_json::json!({"channel": channel.as_str(), "suggested_org_id": p.suggested_org_id}),
    )?;
    notify::to_users(c, street_id, &p.dispatchers, "new", id, "", now)?;
    Ok(CaseId(id))
}

/// Opens a case in one transaction: [`prepare`] and [`store`].
pub fn create(
    c: &mut dyn Conn,
    street_id: i64,
    channel: Channel,
    n: &NewCase,
    now: i64,
) -> Result<CaseId, CaseError> {
    let p = prepare(c, street_id, n, now)?;
    store(c, street_id, channel, n, &p, now)
}

/// The grid worker responsible for a place: a grid worker of the grid that contains it.
pub fn grid_worker_for(c: &mut dyn Conn, place_path: &str) -> Result<Option<i64>, StoreError> {
    let rows = c.query(
        "SELECT r.user_id, p.path FROM user_roles r JOIN places p ON p.id = r.place_id \
         JOIN users u ON u.id = r.user_id WHERE r.role = 'grid_worker' AND u.active = 1 AND p.kind = 'grid' \
         AND p.street_id = (SELECT street_id FROM places WHERE path = $1) ORDER BY r.user_id",
        params![place_path],
    )?;
    Ok(rows
        .iter()
        .find(|r| crate::org::Scope::covers(&[r.str(1)], place_path))
        .map(|r| r.i64(0)))
}

/// Opens a case from a sensor alert (for the sensing module): channel `sensor`, routed like any
/// other case, accepted at once and dispatched to the grid worker responsible for the place
/// (or, when the grid has none, left for the operations centre to dispatch). Follow it with
/// [`state_of`].
pub fn open_from_sensor(
    c: &mut dyn Conn,
    street_id: i64,
    category_code: &str,
    place_id: i64,
    description: &str,
    now: i64,
) -> Result<CaseId, CaseError> {
    let id = create(
        c,
        street_id,
        Channel::Sensor,
        &NewCase {
            category: category_code.to_string(),
            description: description.to_string(),
            place_id: Some(place_id),
            reporter_name: "sensor".into(),
            terms_later: true,
            ..NewCase::default()
        },
        now,
    )?;
    let case = get(c, id.0, now)?.ok_or(CaseError::NotFound)?;
    let system = lifecycle::ActorRef::system(vec![Actor::Dispatcher]);
    lifecycle::apply(
        c,
        &case,
        &system,
        &lifecycle::Step::new(Action::Accept, "sensor alert"),
        now,
    )?;
    if let Some(worker) = grid_worker_for(c, &case.place_path)? {
        let case = get(c, id.0, now)?.ok_or(CaseError::NotFound)?;
        let mut step = lifecycle::Step::new(Action::Dispatch, "");
        step.user_id = Some(worker);
        lifecycle::apply(c, &case, &system, &step, now)?;
    }
    Ok(id)
}

/// Per-organisation figures: cases handled, resolved on time, median time to resolve and the
/// reporters' satisfaction.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OrgFigures {
    pub org_id: i64,
    pub org_name: String,
    pub handled: i64,
    pub open: i64,
    pub resolved: i64,
    /// Share of resolved cases never late, 0–1.
    pub on_time_rate: Option<f64>,
    /// Median hours from report to resolution (calendar time).
    pub median_hours: Option<f64>,
    /// Mean rating 1–5.
    pub satisfaction: Option<f64>,
    pub rated: i64,
}

pub fn figures(
    c: &mut dyn Conn,
    street_id: i64,
    since: Option<i64>,
) -> Result<Vec<OrgFigures>, StoreError> {
    let rows = c.query(
        "SELECT o.id, o.name, c.state, c.late, c.created_at, c.resolved_at, c.rating \
         FROM cases c JOIN organisations o ON o.id = c.handler_org_id \
         WHERE c.street_id = $1 AND c.created_at >= $2 ORDER BY o.id",
        params![street_id, since.unwrap_or(i64::MIN)],
    )?;
    let mut out: Vec<OrgFigures> = Vec::new();
    let mut durations: Vec<Vec<i64>> = Vec::new();
    let mut ratings: Vec<Vec<i64>> = Vec::new();
    let mut on_time: Vec<i64> = Vec::new();
    for r in rows {
        if out.last().is_none_or(|f| f.org_id != r.i64(0)) {
            out.push(OrgFigures {
                org_id: r.i64(0),
                org_name: r.str(1),
                handled: 0,
                open: 0,
                resolved: 0,
                on_time_rate: None,
                median_hours: None,
                satisfaction: None,
                rated: 0,
            });
            durations.push(Vec::new());
            ratings.push(Vec::new());
            on_time.push(0);
        }
        let i = out.len() - 1;
        let f = &mut out[i];
        f.handled += 1;
        let state = State::parse(&r.str(2)).unwrap_or(State::New);
        if state.is_open() {
            f.open += 1;
        }
        if let Some(res) = r.opt_i64(5) {
            f.resolved += 1;
            durations[i].push(res - r.i64(4));
            if !r.bool(3) {
                on_time[i] += 1;
            }
        }
        if let Some(x) = r.opt_i64(6) {
            ratings[i].push(x);
        }
    }
    for (i, f) in out.iter_mut().enumerate() {
        if f.resolved > 0 {
            f.on_time_rate = Some(on_time[i] as f64 / f.resolved as f64);
            let d = &mut durations[i];
            d.sort_unstable();
            let m = if d.len() % 2 == 1 {
                d[d.len() / 2] as f64
            } else {
                (d[d.len() / 2 - 1] + d[d.len() / 2]) as f64 / 2.0
            };
            f.median_hours = Some((m / HOUR_MS as f64 * 10.0).round() / 10.0);
        }
        if !ratings[i].is_empty() {
            f.rated = ratings[i].len() as i64;
            f.satisfaction = Some(
                (ratings[i].iter().sum::<i64>() as f64 / ratings[i].len() as f64 * 100.0).round()
                    / 100.0,
            );
        }
    }
    Ok(out)
}
