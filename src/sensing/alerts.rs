//! Alerts: raised by rules, one active alert per (rule, device) — repeats update it — with
//! the states active_unack → active_ack → cleared_unack → cleared_ack. An alert nobody
//! acknowledges within its rule's time escalates one level up the hierarchy (grid →
//! community → street → district). A new alert asks for a case.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::devices::DeviceInfo;
use super::rules::{Rule, RuleSet};
use crate::kernel::i18n::{Lang, Tr};
use crate::params;
use crate::store::{Conn, Result, Row, Val, under_paths};

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Alert {
    pub id: i64,
    pub street_id: i64,
    pub rule_id: i64,
    pub rule_name: String,
    pub device_id: i64,
    pub device_serial: String,
    pub device_type: String,
    /// The person the device watches over (open their record for the name: that read is audited).
    pub person_id: Option<i64>,
    pub place_id: i64,
    pub place_path: String,
    pub place_name: String,
    /// threshold, event, absence or offline.
    pub kind: String,
    /// critical, major, minor or warning.
    pub severity: String,
    /// The case category the rule names.
    pub category: String,
    /// active_unack, active_ack, cleared_unack or cleared_ack.
    pub state: String,
    /// The stored sentence, in Chinese (as the case it opens carries it).
    pub message: String,
    /// The same sentence in the reader's language.
    pub text: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// How many times the rule fired while this alert was active.
    pub hits: i64,
    pub first_at: i64,
    pub last_at: i64,
    pub acked_at: Option<i64>,
    pub acked_by: Option<i64>,
    pub cleared_at: Option<i64>,
    pub cleared_by: Option<i64>,
    /// Escalation level: 0 at the device's grid, 1 community, 2 street, 3 district.
    pub level: i64,
    /// The place whose workers the alert is with now (the grid, or higher once escalated).
    pub responsible_path: String,
    /// When it escalates next if still unacknowledged.
    pub escalate_at: Option<i64>,
    /// none, requested (a case was asked for), opened, or grouped (the rule opened many cases in
    /// the grid within the hour, so the alert joined one case with the others: `case_id`).
    pub case_state: String,
    pub case_id: Option<i64>,
}

impl Alert {
    /// Says the alert in `lang` (`text`).
    pub fn localise(&mut self, lang: Lang) {
        self.text = super::words::text(&self.kind, &self.details, &self.message, lang);
    }
    /// The alerts, each said in `lang`.
    pub fn localised(mut list: Vec<Alert>, lang: Lang) -> Vec<Alert> {
        for a in &mut list {
            a.localise(lang);
        }
        list
    }
    /// Translation keys (section `alert`) for templates.
    pub fn sev_key(&self) -> String {
        format!("sev_{}", self.severity)
    }
    pub fn state_key(&self) -> String {
        format!("st_{}", self.state)
    }
    pub fn case_key(&self) -> String {
        format!("case_{}", self.case_state)
    }
}

impl AlertHistory {
    pub fn action_key(&self) -> String {
        format!("ev_{}", self.action)
    }
}

/// An alert change, published on the live stream after its transaction committed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AlertEvent {
    /// raised, repeated, acknowledged, cleared or escalated.
    pub action: String,
    pub alert: Alert,
}

const COLS: &str = "a.id, a.street_id, a.rule_id, r.name, a.device_id, d.serial, pr.device_type, \
    a.person_id, a.place_id, a.place_path, pl.name, a.kind, a.severity, a.category, a.state, \
    a.message, a.details, a.hits, a.first_at, a.last_at, a.acked_at, a.acked_by, a.cleared_at, \
    a.cleared_by, a.level, a.escalate_at, a.case_state, a.case_id";
const FROM: &str = "alerts a JOIN rules r ON r.id = a.rule_id JOIN devices d ON d.id = a.device_id \
    JOIN device_profiles pr ON pr.id = d.profile_id JOIN places pl ON pl.id = a.place_id";

