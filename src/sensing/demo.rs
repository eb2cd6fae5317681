//! Demo devices and rules: a door magnet and a water meter in the flat of every elderly
//! person living alone, a smoke detector and (in taller buildings) an elevator sensor per
//! building, with the rules a street would start with.

use super::devices::{self, NewDevice, NewProfile, TelemetryKey};
use super::rules::{self, NewRule, RuleKind, RuleParams};
use crate::params;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result, Val};

fn keys(list: &[(&str, &str)]) -> Vec<TelemetryKey> {
    list.iter()
        .map(|(k, u)| TelemetryKey {
            key: k.to_string(),
            unit: u.to_string(),
        })
        .collect()
}

fn rule(
    name: &str,
    kind: RuleKind,
    severity: &str,
    profile_id: i64,
    tag: Option<&str>,
    params: RuleParams,
    (category, ack): (&str, i64),
) -> NewRule {
    NewRule {
        name: name.into(),
        kind,
        severity: severity.into(),
        profile_id: Some(profile_id),
        device_id: None,
        tag: tag.map(str::to_string),
        params,
        // No category: the alert opens no case (a door opened during home quarantine is for
        // the grid worker to follow up, and the catalogue has no category for it).
        category: (!category.is_empty()).then(|| category.into()),
        ack_minutes: Some(ack),
        overrides: Vec::new(),
    }
}

/// Seeds every street of a freshly built demo. Returns the number of devices.
pub fn seed(c: &mut dyn Conn, field_keys: &FieldKeys, now: i64) -> Result<usize> {
    let streets: Vec<i64> = c
        .query(
            "SELECT id FROM places WHERE kind = 'street' ORDER BY path",
            &[],
        )?
        .into_iter()
        .map(|r| r.i64(0))
        .collect();
    let mut total = 0;
    for street in streets {
        total += seed_street(c, field_keys, street, now)?;
    }
    Ok(total)
}

