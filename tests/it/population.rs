//! Issue 20: the kept population figures (registry::counts) equal the figures counted from the
//! records after any sequence of the changes that move them — persons registered (one by one
//! and by import), corrected (residence, presence, hukou), moved between households, tagged and
//! untagged with past and future validity, households opened, and days passing — on both
//! backends. Each figure is checked at every place above the units: `/stats` (the
//! `Population`), the home page's `Figures` and the place pages' household and resident counts.

use linli::org::Scope;
use linli::registry::counts;
use linli::registry::import::{Importer, Sheet, import};
use linli::registry::records::{self, Actor, NewPersonTag};
use linli::registry::stats;
use linli::store::keys::FieldKeys;
use linli::store::{Conn, Db};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support;

const RESIDENCES: [&str; 3] = ["permanent", "temporary", "left"];
const PRESENCES: [&str; 3] = [
    "both",
    "registered_elsewhere_lives_here",
    "registered_here_lives_elsewhere",
];
const TAGS: [&str; 4] = ["elderly_alone", "disabled", "renter", "volunteer"];

#[derive(Clone, Debug)]
enum Op {
    /// Registers `n` persons in units picked by `unit`, born `age` years ago.
    Register {
        unit: usize,
        n: usize,
        age: u32,
        residence: usize,
        tags: Vec<usize>,
    },
    Correct {
        person: usize,
        residence: Option<usize>,
        presence: Option<usize>,
        hukou: Option<bool>,
    },
    Tag {
        person: usize,
        tag: usize,
        /// Days from today the validity starts and (when given) ends.
        from: i64,
        to: Option<i64>,
    },
    Untag {
        person: usize,
        tag: usize,
    },
    Move {
        person: usize,
        household: usize,
    },
    OpenHousehold {
        unit: usize,
    },
    /// The calendar moves on `days`: the street is recounted as of that day and checked
    /// against the records of that day (then brought back to today by the next write).
    DaysPass {
        days: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            any::<usize>(),
            1usize..4,
            0u32..95,
            0usize..3,
            prop::collection::vec(0usize..4, 0..3)
        )
            .prop_map(|(unit, n, age, residence, tags)| Op::Register {
                unit,
                n,
                age,
                residence,
                tags
            }),
        (
            any::<usize>(),
            prop::option::of(0usize..3),
            prop::option::of(0usize..3),
            prop::option::of(any::<bool>())
        )
            .prop_map(|(person, residence, presence, hukou)| Op::Correct {
                person,
                residence,
                presence,
                hukou
            }),
        (
            any::<usize>(),
            0usize..4,
            -3i64..3,
            prop::option::of(0i64..4)
        )
            .prop_map(|(person, tag, from, to)| Op::Tag {
                person,
                tag,
                from,
                to: to.map(|t| from + t),
            }),
        (any::<usize>(), 0usize..4).prop_map(|(person, tag)| Op::Untag { person, tag }),
        (any::<usize>(), any::<usize>())
            .prop_map(|(person, household)| Op::Move { person, household }),
        any::<usize>().prop_map(|unit| Op::OpenHousehold { unit }),
        (1u64..800).prop_map(|days| Op::DaysPass { days }),
    ]
}

fn pick(c: &mut dyn Conn, sql: &str, i: usize) -> i64 {
    let ids: Vec<i64> = c
        .query(sql, &[])
        .unwrap()
        .iter()
        .map(|r| r.i64(0))
        .collect();
    ids[i % ids.len()]
}