/// The grid's path (or, above it, the ancestor `level` steps up) for a place path
/// `district/street/community/grid/…`.
pub fn responsible_path(place_path: &str, level: i64) -> String {
    let parts: Vec<&str> = place_path.split('/').collect();
    let depth = (4 - level).clamp(1, 4) as usize;
    parts[..depth.min(parts.len())].join("/")
}

fn row(mut r: Row) -> Alert {
    let place_path = r.str(9);
    let level = r.i64(24);
    let mut a = Alert {
        id: r.i64(0),
        street_id: r.i64(1),
        rule_id: r.i64(2),
        rule_name: r.str(3),
        device_id: r.i64(4),
        device_serial: r.str(5),
        device_type: r.str(6),
        person_id: r.opt_i64(7),
        place_id: r.i64(8),
        responsible_path: responsible_path(&place_path, level),
        place_path,
        place_name: r.str(10),
        kind: r.str(11),
        severity: r.str(12),
        category: r.str(13),
        state: r.str(14),
        message: r.take_str(15).unwrap_or_default(),
        text: String::new(),
        details: serde_json::from_str(&r.str(16)).unwrap_or(serde_json::Value::Null),
        hits: r.i64(17),
        first_at: r.i64(18),
        last_at: r.i64(19),
        acked_at: r.opt_i64(20),
        acked_by: r.opt_i64(21),
        cleared_at: r.opt_i64(22),
        cleared_by: r.opt_i64(23),
        level,
        escalate_at: r.opt_i64(25),
        case_state: r.str(26),
        case_id: r.opt_i64(27),
    };
    a.localise(Lang::Zh);
    a
}

pub fn by_id(c: &mut dyn Conn, id: i64) -> Result<Option<Alert>> {
    Ok(c.query_opt(
        &format!("SELECT {COLS} FROM {FROM} WHERE a.id = $1"),
        params![id],
    )?
    .map(row))
}

fn event(
    c: &mut dyn Conn,
    alert: &Alert,
    at: i64,
    action: &str,
    actor: Option<i64>,
    note: &str,
) -> Result<()> {
    c.exec(
        "INSERT INTO alert_events (street_id, alert_id, at, action, actor_id, note) VALUES ($1, $2, $3, $4, $5, $6)",
        params![alert.street_id, alert.id, at, action, actor, note],
    )?;
    Ok(())
}

fn changed(c: &mut dyn Conn, id: i64, action: &str) -> Result<Vec<AlertEvent>> {
    Ok(by_id(c, id)?
        .map(|alert| AlertEvent {
            action: action.to_string(),
            alert,
        })
        .into_iter()
        .collect())
}

/// Raises the rule's alert for the device, or updates the active one (never a second).
pub fn raise(
    c: &mut dyn Conn,
    rule: &Rule,
    dev: &DeviceInfo,
    now: i64,
    message: &str,
    details: serde_json::Value,
) -> Result<Vec<AlertEvent>> {
    // The rule and the device as this transaction sees them: a rule disabled or a device
    // deactivated after the caller looked them up raises nothing.
    if c.query_opt(
        "SELECT 1 FROM rules r JOIN devices d ON d.id = $2 WHERE r.id = $1 AND r.active = 1 AND d.active = 1",
        params![rule.id, dev.id],
    )?
    .is_none()
    {
        return Ok(Vec::new());
    }
    let details = details.to_string();
    let n = c.exec(
        "UPDATE alerts SET hits = hits + 1, last_at = $1, message = $2, details = $3, updated_at = $1 \
         WHERE rule_id = $4 AND device_id = $5 AND active = 1",
        params![now, message, details.as_str(), rule.id, dev.id],
    )?;
    if n > 0 {
        let id = c.query_i64(
            "SELECT id FROM alerts WHERE rule_id = $1 AND device_id = $2 AND active = 1",
            params![rule.id, dev.id],
        )?;
        return changed(c, id, "repeated");
    }
    let id = c.query_i64(
        "INSERT INTO alerts (street_id, rule_id, device_id, person_id, place_id, place_path, kind, severity, \
         category, state, active, message, details, hits, first_at, last_at, escalate_at, level, case_state, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active_unack', 1, $10, $11, 1, $12, $12, $13, 0, 'none', $12) RETURNING id",
        params![
            dev.street_id,
            rule.id,
            dev.id,
            dev.person_id,
            dev.place_id,
            dev.place_path.as_str(),
            rule.kind.as_str(),
            rule.severity.as_str(),
            rule.category.as_str(),
            message,
            details,
            now,
            now + rule.ack_minutes * 60_000
        ],
    )?;
    let Some(alert) = by_id(c, id)? else {
        return Ok(Vec::new());
    };
    event(c, &alert, now, "raised", None, message)?;
    match open_case_for_alert(c, &alert)
        .map_err(|e| crate::store::StoreError::Db(format!("requesting a case: {e}")))?
    {
        CaseOutcome::Opened(case_id) => {
            c.exec(
                "UPDATE alerts SET case_state = 'opened', case_id = $1 WHERE id = $2",
                params![case_id, id],
            )?;
        }
        CaseOutcome::Grouped(_) => {}
        CaseOutcome::Requested => event(c, &alert, now, "case_requested", None, &alert.category)?,
    }
    if let Some(person) = alert.person_id {
        start_care_chain(c, id, person, now)?;
    }
    changed(c, id, "raised")
}

