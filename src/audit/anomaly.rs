//! Rules over the audit log that find misuse (seed 004: abnormal use of a resident's identity
//! should be noticed): one account viewing many people within an hour, access outside working
//! hours, repeated denied access. Each finding becomes one notice to the street
//! administrator, with the evidence. Scans are idempotent — a notice's key names its rule,
//! account and window — so a restart neither loses nor repeats one.

use chrono::{Local, TimeZone, Timelike};
use serde_json::json;

use crate::params;
use crate::store::{Conn, Result, Val, now_ms};

#[derive(Clone, Debug)]
pub struct Rules {
    /// More distinct people or households than this within an hour is unusual.
    pub max_people_per_hour: i64,
    /// Denied accesses within an hour from which a notice is raised.
    pub max_denied_per_hour: i64,
    /// Working hours, local time: [start, end).
    pub work_hours: (u32, u32),
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            max_people_per_hour: 100,
            max_denied_per_hour: 3,
            work_hours: (7, 20),
        }
    }
}

const HOUR: i64 = 3_600_000;

/// Per account and day: the account name, its street, and sample entries.
type AfterHours = (String, Option<i64>, Vec<i64>);
const PERSONAL: &str = "('read', 'list', 'reveal', 'export')";

fn notify(
    c: &mut dyn Conn,
    street: Option<i64>,
    kind: &str,
    key: String,
    actor_id: Option<i64>,
    actor: &str,
    evidence: serde_json::Value,
) -> Result<bool> {
    let n = c.exec(
        "INSERT INTO notices (street_id, kind, dedup_key, actor_id, actor, evidence, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedup_key) DO NOTHING",
        params![
            street,
            kind,
            key,
            actor_id,
            actor,
            evidence.to_string(),
            now_ms()
        ],
    )?;
    Ok(n > 0)
}

fn sample_seqs(c: &mut dyn Conn, sql: &str, p: &[Val]) -> Result<Vec<i64>> {
    Ok(c.query(sql, p)?.iter().map(|r| r.i64(0)).collect())
}

/// Runs every rule over the last hour; returns how many new notices were raised.
pub fn scan(c: &mut dyn Conn, rules: &Rules, now: i64) -> Result<usize> {
    let since = now - HOUR;
    let bucket = now / HOUR;
    // The window as a range of the log (its primary key), not a scan over times.
    let from = super::first_seq_since(c, since)? as i64;
    let mut raised = 0;

    // 1. Volume: distinct people or households viewed by one account within the hour.
    let rows = c.query(
        &format!(
            "SELECT e.actor_id, (SELECT username FROM users WHERE id = e.actor_id), MAX(e.street_id), COUNT(DISTINCT s.subject) FROM audit_entries e \
             JOIN audit_subjects s ON s.seq = e.seq \
             WHERE e.seq >= $1 AND e.action IN {PERSONAL} AND e.actor_id IS NOT NULL \
             AND (s.subject LIKE 'person:%' OR s.subject LIKE 'household:%') \
             GROUP BY e.actor_id HAVING COUNT(DISTINCT s.subject) > $2"
        ),
        params![from, rules.max_people_per_hour],
    )?;
    for r in rows {
        let actor_id = r.i64(0);
        let seqs = sample_seqs(
            c,
            &format!(
                "SELECT seq FROM audit_entries WHERE actor_id = $1 AND at >= $2 AND action IN {PERSONAL} ORDER BY seq LIMIT 50"
            ),
            params![actor_id, since],
        )?;
        let evidence = json!({"distinct_records": r.i64(3), "threshold": rules.max_people_per_hour, "since": since, "entries": seqs});
        if notify(
            c,
            r.opt_i64(2),
            "anomaly_volume",
            format!("volume:{actor_id}:{bucket}"),
            Some(actor_id),
            &r.str(1),
            evidence,
        )? {
            raised += 1;
        }
    }

    // 2. Access to personal data outside working hours (local time), once per account and day.
    let rows = c.query(
        &format!("SELECT seq, at, actor_id, (SELECT username FROM users WHERE id = actor_id), street_id FROM audit_entries WHERE seq >= $1 AND action IN {PERSONAL} AND actor_id IS NOT NULL ORDER BY seq"),
        params![from],
    )?;
    let mut by_actor: std::collections::BTreeMap<(i64, String), AfterHours> = Default::default();
    for r in rows {
        let Some(t) = Local.timestamp_millis_opt(r.i64(1)).single() else {
            continue;
        };
        let h = t.hour();
        if h >= rules.work_hours.0 && h < rules.work_hours.1 {
            continue;
        }
        let day = t.format("%Y-%m-%d").to_string();
        let e = by_actor
            .entry((r.i64(2), day))
            .or_insert_with(|| (r.str(3), r.opt_i64(4), Vec::new()));
        if e.2.len() < 50 {
            e.2.push(r.i64(0));
        }
    }
    for ((actor_id, day), (actor, street, seqs)) in by_actor {
        let evidence = json!({"day": day, "work_hours": [rules.work_hours.0, rules.work_hours.1], "entries": seqs});
        if notify(
            c,
            street,
            "anomaly_after_hours",
            format!("after_hours:{actor_id}:{day}"),
            Some(actor_id),
            &actor,
            evidence,
        )? {
            raised += 1;
        }
    }

    // 3. Repeated denied access.
    let rows = c.query(
        "SELECT actor_id, (SELECT username FROM users WHERE id = actor_id), MAX(street_id), COUNT(*) FROM audit_entries \
         WHERE seq >= $1 AND action = 'denied' AND actor_id IS NOT NULL GROUP BY actor_id HAVING COUNT(*) >= $2",
        params![from, rules.max_denied_per_hour],
    )?;
    for r in rows {
        let actor_id = r.i64(0);
        let seqs = sample_seqs(
            c,
            "SELECT seq FROM audit_entries WHERE actor_id = $1 AND at >= $2 AND action = 'denied' ORDER BY seq LIMIT 50",
            params![actor_id, since],
        )?;
        let evidence = json!({"denied": r.i64(3), "threshold": rules.max_denied_per_hour, "since": since, "entries": seqs});
        if notify(
            c,
            r.opt_i64(2),
            "anomaly_denied",
            format!("denied:{actor_id}:{bucket}"),
            Some(actor_id),
            &r.str(1),
            evidence,
        )? {
            raised += 1;
        }
    }
    c.exec(
        "INSERT INTO job_runs (job, last_run_at) VALUES ('anomaly', $1) ON CONFLICT (job) DO UPDATE SET last_run_at = excluded.last_run_at",
        params![now],
    )?;
    Ok(raised)
}

