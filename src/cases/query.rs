//! Reading cases: a case with its clock, who sees it (`Viewer`), lists and counts by filter, and events.

use super::*;

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
    /// The rating in words (5 satisfied, 3 basically satisfied, 1 dissatisfied; older ratings
    /// of 4 and 2 count as satisfied and dissatisfied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub satisfaction: Option<super::lifecycle::Satisfaction>,
    /// Whom the case waits on now: dispatcher, handler, verifier or reporter (none once it
    /// has ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_on: Option<Actor>,
    /// A self-governed matter (留白): no deadline, no escalation, not in the late figures.
    pub self_governed: bool,
    /// The residents' body its category is handed to (empty for the state's own).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub governed_by: String,
    /// Organisations with a task on the case (联合处置); read with one case, not in lists.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub co_handler_org_ids: Vec<i64>,
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
     c.reporter_id, c.reporter_name, c.suggested_org_id, NULL, c.handler_org_id, NULL, \
     c.handler_user_id, NULL, c.resolver_id, c.verifier_id, c.master_id, c.extension_hours, \
     c.clock, c.due_at, c.warn_at, c.level, c.late, c.rating, c.rating_comment, c.created_at, \
     c.updated_at, c.resolved_at, c.closed_at, c.token, k.verify_required, c.hold_from, \
     c.remaining_ms, c.building_id, c.reporter_contact, c.clock_start, c.warned, \
     c.reporter_contact_enc, c.reporter_contact_masked, c.self_governed, k.governed_by";
/// The cases with their category and place. The names of the organisations and the account a
/// case names (suggested, handling) are org's: [`name_cases`] reads them in one query each
/// for a whole page, after the cases.
pub(crate) const CASE_FROM: &str = "cases c JOIN case_categories k ON k.id = c.category_id \
     JOIN places p ON p.id = c.place_id";

/// Fills in the names of the organisations and accounts the cases name, from org's surface.
pub(crate) fn name_cases<'a>(
    c: &mut dyn Conn,
    cases: impl IntoIterator<Item = &'a mut Case>,
) -> Result<(), StoreError> {
    let mut cases: Vec<&mut Case> = cases.into_iter().collect();
    let orgs = crate::org::orgs::names(
        c,
        cases
            .iter()
            .flat_map(|k| [k.suggested_org_id, k.handler_org_id])
            .flatten(),
    )?;
    let users =
        crate::org::users::display_names(c, cases.iter().filter_map(|k| k.handler_user_id))?;
    for k in cases.iter_mut() {
        k.suggested_org_name = k.suggested_org_id.and_then(|i| orgs.get(&i).cloned());
        k.handler_org_name = k.handler_org_id.and_then(|i| orgs.get(&i).cloned());
        k.handler_user_name = k.handler_user_id.and_then(|i| users.get(&i).cloned());
    }
    Ok(())
}

pub(crate) fn case_from(mut r: Row, now: i64) -> Case {
    let clock = r.take_str(29).unwrap_or_default();
    let due_at = r.opt_i64(30);
    let mut case = Case {
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
        satisfaction: None,
        waiting_on: None,
        self_governed: r.bool(50),
        governed_by: r.take_str(51).unwrap_or_default(),
        co_handler_org_ids: Vec::new(),
    };
    case.satisfaction = case.rating.map(super::lifecycle::Satisfaction::of_score);
    case.waiting_on = super::lifecycle::waits_on(&case);
    case
}