/// A care alert on a person's devices wakes someone (issue 24 part 2): reach's chain — her
/// family or helper, then the grid worker, then the community's duty worker — starts in the
/// alert's own transaction, so it exists exactly when the alert does.
fn start_care_chain(c: &mut dyn Conn, id: i64, person: i64, now: i64) -> Result<()> {
    let Some(a) = by_id(c, id)? else {
        return Ok(());
    };
    let say = |lang| super::words::text(&a.kind, &a.details, &a.message, lang);
    let what = format!("{} / {}", say(Lang::Zh), say(Lang::En));
    let place = place_words(c, a.place_id)?;
    crate::reach::chains::start(
        c,
        &crate::reach::chains::CareAlert {
            street_id: a.street_id,
            alert_id: a.id,
            person_id: person,
            case_id: a.case_id,
            place_path: &a.place_path,
            what: &what,
            place: &place,
        },
        now,
    )?;
    Ok(())
}

/// What sensing does when a care alert's chain is answered by a one-tap link: the alert is
/// acknowledged with the answer as its note, and the answer is written on its case, in the
/// answer's transaction; the live streams hear of it once committed. Registered by `app`.
pub const ON_CARE_ANSWER: crate::reach::hooks::OnAnswer = crate::reach::hooks::OnAnswer {
    within: |c, alert, case, answer, by, now| {
        Ok(Box::new(answered_by_tap(c, alert, case, answer, by, now)?))
    },
    after: |state, effect| {
        if let Ok(ev) = effect.downcast::<Vec<AlertEvent>>() {
            super::of(state).publish(*ev);
        }
    },
};

/// Records a one-tap answer on the alert (acknowledged, the answer as its note) and its case.
pub fn answered_by_tap(
    c: &mut dyn Conn,
    alert: i64,
    case: Option<i64>,
    answer: &str,
    by: &str,
    now: i64,
) -> Result<Vec<AlertEvent>> {
    let Some(a) = by_id(c, alert)? else {
        return Ok(Vec::new());
    };
    let note_in = |lang| {
        let t = Tr(lang);
        t.fill(
            "reach.answered_note",
            &[
                ("by", &crate::kernel::i18n::pick(by, lang)),
                ("answer", &t.s(&format!("reach.answer.{answer}"))),
            ],
        )
    };
    let note = format!("{} / {}", note_in(Lang::Zh), note_in(Lang::En));
    c.exec(
        "UPDATE alerts SET state = CASE state WHEN 'active_unack' THEN 'active_ack' WHEN 'cleared_unack' THEN 'cleared_ack' ELSE state END, \
         acked_at = COALESCE(acked_at, $1), escalate_at = NULL, updated_at = $1 WHERE id = $2",
        params![now, alert],
    )?;
    event(c, &a, now, "acknowledged", None, &note)?;
    if let Some(case_id) = case
        && let Some(k) = crate::cases::get(c, case_id, now)?
    {
        let st = k.state.as_str();
        crate::cases::record_event(
            c,
            a.street_id,
            case_id,
            now,
            (None, &crate::kernel::i18n::pick(by, Lang::Zh)),
            "care_answer",
            st,
            st,
            &note,
            serde_json::json!({"alert_id": alert, "answer": answer}),
        )?;
    }
    changed(c, alert, "acknowledged")
}