fn day(offset: i64) -> String {
    (linli::kernel::time::today() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

struct World {
    scope: Scope,
    admin: i64,
    keys: FieldKeys,
    street_path: String,
    seq: u16,
}

fn apply(c: &mut dyn Conn, w: &mut World, op: &Op) {
    let who = Actor {
        user_id: w.admin,
        source: "test",
    };
    match op {
        Op::Register {
            unit,
            n,
            age,
            residence,
            tags,
        } => {
            let header: Vec<String> = ["姓名", "身份证号", "房屋", "居住状态", "标签"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            let mut rows = vec![(1, header)];
            let units: Vec<String> = c
                .query(
                    "SELECT address FROM places WHERE kind = 'unit' ORDER BY id",
                    &[],
                )
                .unwrap()
                .iter()
                .map(|r| r.str(0))
                .collect();
            // On, or a day or two before, a band's birthday (never in the future).
            let birth = linli::kernel::time::today()
                - chrono::Months::new(age * 12)
                - chrono::Days::new((w.seq % 3) as u64);
            for i in 0..*n {
                w.seq += 1;
                let id = linli::registry::idnum::IdNumber::build("320583", birth, w.seq);
                let tags: Vec<&str> = tags.iter().map(|t| TAGS[*t]).collect();
                rows.push((
                    i + 2,
                    vec![
                        format!("测试{}", w.seq),
                        id.as_str().to_string(),
                        units[(unit + i) % units.len()].clone(),
                        ["常住", "暂住", "已离开"][*residence].to_string(),
                        tags.join(","),
                    ],
                ));
            }
            let report = import(
                c,
                &w.keys,
                &w.street_path,
                &Sheet { rows },
                false,
                &Importer {
                    actor: None,
                    source: "test",
                },
                &mut |_, _| {},
            )
            .unwrap()
            .unwrap();
            assert!(report.refused.is_empty(), "{:?}", report.refused);
        }
        Op::Correct {
            person,
            residence,
            presence,
            hukou,
        } => {
            let id = pick(c, "SELECT id FROM persons ORDER BY id", *person);
            let patch = linli::registry::persons::Patch {
                residence: residence.map(|r| RESIDENCES[r].to_string()),
                presence: presence.map(|p| PRESENCES[p].to_string()),
                hukou_registered: *hukou,
                ..Default::default()
            };
            linli::registry::persons::update(c, &w.keys, &w.scope, id, &patch, w.admin, "test")
                .unwrap()
                .unwrap()
                .ok()
                .unwrap();
        }
        Op::Tag {
            person,
            tag,
            from,
            to,
        } => {
            let id = pick(c, "SELECT id FROM persons ORDER BY id", *person);
            // Refused when the person already holds it: that is a change too (none).
            let _ = records::add_person_tag(
                c,
                &w.scope,
                id,
                &NewPersonTag {
                    tag: TAGS[*tag].to_string(),
                    valid_from: Some(day(*from)),
                    valid_to: to.map(day),
                    source: None,
                },
                who,
            )
            .unwrap();
        }
        Op::Untag { person, tag } => {
            let id = pick(c, "SELECT id FROM persons ORDER BY id", *person);
            let _ = records::end_person_tag(c, &w.scope, id, TAGS[*tag], who).unwrap();
        }
        Op::Move { person, household } => {
            let id = pick(c, "SELECT id FROM persons ORDER BY id", *person);
            let h = pick(c, "SELECT id FROM households ORDER BY id", *household);
            let _ = records::move_person(c, &w.scope, id, h, "other", who).unwrap();
        }
        Op::OpenHousehold { unit } => {
            let u = pick(
                c,
                "SELECT id FROM places WHERE kind = 'unit' ORDER BY id",
                *unit,
            );
            records::create_household(c, &w.scope, u, true, who)
                .unwrap()
                .ok()
                .unwrap();
        }
        Op::DaysPass { days } => {
            let later = linli::kernel::time::today() + chrono::Days::new(*days);
            for s in streets(c) {
                counts::recount(c, s, later).unwrap();
            }
            check(c, later);
        }
    }
}

fn streets(c: &mut dyn Conn) -> Vec<i64> {
    c.query("SELECT id FROM places WHERE kind = 'street'", &[])
        .unwrap()
        .iter()
        .map(|r| r.i64(0))
        .collect()
}

/// Every kept figure at every place above the units equals the one counted from the records.
fn check(c: &mut dyn Conn, on: chrono::NaiveDate) {
    let places = c
        .query(
            "SELECT id, path, kind FROM places WHERE kind <> 'unit' ORDER BY id",
            &[],
        )
        .unwrap();
    assert!(places.len() > 5);
    for p in &places {
        let (id, path) = (p.i64(0), p.str(1));
        assert!(counts::kept(c, &path).unwrap(), "{path} is kept");
        let kept = stats::population(c, id, on).unwrap().unwrap();
        let counted = stats::population_from_records(c, id, on).unwrap().unwrap();
        assert_eq!(
            serde_json::to_value(&kept).unwrap(),
            serde_json::to_value(&counted).unwrap(),
            "population of {path} on {on}"
        );
        // The place pages' counts.
        let mut prm = Vec::new();
        let cond =
            linli::store::under_paths("place_path", std::slice::from_ref(&path), 1, &mut prm);
        let households = c
            .query_i64(
                &format!("SELECT COUNT(*) FROM households WHERE {cond}"),
                &prm,
            )
            .unwrap();
        assert_eq!(
            linli::org::places::counts_under(c, &path).unwrap(),
            (households, counted.residents),
            "households and residents under {path}"
        );
        // The home page's figures.
        let f = linli::registry::households::figures(c, &path).unwrap();
        let band = |k: &str| {
            counted
                .by_age_band
                .iter()
                .find(|b| b.key == k)
                .map(|b| b.count)
                .unwrap_or(0)
        };
        let tag = |k: &str| {
            counted
                .by_tag
                .iter()
                .find(|b| b.key == k)
                .map(|b| b.count)
                .unwrap_or(0)
        };
        assert_eq!(
            (
                f.households,
                f.residents,
                f.aged_60_plus,
                f.elderly_alone,
                f.disabled,
                f.renters
            ),
            (
                households,
                counted.residents,
                band("60-79") + band("80+"),
                tag("elderly_alone"),
                tag("disabled"),
                tag("renter")
            ),
            "home figures of {path}"
        );
    }
}

fn run(db: &Db, keys: FieldKeys, cases: u32) {
    let (street_path, admin) = db
        .read_blocking(|c| {
            Ok((
                c.query_one(
                    "SELECT path FROM places WHERE kind = 'street' ORDER BY id LIMIT 1",
                    &[],
                )?
                .str(0),
                c.query_i64("SELECT id FROM users WHERE username = 'admin'", &[])?,
            ))
        })
        .unwrap();
    let scope = Scope {
        registry: vec![street_path.clone()],
        places: vec![street_path.clone()],
        users: vec![street_path.clone()],
        own_household: None,
    };
    let w = std::cell::RefCell::new(World {
        scope,
        admin,
        keys,
        street_path,
        seq: 0,
    });
    // Kept from the start (the demo counted its streets).
    db.read_blocking(|c| {
        check(c, linli::kernel::time::today());
        Ok(())
    })
    .unwrap();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(op(), 1..12), |ops| {
            db.write_blocking(|c| {
                for o in &ops {
                    apply(c, &mut w.borrow_mut(), o);
                }
                Ok(())
            })
            .unwrap();
            // The next write brings a street counted for a later day back to today.
            db.write_blocking(|c| {
                for s in streets(c) {
                    counts::ensure(c, s, linli::kernel::time::today())?;
                }
                Ok(())
            })
            .unwrap();
            db.read_blocking(|c| {
                check(c, linli::kernel::time::today());
                Ok(())
            })
            .unwrap();
            Ok(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn kept_figures_equal_the_records_after_random_changes() {
    let t = support::database().await;
    let keys_dir = tempfile::tempdir().unwrap();
    let db = t.db.clone();
    tokio::task::spawn_blocking(move || {
        let keys = FieldKeys::load_or_create(keys_dir.path()).unwrap();
        linli::demo::build(
            &db,
            &keys,
            linli::demo::synth::DemoSize::Small,
            11,
            "test-pass-123",
            linli::kernel::time::today(),
            &|_, _| {},
        )
        .unwrap();
        run(&db, keys, 24);
    })
    .await
    .unwrap();
}

/// A database from before the counts: the figures are read from the records until the job
/// (or a write) counts the street, then from the kept rows, and both agree.
#[tokio::test(flavor = "multi_thread")]
async fn a_street_never_counted_is_read_from_the_records_until_the_job_counts_it() {
    let t = support::database().await;
    let keys_dir = tempfile::tempdir().unwrap();
    let db = t.db.clone();
    tokio::task::spawn_blocking(move || {
        let keys = FieldKeys::load_or_create(keys_dir.path()).unwrap();
        linli::demo::build(
            &db,
            &keys,
            linli::demo::synth::DemoSize::Small,
            12,
            "test-pass-123",
            linli::kernel::time::today(),
            &|_, _| {},
        )
        .unwrap();
        let today = linli::kernel::time::today();
        let (street, path) = db
            .write_blocking(|c| {
                c.exec("DELETE FROM population_counts", &[])?;
                c.exec("DELETE FROM population_days", &[])?;
                let r = c.query_one(
                    "SELECT id, path FROM places WHERE kind = 'street' ORDER BY id LIMIT 1",
                    &[],
                )?;
                Ok((r.i64(0), r.str(1)))
            })
            .unwrap();
        let from_records = db
            .read_blocking(|c| {
                assert!(!counts::kept(c, &path)?);
                assert_eq!(counts::stale_streets(c, today)?, vec![street]);
                stats::population(c, street, today)
            })
            .unwrap()
            .unwrap();
        assert!(from_records.residents > 100);
        let n = db
            .write_blocking(|c| counts::recount_stale(c, today))
            .unwrap();
        assert_eq!(n, 1);
        db.read_blocking(|c| {
            assert!(counts::kept(c, &path)?);
            assert!(counts::stale_streets(c, today)?.is_empty());
            let kept = stats::population(c, street, today)?.unwrap();
            assert_eq!(
                serde_json::to_value(&kept).unwrap(),
                serde_json::to_value(&from_records).unwrap()
            );
            Ok(())
        })
        .unwrap();
    })
    .await
    .unwrap();
}