/// One case by id, without a scope check (internal use: the caller checks [`Viewer::sees`]).
pub fn get(c: &mut dyn Conn, id: i64, now: i64) -> Result<Option<Case>, StoreError> {
    let mut case = c
        .query_opt(
            &format!("SELECT {CASE_COLS} FROM {CASE_FROM} WHERE c.id = $1"),
            params![id],
        )?
        .map(|r| case_from(r, now));
    if let Some(k) = case.as_mut() {
        k.co_handler_org_ids = super::tasks::org_ids(c, k.id.0)?;
    }
    name_cases(c, case.iter_mut())?;
    Ok(case)
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
        if case
            .co_handler_org_ids
            .iter()
            .any(|o| self.orgs.contains(o))
        {
            out.push(Actor::CoHandler);
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
            parts.push(format!(
                "c.handler_org_id IN ({0}) OR c.id IN (SELECT case_id FROM case_tasks WHERE org_id IN ({0}))",
                list.join(", ")
            ));
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
    /// `me`: the cases waiting on the caller's own action (to sign for and handle, to check on
    /// site, to accept, dispatch, decide or close), late ones first; `verify`: resolved cases
    /// the caller may check on site (not her own organisation's work).
    pub waiting: Option<String>,
    #[serde(default, deserialize_with = "crate::kernel::blank_as_none")]
    pub limit: Option<i64>,
    /// Skip this many cases (prefer `after`: an offset reads every case it skips).
    #[serde(default, deserialize_with = "crate::kernel::blank_as_none")]
    pub offset: Option<i64>,
    /// The key of the next page, as the previous page gave it (the `Link` header's `after`).
    pub after: Option<String>,
}

/// The cases a viewer sees in the queue's order (`cases.queue_key`: open and late first, then
/// other open cases, then ended ones; within each by escalation level, priority and deadline);
/// phone and ID numbers in their text masked but for the viewer's own reports
/// ([`Case::mask_free_text`]).
pub fn list(
    c: &mut dyn Conn,
    viewer: &Viewer,
    f: &Filter,
    now: i64,
) -> Result<Vec<Case>, CaseError> {
    Ok(page(c, viewer, f, now)?.0)
}

/// Cases per page at most.
pub const MAX_PAGE: i64 = 500;

/// [`list`], and the key of the next page when there is one (for [`Filter::after`]). The page
/// is read in the order of the `cases_queue` index from the key on, so its cost follows the
/// page, not the history: the database stops after `limit` matching rows.
pub fn page(
    c: &mut dyn Conn,
    viewer: &Viewer,
    f: &Filter,
    now: i64,
) -> Result<(Vec<Case>, Option<String>), CaseError> {
    let mut p: Vec<Val> = Vec::new();
    let mut conds = filter_sql(c, viewer, f, now, &mut p)?;
    if let Some(after) = f.after.as_deref().filter(|a| !a.is_empty()) {
        let (key, id) = parse_after(after).ok_or(CaseError::Invalid("case.err_after"))?;
        p.push(key.into());
        p.push(id.into());
        let (k, i) = (p.len() - 1, p.len());
        conds.push_str(&format!(
            " AND (c.queue_key > ${k} OR (c.queue_key = ${k} AND c.id > ${i}))"
        ));
    }
    let limit = f.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let offset = f.offset.unwrap_or(0).max(0);
    // One more than asked, to know whether a next page exists.
    let sql = format!(
        "SELECT {CASE_COLS}, c.queue_key FROM {CASE_FROM} WHERE {conds} \
         ORDER BY c.queue_key, c.id LIMIT {} OFFSET {offset}",
        limit + 1
    );
    let mut rows = c.query(&sql, &p)?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|r| format!("{}.{}", r.i64(QUEUE_KEY_COL), r.i64(0)))
    } else {
        None
    };
    let mut cases: Vec<Case> = rows
        .into_iter()
        .map(|r| {
            let mut case = case_from(r, now);
            case.mask_free_text(viewer.user_id);
            case
        })
        .collect();
    name_cases(c, cases.iter_mut())?;
    Ok((cases, next))
}

/// The first queue key of an ended case (closed, rated, merged, rejected): group 2 of
/// `cases.queue_key` (migration 0040), 2 × 2^60.
const ENDED_KEY: i64 = 2 << 60;

/// Where `c.queue_key` is in a row of [`page`]: after [`CASE_COLS`].
const QUEUE_KEY_COL: usize = 52;

/// A page key as [`page`] gives it: the last row's queue key and id.
fn parse_after(after: &str) -> Option<(i64, i64)> {
    let (k, i) = after.split_once('.')?;
    Some((k.parse().ok()?, i.parse().ok()?))
}

/// How many cases [`list`] would give without its limit, counting at most `cap + 1`: a count
/// above `cap` is shown as "cap+" ([`shown_count`]), so a count costs no more than `cap` rows
/// however long the history.
pub fn count(
    c: &mut dyn Conn,
    viewer: &Viewer,
    f: &Filter,
    now: i64,
    cap: i64,
) -> Result<i64, CaseError> {
    let mut p: Vec<Val> = Vec::new();
    let conds = filter_sql(c, viewer, f, now, &mut p)?;
    Ok(c.query_i64(
        &format!(
            "SELECT COUNT(*) FROM (SELECT c.id FROM {CASE_FROM} WHERE {conds} LIMIT {}) t",
            cap + 1
        ),
        &p,
    )?)
}