/// What became of a new alert's request for a case.
#[derive(Debug, PartialEq, Eq)]
pub enum CaseOutcome {
    /// A case of its own.
    Opened(i64),
    /// It joined the grouped case of its rule and grid.
    Grouped(i64),
    /// The street's catalogue lacks the category: left for the operations centre.
    Requested,
}

/// Where an alert is, in words: the building and the unit ("3号楼 305室"), or the place's
/// name when the device is on a building or higher.
pub fn place_words(c: &mut dyn Conn, place_id: i64) -> Result<String> {
    let Some(p) = crate::org::places::by_id_unscoped(c, place_id)? else {
        return Ok(String::new());
    };
    if p.kind != "unit" {
        return Ok(p.name);
    }
    let building = match p.parent_id {
        Some(b) => crate::org::places::by_id_unscoped(c, b)?,
        None => None,
    };
    Ok(match building {
        Some(b) => format!("{} {}", b.name, p.name),
        None => p.name,
    })
}

/// Alert-opened cases of one rule in one grid within this long before its next alerts are
/// grouped into one case.
pub const GROUP_WINDOW_MS: i64 = 3_600_000;
/// How many cases one rule opens in one grid within [`GROUP_WINDOW_MS`] before its next alerts
/// join one case instead of each opening its own.
pub const GROUP_AFTER: i64 = 3;

/// Opens a case for a new alert, in the alert's own transaction: in the rule's category, on
/// the device's place, accepted and dispatched to the grid worker responsible. When the
/// street's catalogue lacks the category, the request stays recorded on the alert
/// (`case_state = 'requested'`) for the operations centre, and the alert says so.
///
/// A storm is held back: once the rule opened [`GROUP_AFTER`] cases in the alert's grid within
/// the hour, the next alert opens one case for the grid (on the grid, listing the alert) and
/// tells the rule's owner; the alerts after it join that case (`case_state = 'grouped'`) and
/// open nothing, so neither cases nor inbox messages multiply.
pub fn open_case_for_alert(c: &mut dyn Conn, alert: &Alert) -> anyhow::Result<CaseOutcome> {
    let grid = responsible_path(&alert.place_path, 0);
    let since = alert.last_at - GROUP_WINDOW_MS;
    let recent = c.query(
        "SELECT case_state, case_id FROM alerts WHERE rule_id = $1 AND id <> $2 AND first_at > $3 \
         AND case_state IN ('opened', 'grouped') AND (place_path = $4 OR place_path LIKE $5) ORDER BY id DESC",
        params![
            alert.rule_id,
            alert.id,
            since,
            grid.as_str(),
            format!("{grid}/%")
        ],
    )?;
    let opened = recent.iter().filter(|r| r.str(0) == "opened").count() as i64;
    let group_case = recent
        .iter()
        .find(|r| r.str(0) == "grouped")
        .and_then(|r| r.opt_i64(1));
    let words = place_words(c, alert.place_id)?;
    let text = super::words::text(&alert.kind, &alert.details, &alert.message, Lang::Zh);
    if let Some(case_id) = group_case {
        group(c, alert, case_id, &words)?;
        return Ok(CaseOutcome::Grouped(case_id));
    }
    let grouping = opened >= GROUP_AFTER;
    let (place_id, description) = if grouping {
        let grid_place = crate::org::places::by_path(c, &grid)?;
        let description = Tr(Lang::Zh).fill(
            "sensing.case.storm",
            &[
                ("rule", &alert.rule_name),
                ("n", &opened),
                ("text", &text),
                ("place", &words),
                ("serial", &alert.device_serial),
            ],
        );
        (
            grid_place.map(|g| g.id).unwrap_or(alert.place_id),
            description,
        )
    } else {
        (
            alert.place_id,
            Tr(Lang::Zh).fill(
                "sensing.case.alert",
                &[
                    ("rule", &alert.rule_name),
                    ("text", &text),
                    ("place", &words),
                    ("serial", &alert.device_serial),
                ],
            ),
        )
    };
    match crate::cases::open_from_sensor(
        c,
        alert.street_id,
        &alert.category,
        place_id,
        &description,
        alert.last_at,
    ) {
        Ok(id) if grouping => {
            group(c, alert, id.0, &words)?;
            notify_owner(c, alert, id.0, opened)?;
            Ok(CaseOutcome::Grouped(id.0))
        }
        Ok(id) => Ok(CaseOutcome::Opened(id.0)),
        Err(crate::cases::CaseError::Store(e)) => Err(anyhow::anyhow!("opening a case: {e}")),
        Err(e) => {
            tracing::warn!(alert = alert.id, category = %alert.category, error = ?e, "an alert could not open a case; left for the operations centre");
            c.exec(
                "UPDATE alerts SET case_state = 'requested' WHERE id = $1 AND case_state = 'none'",
                params![alert.id],
            )?;
            Ok(CaseOutcome::Requested)
        }
    }
}