/// A notice as the administrator sees it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Notice {
    pub id: i64,
    pub kind: String,
    pub actor: String,
    pub evidence: serde_json::Value,
    /// Unix milliseconds.
    pub created_at: i64,
    pub read: bool,
}

/// Notices for the streets given (all of them when `streets` is `None`: district level).
pub fn notices(c: &mut dyn Conn, streets: Option<&[i64]>, limit: i64) -> Result<Vec<Notice>> {
    let rows = match streets {
        None => c.query(
            "SELECT id, kind, actor, evidence, created_at, read_at FROM notices ORDER BY id DESC LIMIT $1",
            params![limit],
        )?,
        Some(list) => {
            if list.is_empty() {
                return Ok(Vec::new());
            }
            let mut p: Vec<Val> = list.iter().map(|s| Val::Int(*s)).collect();
            let marks: Vec<String> = (1..=list.len()).map(|i| format!("${i}")).collect();
            p.push(Val::Int(limit));
            c.query(
                &format!(
                    "SELECT id, kind, actor, evidence, created_at, read_at FROM notices WHERE street_id IN ({}) ORDER BY id DESC LIMIT ${}",
                    marks.join(", "),
                    p.len()
                ),
                &p,
            )?
        }
    };
    Ok(rows
        .iter()
        .map(|r| Notice {
            id: r.i64(0),
            kind: r.str(1),
            actor: r.str(2),
            evidence: serde_json::from_str(&r.str(3)).unwrap_or_default(),
            created_at: r.i64(4),
            read: r.opt_i64(5).is_some(),
        })
        .collect())
}

/// Marks a notice read, if it belongs to one of `streets` (all when `None`).
pub async fn mark_read(db: &crate::store::Db, streets: Option<Vec<i64>>, id: i64) -> Result<bool> {
    db.write(move |c| {
        let Some(r) = c.query_opt("SELECT street_id FROM notices WHERE id = $1", params![id])?
        else {
            return Ok(false);
        };
        if let Some(list) = &streets
            && !r.opt_i64(0).is_some_and(|s| list.contains(&s))
        {
            return Ok(false);
        }
        Ok(c.exec(
            "UPDATE notices SET read_at = $1 WHERE id = $2 AND read_at IS NULL",
            params![now_ms(), id],
        )? > 0)
    })
    .await
}