/// A count of [`count`] as shown: "1,000+" past the cap.
pub fn shown_count(n: i64, cap: i64) -> String {
    if n > cap {
        format!("{}+", crate::kernel::i18n::thousands(cap))
    } else {
        crate::kernel::i18n::thousands(n)
    }
}

/// The WHERE clause of [`list`] and [`count`]: the viewer's cases, narrowed by the filter.
pub(super) fn filter_sql(
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
        // The queue key's group says open or ended: a range of the `cases_queue` index, so a
        // list of open cases never walks the ended ones (nor the reverse).
        if states.iter().all(|s| s.is_open()) {
            conds.push(format!("c.queue_key < {ENDED_KEY}"));
        } else if states.iter().all(|s| !s.is_open()) {
            conds.push(format!("c.queue_key >= {ENDED_KEY}"));
        }
    } else if f.late.is_some_and(|l| l) || f.waiting.as_deref().is_some_and(|w| !w.is_empty()) {
        // Late cases and cases waiting on someone are all open.
        conds.push(format!("c.queue_key < {ENDED_KEY}"));
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
    match f.waiting.as_deref().filter(|w| !w.is_empty()) {
        None => {}
        Some("me") => conds.push(waiting_on_me(viewer, p, false)),
        Some("verify") => conds.push(waiting_on_me(viewer, p, true)),
        Some(_) => return Err(CaseError::Invalid("case.err_waiting")),
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

/// The cases waiting on this viewer's action (see [`Filter::waiting`]), or with `verify_only`
/// those she may check on site.
fn waiting_on_me(viewer: &Viewer, p: &mut Vec<Val>, verify_only: bool) -> String {
    if verify_only && viewer.verify.is_empty() {
        // Nothing to check on site (and no parameter left unused: PostgreSQL refuses one).
        return "1 = 0".to_string();
    }
    p.push(viewer.user_id.into());
    let me = p.len();
    let orgs: Vec<String> = viewer.orgs.iter().map(|o| o.to_string()).collect();
    // Never NULL, so that NOT of it is what it says.
    let mine = if orgs.is_empty() {
        format!("COALESCE(c.handler_user_id, 0) = ${me}")
    } else {
        format!(
            "(COALESCE(c.handler_user_id, 0) = ${me} OR COALESCE(c.handler_org_id, 0) IN ({}))",
            orgs.join(", ")
        )
    };
    let mut alt = Vec::new();
    if !viewer.verify.is_empty() {
        let n = p.len() + 1;
        let inside = under_paths("c.place_path", &viewer.verify, n, p);
        // 巡办分离: not the work of her or her organisation.
        alt.push(format!(
            "({inside} AND c.state = 'resolved' AND NOT {mine} AND COALESCE(c.resolver_id, 0) <> ${me})"
        ));
    }
    if !verify_only {
        alt.push(format!(
            "({mine} AND c.state IN ('dispatched', 'signed_for', 'in_progress') AND c.extension_hours IS NULL)"
        ));
        if !viewer.dispatch.is_empty() {
            let n = p.len() + 1;
            let inside = under_paths("c.place_path", &viewer.dispatch, n, p);
            alt.push(format!(
                "({inside} AND (c.state IN ('new', 'accepted', 'returned', 'on_hold', 'verified') \
                 OR (c.state IN ('signed_for', 'in_progress') AND c.extension_hours IS NOT NULL) \
                 OR (c.state = 'resolved' AND k.verify_required = 0)))"
            ));
        }
    }
    format!("({})", alt.join(" OR "))
}

/// A place found by name for the report form, with the names above it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PlaceFound {
    pub id: i64,
    /// community, grid or building.
    pub kind: String,
    pub name: String,
    /// The names from the community down to the place: 幸福社区 › 第一网格 › 3号楼.
    pub label: String,
    /// A building's street address, when recorded (a building is found by it too).
    pub address: Option<String>,
    /// Where the place is (a building's point, an area's middle), when drawn.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// Buildings, grids and communities of a street whose name or address contains the words,
/// buildings first, at most `limit`.
pub fn find_places(
    c: &mut dyn Conn,
    street: i64,
    words: &str,
    limit: i64,
) -> Result<Vec<PlaceFound>, StoreError> {
    let rows = c.query(
        &format!(
            "SELECT id, kind, name, path, address, geojson FROM places WHERE street_id = $1 \
             AND kind IN ('community', 'grid', 'building') \
             AND (name LIKE $2 ESCAPE '\\' OR address LIKE $2 ESCAPE '\\') \
             ORDER BY CASE kind WHEN 'building' THEN 0 WHEN 'grid' THEN 1 ELSE 2 END, path LIMIT {}",
            limit.clamp(1, 100)
        ),
        params![street, crate::store::like_containing(words)],
    )?;
    // The names of the places above them, in one read.
    let names = crate::org::places::names_above(c, rows.iter().map(|r| r.str(3)))?;
    Ok(rows
        .iter()
        .map(|r| {
            let path = r.str(3);
            let parts: Vec<&str> = path.split('/').collect();
            let mut label: Vec<String> = (1..parts.len())
                .filter_map(|i| names.get(&parts[..i].join("/")))
                .filter(|(kind, _)| matches!(kind.as_str(), "community" | "grid"))
                .map(|(_, name)| name.clone())
                .collect();
            label.push(r.str(2));
            let at = r
                .opt_str(5)
                .and_then(|g| crate::org::geometry::Shape::parse(&g))
                .and_then(|s| s.centre());
            PlaceFound {
                id: r.i64(0),
                kind: r.str(1),
                name: r.str(2),
                label: label.join(" › "),
                address: r.opt_str(4).filter(|a| !a.is_empty()),
                lat: at.map(|(y, _)| y),
                lon: at.map(|(_, x)| x),
            }
        })
        .collect())
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

/// The organisations of a street a case may be dispatched to (retired ones take no new
/// cases): (id, name).
pub fn org_choices(c: &mut dyn Conn, street: i64) -> Result<Vec<(i64, String)>, StoreError> {
    Ok(crate::org::orgs::of_street(c, street)?
        .into_iter()
        .filter(|o| o.retired_at.is_none())
        .map(|o| (o.id, o.name))
        .collect())
}

/// Whether organisation `org` belongs to `street` and takes work (is not retired).
pub fn org_in_street(c: &mut dyn Conn, org: i64, street: i64) -> Result<bool, StoreError> {
    crate::org::orgs::is_active(c, street, org)
}

/// Whether `place` is `street` or lies in it.
pub fn place_in_street(c: &mut dyn Conn, place: i64, street: i64) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT id FROM places WHERE id = $1 AND (street_id = $2 OR id = $2)",
        params![place, street],
    )?
    .is_some())
}