fn seed_street(c: &mut dyn Conn, field_keys: &FieldKeys, street: i64, now: i64) -> Result<usize> {
    let profile =
        |c: &mut dyn Conn, code: &str, name: &str, ty: &str, k: &[(&str, &str)], every: i64| {
            devices::create_profile(
                c,
                &NewProfile {
                    street_id: street,
                    code,
                    name,
                    device_type: ty,
                    telemetry: &keys(k),
                    report_interval_s: every,
                },
                now,
            )
        };
    // Door magnets and smoke detectors send a heartbeat every hour; elevators every 10 min.
    let door = profile(
        c,
        "door_magnet",
        "门磁",
        "door_magnet",
        &[("door", ""), ("battery", "%")],
        3600,
    )?;
    let water = profile(
        c,
        "water_meter",
        "智能水表",
        "water_meter",
        &[("volume", "m³")],
        3600,
    )?;
    let smoke = profile(
        c,
        "smoke_detector",
        "烟感",
        "smoke_detector",
        &[("smoke", ""), ("battery", "%")],
        3600,
    )?;
    let lift = profile(
        c,
        "elevator",
        "电梯传感器",
        "elevator",
        &[("vibration", "m/s²"), ("fault", ""), ("door_cycles", "")],
        600,
    )?;

    let mut rows: Vec<Vec<Val>> = Vec::new();
    let mut serial = 0usize;
    let mut add = |rows: &mut Vec<Vec<Val>>,
                   profile_id: i64,
                   kind: &str,
                   model: &str,
                   place: (i64, String),
                   person: Option<i64>,
                   household: Option<i64>| {
        serial += 1;
        let d = NewDevice {
            street_id: street,
            profile_id,
            serial: format!("{kind}-{street}-{serial:06}"),
            model: model.into(),
            place_id: place.0,
            place_path: place.1,
            person_id: person,
            household_id: household,
        };
        let token = crate::org::auth::random_token("dev_");
        rows.push(devices::bulk_row(field_keys, &d, &token, now));
    };
    let elderly = crate::registry::persons::tagged_at_home(c, street, "elderly_alone")?;
    for e in &elderly {
        let place = (e.unit_id, e.unit_path.clone());
        add(
            &mut rows,
            door,
            "DM",
            "LX-DM200",
            place.clone(),
            Some(e.person_id),
            e.household_id,
        );
        add(
            &mut rows,
            water,
            "WM",
            "NB-WM15",
            place,
            Some(e.person_id),
            e.household_id,
        );
    }
    let buildings = c.query(
        "SELECT id, path, COALESCE(floors, 0) FROM places WHERE kind = 'building' AND street_id = $1 ORDER BY path",
        params![street],
    )?;
    for b in &buildings {
        add(
            &mut rows,
            smoke,
            "SD",
            "JTY-GD-S3",
            (b.i64(0), b.str(1)),
            None,
            None,
        );
        if b.i64(2) >= 7 {
            add(
                &mut rows,
                lift,
                "EL",
                "EL-MON-4G",
                (b.i64(0), b.str(1)),
                None,
                None,
            );
        }
    }
    for chunk in rows.chunks(500) {
        c.insert_many("devices", devices::BULK_COLS, chunk)?;
    }
    // A device watches over a person only with her consent: the demo's are recorded as given
    // in person, so its data obey the rule the registration forms enforce.
    super::consents::demo_all(c, street, "独居老人居家安全看护（演示）", now)?;
    let p = |f: fn(&mut RuleParams)| {
        let mut r = RuleParams::default();
        f(&mut r);
        r
    };
    let new_rules = [
        rule(
            "独居老人门磁 24 小时无开门",
            RuleKind::Absence,
            "major",
            door,
            Some("elderly_alone"),
            p(|r| {
                r.key = Some("door".into());
                r.equals = Some("open".into());
                r.absence_s = Some(86_400);
            }),
            ("elderly_care", 30),
        ),
        rule(
            "独居老人早间 7–10 点未开门",
            RuleKind::Absence,
            "warning",
            door,
            Some("elderly_alone"),
            p(|r| {
                r.key = Some("door".into());
                r.equals = Some("open".into());
                r.window = Some("07:00-10:00".into());
            }),
            ("elderly_care", 60),
        ),
        rule(
            "独居老人 12 小时用水低于 0.01 m³",
            RuleKind::Absence,
            "major",
            water,
            Some("elderly_alone"),
            p(|r| {
                r.key = Some("volume".into());
                r.min_total = Some(0.01);
                r.absence_s = Some(12 * 3600);
            }),
            ("elderly_care", 30),
        ),
        rule(
            "居家隔离期间开门",
            RuleKind::Event,
            "major",
            door,
            Some("home_quarantine"),
            p(|r| {
                r.key = Some("door".into());
                r.equals = Some("open".into());
            }),
            ("", 15),
        ),
        rule(
            "烟雾报警",
            RuleKind::Event,
            "critical",
            smoke,
            None,
            p(|r| {
                r.key = Some("smoke".into());
                r.equals = Some(serde_json::json!(1));
            }),
            ("fire_hazard", 5),
        ),
        rule(
            "电梯故障",
            RuleKind::Event,
            "major",
            lift,
            None,
            p(|r| {
                r.key = Some("fault".into());
                r.equals = Some(serde_json::json!(1));
            }),
            ("elevator", 15),
        ),
        rule(
            "电梯振动持续超限",
            RuleKind::Threshold,
            "minor",
            lift,
            None,
            p(|r| {
                r.key = Some("vibration".into());
                r.op = Some("gt".into());
                r.value = Some(2.5);
                r.duration_s = Some(60);
                r.repeat = Some(3);
            }),
            ("elevator", 60),
        ),
        rule(
            "门磁离线",
            RuleKind::Offline,
            "warning",
            door,
            None,
            RuleParams::default(),
            ("", 240),
        ),
        rule(
            "烟感离线",
            RuleKind::Offline,
            "minor",
            smoke,
            None,
            RuleParams::default(),
            ("", 240),
        ),
    ];
    for r in &new_rules {
        debug_assert!(r.validate().is_ok(), "{}", r.name);
        rules::create(c, street, r, now)?;
    }
    Ok(rows.len())
}

/// Shortens the demo's "no event for H hours" and "use within H hours" rules to `secs`
/// (`linli demo --absence-window 30s`), so alerts show within a minute.
pub fn set_absence_window(c: &mut dyn Conn, secs: i64) -> Result<usize> {
    let mut n = 0;
    for r in c.query(
        "SELECT id, params, name FROM rules WHERE kind = 'absence'",
        &[],
    )? {
        let Ok(mut p) = serde_json::from_str::<RuleParams>(&r.str(1)) else {
            continue;
        };
        if p.window.is_some() {
            continue;
        }
        p.absence_s = Some(secs);
        c.exec(
            "UPDATE rules SET params = $1 WHERE id = $2",
            params![serde_json::to_string(&p).unwrap_or_default(), r.i64(0)],
        )?;
        // Say so in the name, so a demo visitor is not told "24 hours" after 30 seconds.
        let name = r.str(2);
        let base = name.split("（演示：").next().unwrap_or(&name);
        c.exec(
            "UPDATE rules SET name = $1 WHERE id = $2",
            params![format!("{base}（演示：{secs} 秒）"), r.i64(0)],
        )?;
        // Timers armed for the old length are re-armed for the new one.
        c.exec(
            "DELETE FROM rule_timers WHERE rule_id = $1",
            params![r.i64(0)],
        )?;
        n += 1;
    }
    Ok(n)
}
