//! Security notices as the street administrator reads them: one sentence each, naming the
//! person and her role (not an account name), the count against its threshold and her usual,
//! and a page listing the accesses behind it. The rules that raise them are the audit area's
//! (`audit::anomaly`); who the accounts are is the organisation's.

use crate::audit::anomaly::Notice;
use crate::kernel::i18n::Tr;
use crate::org::users;
use crate::store::{Conn, Result};

/// A notice ready to show.
#[derive(Clone, Debug)]
pub struct NoticeView {
    pub id: i64,
    pub read: bool,
    /// Unix milliseconds.
    pub created_at: i64,
    /// The rule's name, e.g. "一小时内查看大量居民信息".
    pub title: &'static str,
    /// What happened, in one sentence of the reader's language.
    pub sentence: String,
    /// Where the evidence is: the accesses behind it, or the export asked for.
    pub link: String,
}

/// The person behind an account: "李敏（网格员）", or the account name if it is gone.
fn who(c: &mut dyn Conn, t: Tr, n: &Notice) -> Result<String> {
    let Some(u) = n
        .actor_id
        .map(|id| users::by_id(c, id))
        .transpose()?
        .flatten()
    else {
        return Ok(n.actor.clone());
    };
    let mut roles: Vec<&str> = u
        .grants
        .iter()
        .map(|g| t.k("role", g.role.as_str()))
        .collect();
    roles.dedup();
    let name = if u.display_name.trim().is_empty() {
        u.username
    } else {
        u.display_name
    };
    Ok(if roles.is_empty() {
        name
    } else {
        let roles = roles.join(t.s("notice.roles_sep"));
        t.fill("notice.who", &[("name", &name), ("roles", &roles)])
    })
}

fn num(v: &serde_json::Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or(0)
}

/// Describes notices in the reader's language.
pub fn describe(c: &mut dyn Conn, t: Tr, notices: &[Notice]) -> Result<Vec<NoticeView>> {
    let mut out = Vec::with_capacity(notices.len());
    // Twenty notices are often about two or three accounts: each is looked up once.
    let mut people: std::collections::HashMap<i64, String> = Default::default();
    for n in notices {
        let who = match n.actor_id.and_then(|id| people.get(&id)) {
            Some(w) => w.clone(),
            None => {
                let w = who(c, t, n)?;
                if let Some(id) = n.actor_id {
                    people.insert(id, w.clone());
                }
                w
            }
        };
        let e = &n.evidence;
        let entries = e["entries"].as_array().map(|a| a.len()).unwrap_or(0) as i64;
        let sentence = match n.kind.as_str() {
            "anomaly_volume" => t.fill(
                "notice.say.volume",
                &[
                    ("who", &who),
                    ("n", &num(e, "distinct_records")),
                    ("threshold", &num(e, "threshold")),
                    ("usual", &num(e, "usual_per_hour")),
                ],
            ),
            "anomaly_after_hours" => {
                let hours = e["work_hours"].as_array();
                let h = |i: usize| {
                    hours
                        .and_then(|a| a.get(i))
                        .and_then(|v| v.as_i64())
                        .unwrap_or(0)
                };
                t.fill(
                    "notice.say.after_hours",
                    &[
                        ("who", &who),
                        ("day", &e["day"].as_str().unwrap_or_default()),
                        ("start", &h(0)),
                        ("end", &h(1)),
                        ("n", &entries),
                        ("usual", &num(e, "usual_days")),
                        ("active", &num(e, "active_days")),
                    ],
                )
            }
            "anomaly_denied" => t.fill(
                "notice.say.denied",
                &[
                    ("who", &who),
                    ("n", &num(e, "denied")),
                    ("threshold", &num(e, "threshold")),
                ],
            ),
            "new_account_export" => {
                let masked = if e["unmasked"].as_bool().unwrap_or(false) {
                    t.s("notice.say.unmasked")
                } else {
                    t.s("notice.say.masked")
                };
                t.fill(
                    "notice.say.new_account_export",
                    &[
                        ("who", &who),
                        ("days", &num(e, "account_age_days")),
                        ("n", &num(e, "records")),
                        ("masked", &masked),
                    ],
                )
            }
            _ => who,
        };
        let link = match n.kind.as_str() {
            "new_account_export" => "/exports".to_string(),
            _ => format!("/security-notices/{}", n.id),
        };
        out.push(NoticeView {
            id: n.id,
            read: n.read,
            created_at: n.created_at,
            title: t.k("notice", &n.kind),
            sentence,
            link,
        });
    }
    Ok(out)
}

/// One access behind a notice, as the administrator sees it: when, what, whose record (as a
/// link to it: opening it is audited like any other), and the purpose given.
#[derive(Clone, Debug)]
pub struct AccessLine {
    pub seq: u64,
    pub at: i64,
    pub action: &'static str,
    /// (label, link) per record touched.
    pub subjects: Vec<(String, String)>,
    pub purpose: Option<String>,
}

/// The entries a notice names, in the order they happened.
pub fn evidence(c: &mut dyn Conn, t: Tr, n: &Notice) -> Result<Vec<AccessLine>> {
    let seqs: Vec<u64> = n.evidence["entries"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
        .unwrap_or_default();
    let mut out = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let Some((body, _)) = crate::audit::entry(c, seq)? else {
            continue;
        };
        let Ok(e) = serde_json::from_str::<crate::audit::Entry>(&body) else {
            continue;
        };
        let subjects = e
            .subjects
            .iter()
            .filter_map(|s| {
                let (kind, id) = s.split_once(':')?;
                let id: i64 = id.parse().ok()?;
                match kind {
                    "person" => Some((
                        t.fill("notice.subject.person", &[("id", &id)]),
                        format!("/persons/{id}"),
                    )),
                    "household" => Some((
                        t.fill("notice.subject.household", &[("id", &id)]),
                        format!("/households/{id}"),
                    )),
                    _ => None,
                }
            })
            .collect();
        out.push(AccessLine {
            seq,
            at: e.at,
            action: t.k("action", e.action.as_str()),
            subjects,
            purpose: e.purpose,
        });
    }
    Ok(out)
}