/// Adds an alert to a grouped case: it opens nothing of its own.
fn group(c: &mut dyn Conn, alert: &Alert, case_id: i64, words: &str) -> Result<()> {
    c.exec(
        "UPDATE alerts SET case_state = 'grouped', case_id = $1 WHERE id = $2",
        params![case_id, alert.id],
    )?;
    event(
        c,
        alert,
        alert.last_at,
        "grouped",
        None,
        &format!("#{case_id} {words}"),
    )
}

/// Tells the rule's owner (whoever last saved it; the street's administrators for a rule
/// nobody saved) that its alerts are being grouped, once per grouped case.
fn notify_owner(c: &mut dyn Conn, alert: &Alert, case_id: i64, opened: i64) -> Result<()> {
    let owner = c
        .query_opt(
            "SELECT owner_id FROM rules WHERE id = $1",
            params![alert.rule_id],
        )?
        .and_then(|r| r.opt_i64(0));
    let users = match owner {
        Some(u) => vec![u],
        None => {
            let street = responsible_path(&alert.place_path, 2);
            crate::cases::notify::dispatchers(c, alert.street_id, &street, 2)?
        }
    };
    let note = format!(
        "{} · {} · {}+",
        alert.rule_name,
        place_words(c, alert.place_id)?,
        opened + 1
    );
    crate::cases::notify::to_users(
        c,
        alert.street_id,
        &users,
        "alerts_grouped",
        case_id,
        &note,
        alert.last_at,
    )
}

/// Clears the active alert of (rule, device) if there is one: the condition ended.
pub fn auto_clear(
    c: &mut dyn Conn,
    rule_id: i64,
    device_id: i64,
    now: i64,
    why: &str,
) -> Result<Vec<AlertEvent>> {
    let Some(id) = c
        .query_opt(
            "SELECT id FROM alerts WHERE rule_id = $1 AND device_id = $2 AND active = 1",
            params![rule_id, device_id],
        )?
        .map(|r| r.i64(0))
    else {
        return Ok(Vec::new());
    };
    set_cleared(c, id, now, None)?;
    if let Some(a) = by_id(c, id)? {
        event(c, &a, now, "cleared", None, why)?;
    }
    changed(c, id, "cleared")
}