/// Whether `user` follows case `case`.
pub fn follows(c: &mut dyn Conn, case: i64, user: i64) -> Result<bool, StoreError> {
    Ok(c.query_opt(
        "SELECT 1 FROM case_followers WHERE case_id = $1 AND user_id = $2",
        params![case, user],
    )?
    .is_some())
}

/// A case's own search terms as stored (its description shown on a page may be masked).
pub fn case_terms(c: &mut dyn Conn, case: i64) -> Result<String, StoreError> {
    Ok(
        c.query_one("SELECT terms FROM cases WHERE id = $1", params![case])?
            .str(0),
    )
}

/// A resident's home: (unit id, unit name, building id and name), from the registry's record
/// of where she lives and org's places.
#[allow(clippy::type_complexity)]
pub fn home_of(
    c: &mut dyn Conn,
    person: i64,
) -> Result<Option<(i64, String, Option<(i64, String)>)>, StoreError> {
    let Some(unit) = crate::registry::persons::home_unit(c, person)? else {
        return Ok(None);
    };
    let Some(u) = crate::org::places::by_id_unscoped(c, unit)? else {
        return Ok(None);
    };
    let building = match u.parent_id {
        Some(b) => crate::org::places::by_id_unscoped(c, b)?.map(|b| (b.id, b.name)),
        None => None,
    };
    Ok(Some((u.id, u.name, building)))
}