fn set_cleared(c: &mut dyn Conn, id: i64, now: i64, by: Option<i64>) -> Result<u64> {
    // Nobody need be woken for an alert that is over.
    crate::reach::chains::stop_for_alert(c, id, now)?;
    c.exec(
        "UPDATE alerts SET state = CASE state WHEN 'active_ack' THEN 'cleared_ack' ELSE 'cleared_unack' END, \
         active = 0, cleared_at = $1, cleared_by = $2, escalate_at = NULL, updated_at = $1 \
         WHERE id = $3 AND active = 1",
        params![now, by, id],
    )
}

/// Why an acknowledgement or a clearing was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    AlreadyAcknowledged,
    AlreadyCleared,
}

/// Acknowledges an alert within `scope`.
pub fn acknowledge(
    c: &mut dyn Conn,
    scope: &[String],
    id: i64,
    user: i64,
    note: &str,
    now: i64,
) -> Result<std::result::Result<Vec<AlertEvent>, Refusal>> {
    let Some(a) = get(c, scope, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let n = c.exec(
        "UPDATE alerts SET state = CASE state WHEN 'active_unack' THEN 'active_ack' ELSE 'cleared_ack' END, \
         acked_at = $1, acked_by = $2, escalate_at = NULL, updated_at = $1 \
         WHERE id = $3 AND state IN ('active_unack', 'cleared_unack')",
        params![now, user, id],
    )?;
    if n == 0 {
        return Ok(Err(Refusal::AlreadyAcknowledged));
    }
    crate::reach::chains::stop_for_alert(c, id, now)?;
    event(c, &a, now, "acknowledged", Some(user), note)?;
    Ok(Ok(changed(c, id, "acknowledged")?))
}

/// Clears an active alert within `scope` (a worker checked and found it handled).
pub fn clear(
    c: &mut dyn Conn,
    scope: &[String],
    id: i64,
    user: i64,
    note: &str,
    now: i64,
) -> Result<std::result::Result<Vec<AlertEvent>, Refusal>> {
    let Some(a) = get(c, scope, id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    if set_cleared(c, id, now, Some(user))? == 0 {
        return Ok(Err(Refusal::AlreadyCleared));
    }
    event(c, &a, now, "cleared", Some(user), note)?;
    Ok(Ok(changed(c, id, "cleared")?))
}

/// Clears the active alerts whose `col` (case_id, rule_id or device_id) is `value`.
fn clear_active_where(
    c: &mut dyn Conn,
    col: &str,
    value: i64,
    user: Option<i64>,
    now: i64,
    why: &str,
) -> Result<Vec<AlertEvent>> {
    let mut out = Vec::new();
    for r in c.query(
        &format!("SELECT id FROM alerts WHERE {col} = $1 AND active = 1 ORDER BY id"),
        params![value],
    )? {
        let id = r.i64(0);
        set_cleared(c, id, now, user)?;
        if let Some(a) = by_id(c, id)? {
            event(c, &a, now, "cleared", user, why)?;
        }
        out.extend(changed(c, id, "cleared")?);
    }
    Ok(out)
}

/// What sensing does when a case closes: the alert the case was opened for is cleared in the
/// same transaction, and the live streams hear of it once committed. Registered by `app`.
pub const ON_CASE_CLOSED: crate::cases::hooks::OnClose = crate::cases::hooks::OnClose {
    within: |c, case, by, now| Ok(Box::new(clear_for_case(c, case.get(), by, now)?)),
    after: |state, effect| {
        if let Ok(cleared) = effect.downcast::<Vec<AlertEvent>>() {
            super::of(state).publish(*cleared);
        }
    },
};

/// Clears the alert a case was opened for, when the case is closed.
pub fn clear_for_case(
    c: &mut dyn Conn,
    case_id: i64,
    user: Option<i64>,
    now: i64,
) -> Result<Vec<AlertEvent>> {
    clear_active_where(c, "case_id", case_id, user, now, "case closed")
}

/// Clears a rule's active alerts: the rule was disabled, deleted, or now watches something else.
pub fn clear_for_rule(
    c: &mut dyn Conn,
    rule_id: i64,
    user: Option<i64>,
    now: i64,
    why: &str,
) -> Result<Vec<AlertEvent>> {
    clear_active_where(c, "rule_id", rule_id, user, now, why)
}

/// Clears a device's active alerts: the device was deactivated.
pub fn clear_for_device(
    c: &mut dyn Conn,
    device_id: i64,
    user: Option<i64>,
    now: i64,
    why: &str,
) -> Result<Vec<AlertEvent>> {
    clear_active_where(c, "device_id", device_id, user, now, why)
}

/// Escalates unacknowledged alerts whose time is up, one level each.
pub fn escalate_due(c: &mut dyn Conn, set: &RuleSet, now: i64) -> Result<Vec<AlertEvent>> {
    let due = c.query(
        "SELECT id, rule_id, level FROM alerts WHERE escalate_at IS NOT NULL AND escalate_at <= $1 \
         AND state = 'active_unack' ORDER BY escalate_at LIMIT 500",
        params![now],
    )?;
    let mut out = Vec::new();
    for r in due {
        let (id, rule_id, level) = (r.i64(0), r.i64(1), r.i64(2));
        let ack_ms = set.get(rule_id).map(|r| r.ack_minutes).unwrap_or(30) * 60_000;
        let next_level = level + 1;
        // The district is the top: nothing above it to escalate to.
        let next_at = (next_level < 3).then_some(now + ack_ms);
        let n = c.exec(
            "UPDATE alerts SET level = $1, escalate_at = $2, updated_at = $3 WHERE id = $4 AND level = $5",
            params![next_level, next_at, now, id, level],
        )?;
        if n == 0 {
            continue;
        }
        if let Some(a) = by_id(c, id)? {
            event(c, &a, now, "escalated", None, &a.responsible_path)?;
        }
        out.extend(changed(c, id, "escalated")?);
    }
    Ok(out)
}

/// One alert within `scope`.
pub fn get(c: &mut dyn Conn, scope: &[String], id: i64) -> Result<Option<Alert>> {
    let mut p = vec![Val::Int(id)];
    let cond = under_paths("a.place_path", scope, 2, &mut p);
    Ok(c.query_opt(
        &format!("SELECT {COLS} FROM {FROM} WHERE a.id = $1 AND {cond}"),
        &p,
    )?
    .map(row))
}

#[derive(Clone, Debug, Default)]
pub struct AlertQuery {
    pub state: Option<String>,
    pub severity: Option<String>,
    pub kind: Option<String>,
    pub device_id: Option<i64>,
    pub active: Option<bool>,
    pub since: Option<i64>,
    pub min_level: Option<i64>,
    /// Only the alerts of this case (a grouped case lists several).
    pub case_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
    /// Start after this key ([`page_key`] of the last alert of the page before).
    pub after: Option<String>,
}

/// The key of an alert in the list's order (active first, newest first): `active.last_at.id`.
pub fn page_key(a: &Alert) -> String {
    let active = i64::from(a.state.starts_with("active"));
    format!("{active}.{}.{}", a.last_at, a.id)
}

/// A key of [`page_key`], read back.
pub fn parse_page_key(s: &str) -> Option<(i64, i64, i64)> {
    let mut it = s.splitn(3, '.');
    let active = it.next()?.parse().ok()?;
    let last = it.next()?.parse().ok()?;
    let id = it.next()?.parse().ok()?;
    Some((active, last, id))
}

/// Alerts within `scope`, active first, newest first; from [`AlertQuery::after`] on.
pub fn list(c: &mut dyn Conn, scope: &[String], q: &AlertQuery) -> Result<Vec<Alert>> {
    let mut p = Vec::new();
    let mut cond = under_paths("a.place_path", scope, 1, &mut p);
    let mut add = |col: &str, v: Val, p: &mut Vec<Val>, op: &str| {
        p.push(v);
        cond.push_str(&format!(" AND {col} {op} ${}", p.len()));
    };
    if let Some(s) = &q.state {
        add("a.state", Val::Text(s.clone()), &mut p, "=");
    }
    if let Some(s) = &q.severity {
        add("a.severity", Val::Text(s.clone()), &mut p, "=");
    }
    if let Some(s) = &q.kind {
        add("a.kind", Val::Text(s.clone()), &mut p, "=");
    }
    if let Some(d) = q.device_id {
        add("a.device_id", Val::Int(d), &mut p, "=");
    }
    if let Some(a) = q.active {
        add("a.active", Val::Int(a as i64), &mut p, "=");
    }
    if let Some(s) = q.since {
        add("a.last_at", Val::Int(s), &mut p, ">=");
    }
    if let Some(l) = q.min_level {
        add("a.level", Val::Int(l), &mut p, ">=");
    }
    if let Some(id) = q.case_id {
        add("a.case_id", Val::Int(id), &mut p, "=");
    }
    if let Some((active, last, id)) = q.after.as_deref().and_then(parse_page_key) {
        p.extend([Val::Int(active), Val::Int(last), Val::Int(id)]);
        let (a, l, i) = (p.len() - 2, p.len() - 1, p.len());
        cond.push_str(&format!(
            " AND (a.active < ${a} OR (a.active = ${a} AND (a.last_at < ${l} OR (a.last_at = ${l} AND a.id < ${i}))))"
        ));
    }
    p.push(Val::Int(q.limit));
    p.push(Val::Int(q.offset));
    let sql = format!(
        "SELECT {COLS} FROM {FROM} WHERE {cond} ORDER BY a.active DESC, a.last_at DESC, a.id DESC LIMIT ${} OFFSET ${}",
        p.len() - 1,
        p.len()
    );
    Ok(c.query(&sql, &p)?.into_iter().map(row).collect())
}

/// The history of one alert.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AlertHistory {
    pub at: i64,
    pub action: String,
    pub actor_id: Option<i64>,
    pub note: String,
}

pub fn history(c: &mut dyn Conn, id: i64) -> Result<Vec<AlertHistory>> {
    Ok(c.query(
        "SELECT at, action, actor_id, note FROM alert_events WHERE alert_id = $1 ORDER BY id",
        params![id],
    )?
    .into_iter()
    .map(|r| AlertHistory {
        at: r.i64(0),
        action: r.str(1),
        actor_id: r.opt_i64(2),
        note: r.str(3),
    })
    .collect())
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The alert in the FIWARE Smart Data Models `Alert` shape (dataModel.Alert, NGSI-LD
/// key-values): category and severity mapped to that model's enumerations.
pub fn fiware(a: &Alert) -> serde_json::Value {
    let severity = match a.severity.as_str() {
        "critical" => "critical",
        "major" => "high",
        "minor" => "medium",
        _ => "low",
    };
    let category = match a.category.as_str() {
        "elderly_care" | "quarantine" | "health" => "health",
        "water" => "water",
        "environment" => "environment",
        _ => "security",
    };
    let mut v = serde_json::json!({
        "id": format!("urn:ngsi-ld:Alert:linli:{}", a.id),
        "type": "Alert",
        "category": category,
        "subCategory": a.kind,
        "severity": severity,
        "description": a.message,
        "dateIssued": iso(a.first_at),
        "validFrom": iso(a.first_at),
        "alertSource": format!("urn:ngsi-ld:Device:linli:{}", a.device_id),
        "data": {
            "state": a.state,
            "rule": a.rule_name,
            "hits": a.hits,
            "details": a.details,
            "place": a.place_path,
            "level": a.level,
        },
        "dateModified": iso(a.last_at),
    });
    if let Some(t) = a.cleared_at {
        v["validTo"] = serde_json::Value::String(iso(t));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responsible_path_goes_up_one_level_per_escalation() {
        let p = "310115/310115004/c01/g0103/b07/u0502";
        assert_eq!(responsible_path(p, 0), "310115/310115004/c01/g0103");
        assert_eq!(responsible_path(p, 1), "310115/310115004/c01");
        assert_eq!(responsible_path(p, 2), "310115/310115004");
        assert_eq!(responsible_path(p, 3), "310115");
        assert_eq!(responsible_path(p, 9), "310115");
    }
}
