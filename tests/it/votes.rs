//! Owners' votes under Civil Code art. 278 (issue 22 part 4): the count's arithmetic at and
//! around every threshold and against an independent rational implementation; the electorate
//! taken at opening by the interpretation's rules; one ballot per elector across channels, also
//! under concurrent submission; the refusals; the secret ballot; the count's page and
//! workbook; who may do what; the demo's vote.

use proptest::prelude::*;
use serde_json::{Value, json};

use linli::votes::{Matter, Tally, Totals, count};

use crate::support::{self, PASSWORD, TestApp};

// ---- the arithmetic ----------------------------------------------------------------------

fn tally(for_: (i64, i64), against: (i64, i64), abstain: (i64, i64)) -> Tally {
    Tally {
        for_area: for_.0,
        for_heads: for_.1,
        against_area: against.0,
        against_heads: against.1,
        abstain_area: abstain.0,
        abstain_heads: abstain.1,
    }
}

/// (case, matter, totals (area, heads), tally: (area, heads) for / against / abstain,
/// quorum, approved).
#[allow(clippy::type_complexity)]
const TABLE: &[(&str, Matter, (i64, i64), [(i64, i64); 3], bool, bool)] = &[
    // Participation: exactly two thirds of area and heads take part; all approve.
    (
        "exactly 2/3 area and heads",
        Matter::Item4,
        (300, 9),
        [(200, 6), (0, 0), (0, 0)],
        true,
        true,
    ),
    (
        "one cm² below 2/3 of the area",
        Matter::Item4,
        (300, 9),
        [(199, 6), (0, 0), (0, 0)],
        false,
        false,
    ),
    (
        "one owner below 2/3 of the heads",
        Matter::Item4,
        (300, 9),
        [(200, 5), (0, 0), (0, 0)],
        false,
        false,
    ),
    (
        "2/3 of an area not divisible by 3",
        Matter::Item4,
        (301, 9),
        [(201, 6), (0, 0), (0, 0)],
        true,
        true,
    ),
    (
        "just under 2/3 of an area not divisible by 3",
        Matter::Item4,
        (301, 9),
        [(200, 6), (0, 0), (0, 0)],
        false,
        false,
    ),
    // "过半数" is strictly more than half: exactly half fails, one more passes.
    (
        "exactly half of area and heads approve (item 4)",
        Matter::Item4,
        (400, 8),
        [(200, 4), (200, 4), (0, 0)],
        true,
        false,
    ),
    (
        "one cm² over half, heads exactly half",
        Matter::Item4,
        (400, 8),
        [(201, 4), (199, 4), (0, 0)],
        true,
        false,
    ),
    (
        "one owner over half, area exactly half",
        Matter::Item4,
        (400, 8),
        [(200, 5), (200, 3), (0, 0)],
        true,
        false,
    ),
    (
        "just over half of both",
        Matter::Item4,
        (400, 8),
        [(201, 5), (199, 3), (0, 0)],
        true,
        true,
    ),
    // "以上" includes the threshold: exactly three quarters passes items 6–8.
    (
        "exactly 3/4 approve item 7",
        Matter::Item7,
        (400, 8),
        [(300, 6), (100, 2), (0, 0)],
        true,
        true,
    ),
    (
        "exactly 3/4 approve item 6",
        Matter::Item6,
        (400, 8),
        [(300, 6), (100, 2), (0, 0)],
        true,
        true,
    ),
    (
        "exactly 3/4 approve item 8",
        Matter::Item8,
        (400, 8),
        [(300, 6), (100, 2), (0, 0)],
        true,
        true,
    ),
    (
        "one cm² below 3/4 for item 7",
        Matter::Item7,
        (400, 8),
        [(299, 6), (101, 2), (0, 0)],
        true,
        false,
    ),
    (
        "one owner below 3/4 for item 7",
        Matter::Item7,
        (400, 8),
        [(300, 5), (100, 3), (0, 0)],
        true,
        false,
    ),
    (
        "2/3 approving passes item 5 but not item 7",
        Matter::Item5,
        (300, 9),
        [(200, 6), (100, 3), (0, 0)],
        true,
        true,
    ),
    (
        "2/3 approving fails item 7",
        Matter::Item7,
        (300, 9),
        [(200, 6), (100, 3), (0, 0)],
        true,
        false,
    ),
    (
        "item 9 needs more than half only",
        Matter::Item9,
        (300, 9),
        [(151, 5), (149, 4), (0, 0)],
        true,
        true,
    ),
    // Abstentions take part and do not approve.
    (
        "abstentions make the quorum",
        Matter::Item4,
        (300, 9),
        [(100, 3), (0, 0), (100, 3)],
        true,
        false,
    ),
    (
        "abstentions weigh against approval",
        Matter::Item4,
        (300, 9),
        [(101, 4), (0, 0), (100, 3)],
        true,
        true,
    ),
    (
        "abstentions block 3/4",
        Matter::Item7,
        (400, 8),
        [(299, 5), (0, 0), (101, 3)],
        true,
        false,
    ),
    (
        "abstentions only",
        Matter::Item4,
        (300, 9),
        [(0, 0), (0, 0), (300, 9)],
        true,
        false,
    ),
    // Nobody, or an empty electorate, never passes.
    (
        "nobody took part",
        Matter::Item4,
        (300, 9),
        [(0, 0), (0, 0), (0, 0)],
        false,
        false,
    ),
    (
        "an empty electorate",
        Matter::Item4,
        (0, 0),
        [(0, 0), (0, 0), (0, 0)],
        false,
        false,
    ),
    // Units with no area on record: heads still count.
    (
        "no area on record",
        Matter::Item4,
        (0, 3),
        [(0, 2), (0, 0), (0, 0)],
        true,
        true,
    ),
    // Large areas: products beyond i64 stay exact.
    (
        "huge areas exactly 2/3",
        Matter::Item4,
        (6_000_000_000_000_000_000, 3),
        [(4_000_000_000_000_000_000, 2), (0, 0), (0, 0)],
        true,
        true,
    ),
    (
        "huge areas one cm² below",
        Matter::Item4,
        (6_000_000_000_000_000_000, 3),
        [(3_999_999_999_999_999_999, 2), (0, 0), (0, 0)],
        false,
        false,
    ),
];

#[test]
fn the_art_278_count_at_and_around_every_threshold() {
    for (case, matter, (area, heads), [f, a, x], quorum, approved) in TABLE {
        let o = count(
            *matter,
            &Totals {
                area_cm2: *area,
                heads: *heads,
            },
            &tally(*f, *a, *x),
        );
        assert_eq!(o.quorum, *quorum, "{case}: quorum {o:?}");
        assert_eq!(o.approved, *approved, "{case}: approved {o:?}");
        assert_eq!(o.area_participation.part, f.0 + a.0 + x.0, "{case}");
        assert_eq!(o.heads_approval.part, f.1, "{case}");
        assert_eq!(o.heads_approval.whole, f.1 + a.1 + x.1, "{case}");
    }
}

/// A fraction in lowest terms, for the independent check.
#[derive(Clone, Copy, Debug)]
struct Frac {
    n: u128,
    d: u128,
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Frac {
    fn new(n: u128, d: u128) -> Frac {
        let g = gcd(n, d).max(1);
        Frac { n: n / g, d: d / g }
    }
    /// `self ≥ other` (`strict`: `>`), both with positive denominators.
    fn reaches(self, other: Frac, strict: bool) -> bool {
        let (l, r) = (self.n * other.d, other.n * self.d);
        if strict { l > r } else { l >= r }
    }
}

/// The count written the other way: shares as rationals, compared with the thresholds.
fn by_rationals(matter: Matter, totals: (u64, u64), t: [(u64, u64); 3]) -> (bool, bool) {
    let area_part: u128 = t.iter().map(|x| x.0 as u128).sum();
    let heads_part: u128 = t.iter().map(|x| x.1 as u128).sum();
    if heads_part == 0 {
        return (false, false);
    }
    let share = |p: u128, w: u128| {
        if w == 0 {
            Frac::new(1, 1)
        } else {
            Frac::new(p, w)
        }
    };
    let quorum = share(area_part, totals.0 as u128).reaches(Frac::new(2, 3), false)
        && share(heads_part, totals.1 as u128).reaches(Frac::new(2, 3), false);
    let (need, strict) = if matches!(matter, Matter::Item6 | Matter::Item7 | Matter::Item8) {
        (Frac::new(3, 4), false)
    } else {
        (Frac::new(1, 2), true)
    };
    let approve = share(t[0].0 as u128, area_part).reaches(need, strict)
        && share(t[0].1 as u128, heads_part).reaches(need, strict);
    (quorum, quorum && approve)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn the_count_agrees_with_rational_arithmetic(
        item in 0usize..9,
        f in (0u64..2_000_000_000, 0u64..60),
        a in (0u64..2_000_000_000, 0u64..60),
        x in (0u64..2_000_000_000, 0u64..60),
        extra in (0u64..3_000_000_000, 0u64..90),
    ) {
        let matter = Matter::ALL[item];
        // Areas only where there are heads; the electorate holds at least who took part.
        let fix = |(area, heads): (u64, u64)| if heads == 0 { (0, 0) } else { (area, heads) };
        let (f, a, x) = (fix(f), fix(a), fix(x));
        let totals = (f.0 + a.0 + x.0 + extra.0, f.1 + a.1 + x.1 + extra.1);
        let o = count(
            matter,
            &Totals { area_cm2: totals.0 as i64, heads: totals.1 as i64 },
            &tally((f.0 as i64, f.1 as i64), (a.0 as i64, a.1 as i64), (x.0 as i64, x.1 as i64)),
        );
        let (quorum, approved) = by_rationals(matter, totals, [f, a, x]);
        prop_assert_eq!(o.quorum, quorum);
        prop_assert_eq!(o.approved, approved);
    }
}

// ---- a stairwell of known owners --------------------------------------------------------

/// A stairwell whose owners the test sets: A owns the first two units alone, B and C own the
/// third together, one owner each for the next ones, and the last unit has none (the
/// developer's). Every unit is 100 m² except the first (80.5 m²).
struct Stairwell {
    building: i64,
    no: i64,
    units: Vec<i64>,
    /// Person ids: A, B, C, then one per further unit.
    persons: Vec<i64>,
    /// Their accounts' names, in the same order.
    usernames: Vec<String>,
}

impl Stairwell {
    /// Electors: A, B+C, one per further owned unit, the developer.
    fn heads(&self) -> i64 {
        (self.units.len() - 1) as i64
    }
    fn area(&self) -> i64 {
        805_000 + (self.units.len() as i64 - 1) * 1_000_000
    }
}

async fn accounts(app: &TestApp, persons: &[(i64, i64)], prefix: &str) -> Vec<String> {
    let hash = linli::org::users::hash_password(PASSWORD);
    let persons = persons.to_vec();
    let prefix = prefix.to_string();
    app.db
        .write(move |c| {
            let mut names = Vec::new();
            for (i, (person, unit)) in persons.iter().enumerate() {
                let street: i64 = c
                    .query_one(
                        "SELECT street_id FROM persons WHERE id = $1",
                        linli::params![*person],
                    )?
                    .i64(0);
                let name = format!("{prefix}{i}");
                let username = linli::org::users::Username::parse(&name).unwrap();
                let id = linli::org::users::create(
                    c,
                    linli::org::users::NewUser {
                        username: &username,
                        display_name: &name,
                        password_hash: &hash,
                        street_id: Some(street),
                        person_id: Some(*person),
                        created_by: None,
                    },
                )?;
                linli::org::users::add_grant(
                    c,
                    id,
                    linli::org::Role::Resident,
                    Some(*unit),
                    None,
                    Some(street),
                    None,
                )?;
                names.push(name);
            }
            Ok(names)
        })
        .await
        .unwrap()
}

/// Sets up a stairwell of shegong's community away from jumin's home.
async fn stairwell(app: &TestApp) -> Stairwell {
    let community = support::place_of(app, "shegong").await;
    let (building, no, units, persons) = app
        .db
        .write(move |c| {
            let jumin_building = c
                .query_one(
                    "SELECT u.parent_id FROM users a JOIN persons p ON p.id = a.person_id \
                     JOIN places u ON u.id = p.unit_id WHERE a.username = 'jumin'",
                    &[],
                )?
                .i64(0);
            let r = c.query_one(
                "SELECT u.parent_id, u.stairwell_no FROM places u JOIN places b ON b.id = u.parent_id \
                 WHERE u.kind = 'unit' AND b.kind = 'building' AND b.path LIKE $1 AND b.id <> $2 \
                 AND u.stairwell_no IS NOT NULL \
                 GROUP BY u.parent_id, u.stairwell_no HAVING COUNT(*) BETWEEN 6 AND 40 \
                 ORDER BY u.parent_id, u.stairwell_no LIMIT 1",
                linli::params![format!("{community}/%"), jumin_building],
            )?;
            let (building, no) = (r.i64(0), r.i64(1));
            let units: Vec<i64> = c
                .query(
                    "SELECT id FROM places WHERE parent_id = $1 AND stairwell_no = $2 AND kind = 'unit' ORDER BY path",
                    linli::params![building, no],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect();
            for (i, u) in units.iter().enumerate() {
                let area = if i == 0 { 80.5 } else { 100.0 };
                c.exec("UPDATE places SET area_m2 = $1 WHERE id = $2", linli::params![area, *u])?;
                c.exec("DELETE FROM unit_owners WHERE unit_id = $1", linli::params![*u])?;
            }
            // Owners: persons of the street without an account, living anywhere.
            let need = units.len() - 1 + 1;
            let persons: Vec<(i64, i64)> = c
                .query(
                    "SELECT p.id, p.unit_id FROM persons p WHERE p.unit_id IS NOT NULL AND p.residence <> 'left' \
                     AND p.id NOT IN (SELECT person_id FROM users WHERE person_id IS NOT NULL) \
                     AND p.street_id = (SELECT street_id FROM places WHERE id = $1) ORDER BY p.id LIMIT $2",
                    linli::params![building, need as i64],
                )?
                .iter()
                .map(|r| (r.i64(0), r.i64(1)))
                .collect();
            let path = |c: &mut dyn linli::store::Conn, u: i64| -> linli::store::Result<(i64, String)> {
                let r = c.query_one("SELECT street_id, path FROM places WHERE id = $1", linli::params![u])?;
                Ok((r.i64(0), r.str(1)))
            };
            let own = |c: &mut dyn linli::store::Conn, u: i64, p: i64, share: f64| -> linli::store::Result<()> {
                let (street, path) = path(c, u)?;
                c.exec(
                    "INSERT INTO unit_owners (street_id, unit_id, place_path, person_id, share_pct, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 0)",
                    linli::params![street, u, path, p, share],
                )?;
                Ok(())
            };
            own(c, units[0], persons[0].0, 100.0)?;
            own(c, units[1], persons[0].0, 100.0)?;
            own(c, units[2], persons[1].0, 50.0)?;
            own(c, units[2], persons[2].0, 50.0)?;
            for i in 3..units.len() - 1 {
                own(c, units[i], persons[i].0, 100.0)?;
            }
            Ok((building, no, units, persons))
        })
        .await
        .unwrap();
    let usernames = accounts(app, &persons, "owner").await;
    Stairwell {
        building,
        no,
        units,
        persons: persons.iter().map(|p| p.0).collect(),
        usernames,
    }
}

async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
    lang: &str,
) -> (u16, Value) {
    let mut r = app
        .client()
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("Accept-Language", lang);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    send(app, token, reqwest::Method::POST, path, Some(body), "zh-CN").await
}

async fn create_vote(app: &TestApp, token: &str, body: Value) -> i64 {
    let (s, v) = post(app, token, "/api/v1/votes", body).await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_i64().unwrap()
}

/// A tiny PNG (1 × 1), a scan as far as the checks go.
fn png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(1, 1)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// Enters a paper ballot or a proxy's over the API.
#[allow(clippy::too_many_arguments)]
async fn enter(
    app: &TestApp,
    token: &str,
    vote: i64,
    channel: &str,
    elector: i64,
    choice: &str,
    cast_by: Option<i64>,
    proxy: Option<&str>,
    file: Option<Vec<u8>>,
    lang: &str,
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new()
        .text("channel", channel.to_string())
        .text("elector_id", elector.to_string())
        .text("choice", choice.to_string());
    if let Some(p) = cast_by {
        form = form.text("cast_by", p.to_string());
    }
    if let Some(p) = proxy {
        form = form.text("proxy_name", p.to_string());
    }
    if let Some(f) = file {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(f).file_name("scan.png"),
        );
    }
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/votes/{vote}/entered-ballots")))
        .bearer_auth(token)
        .header("Accept-Language", lang)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn elector_of(electors: &Value, person: i64) -> &Value {
    electors
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["persons"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p.as_i64() == Some(person))
        })
        .unwrap_or_else(|| panic!("an elector of person {person}: {electors}"))
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

// ---- the electorate ----------------------------------------------------------------------

#[tokio::test]
async fn the_electorate_is_taken_at_opening_by_the_interpretations_rules() {
    let app = support::spawn().await;
    let s = stairwell(&app).await;
    let shegong = app.token("shegong").await;
    let vote = create_vote(
        &app,
        &shegong,
        json!({"template": "elevator", "building_id": s.building, "stairwell_no": s.no}),
    )
    .await;
    let (st, v) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}"))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        v["vote"]["matter"], "item7",
        "a lift retrofit is art. 278 item 7"
    );
    assert_eq!(v["vote"]["scope_kind"], "stairwell");
    assert!(
        v["vote"]["title"].as_str().unwrap().contains("加装电梯"),
        "{v}"
    );
    assert!(
        v["vote"]["frozen_at"].is_i64(),
        "opened now, so taken now: {v}"
    );

    let (st, es) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/electors"))
        .await;
    assert_eq!(st, 200, "{es}");
    let list = es.as_array().unwrap();
    assert_eq!(list.len() as i64, s.heads(), "{es}");
    let a = elector_of(&es, s.persons[0]);
    assert_eq!(
        a["area_cm2"],
        805_000 + 1_000_000,
        "A counts once with both units"
    );
    assert_eq!(a["units"], 2);
    let bc = elector_of(&es, s.persons[1]);
    assert_eq!(
        bc["persons"].as_array().unwrap().len(),
        2,
        "co-owners are one elector"
    );
    assert!(
        bc["names"].as_str().unwrap().contains('*'),
        "names masked: {bc}"
    );
    let dev: Vec<&Value> = list.iter().filter(|e| e["developer"] == true).collect();
    assert_eq!(dev.len(), 1, "the unsold unit is one elector");
    assert_eq!(dev[0]["area_cm2"], 1_000_000);

    let (st, c) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/count"))
        .await;
    assert_eq!(st, 200, "{c}");
    assert_eq!(c["totals"]["heads"], s.heads());
    assert_eq!(c["totals"]["area_cm2"], s.area());
    assert_eq!(c["three_quarters"], true);

    // Someone who becomes an owner after the vote opened is not counted, and cannot vote.
    let newcomer = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT p.id, p.unit_id FROM persons p WHERE p.unit_id IS NOT NULL AND p.residence <> 'left' \
                 AND p.id NOT IN (SELECT person_id FROM users WHERE person_id IS NOT NULL) \
                 AND p.id NOT IN (SELECT person_id FROM unit_owners) ORDER BY p.id DESC LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap();
    let (np, nu) = (newcomer.i64(0), newcomer.i64(1));
    let last = *s.units.last().unwrap();
    app.exec(
        "INSERT INTO unit_owners (street_id, unit_id, place_path, person_id, share_pct, created_at) \
         SELECT street_id, id, path, $1, 100, 0 FROM places WHERE id = $2",
        &[np.into(), last.into()],
    )
    .await;
    let names = accounts(&app, &[(np, nu)], "newcomer").await;
    let newcomer = app.token(&names[0]).await;
    let (st, c2) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/count"))
        .await;
    assert_eq!(st, 200);
    assert_eq!(c2["totals"], c["totals"], "the electorate does not move");
    let (st, _) = app
        .get_json(&newcomer, &format!("/api/v1/votes/{vote}"))
        .await;
    assert_eq!(st, 404, "not in the electorate: no such vote for her");
    let (st, _) = post(
        &app,
        &newcomer,
        &format!("/api/v1/votes/{vote}/ballots"),
        json!({"choice": "for"}),
    )
    .await;
    assert_eq!(st, 404);

    // A vote that opens later takes its electorate when it opens: the newcomer is in it.
    let later = create_vote(
        &app,
        &shegong,
        json!({"title": "更换单元门禁", "matter": "item9", "scope": "stairwell", "building_id": s.building,
               "stairwell_no": s.no, "opens_at": linli::store::now_ms() + 3_600_000}),
    )
    .await;
    let (st, v) = app
        .get_json(&shegong, &format!("/api/v1/votes/{later}"))
        .await;
    assert_eq!(st, 200);
    assert!(
        v["vote"]["frozen_at"].is_null(),
        "not taken before opening: {v}"
    );
    let (st, v) = app
        .get_json(&newcomer, &format!("/api/v1/votes/{later}"))
        .await;
    assert_eq!(st, 200, "an owner sees a vote before it opens: {v}");
    let (st, e) = post(
        &app,
        &newcomer,
        &format!("/api/v1/votes/{later}/ballots"),
        json!({"choice": "for"}),
    )
    .await;
    assert_eq!(st, 409, "{e}");
    assert!(message(&e).contains("尚未开始"), "{e}");
    app.exec(
        "UPDATE votes SET opens_at = $1 WHERE id = $2",
        &[(linli::store::now_ms() - 1000).into(), later.into()],
    )
    .await;
    let (st, c3) = app
        .get_json(&shegong, &format!("/api/v1/votes/{later}/count"))
        .await;
    assert_eq!(st, 200);
    assert_eq!(
        c3["totals"]["heads"],
        s.heads(),
        "the developer's unit is now the newcomer's"
    );
    let (st, r) = post(
        &app,
        &newcomer,
        &format!("/api/v1/votes/{later}/ballots"),
        json!({"choice": "for"}),
    )
    .await;
    assert_eq!(st, 201, "{r}");
}

// ---- ballots -----------------------------------------------------------------------------

#[tokio::test]
async fn one_ballot_per_elector_across_channels_and_each_refusal_says_why() {
    let app = support::spawn().await;
    let s = stairwell(&app).await;
    let shegong = app.token("shegong").await;
    let vote = create_vote(
        &app,
        &shegong,
        json!({"title": "使用维修资金更换水泵", "matter": "item5", "scope": "stairwell",
               "building_id": s.building, "stairwell_no": s.no}),
    )
    .await;
    let (_, es) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/electors"))
        .await;
    let a = elector_of(&es, s.persons[0])["id"].as_i64().unwrap();
    let bc = elector_of(&es, s.persons[1])["id"].as_i64().unwrap();
    let d = elector_of(&es, s.persons[3])["id"].as_i64().unwrap();
    let e = elector_of(&es, s.persons[4])["id"].as_i64().unwrap();
    let dev = es
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["developer"] == true)
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    // A votes online; her second ballot is refused with where the first came from.
    let owner_a = app.token(&s.usernames[0]).await;
    let (st, r) = post(
        &app,
        &owner_a,
        &format!("/api/v1/votes/{vote}/ballots"),
        json!({"choice": "for"}),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(r["channel"], "online");
    let audit = app.last_audit_entry().await;
    assert!(
        audit["purpose"].as_str().unwrap().contains("ballot"),
        "{audit}"
    );
    assert!(
        audit["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == &json!(format!("person:{}", s.persons[0]))),
        "{audit}"
    );
    let (st, r) = post(
        &app,
        &owner_a,
        &format!("/api/v1/votes/{vote}/ballots"),
        json!({"choice": "against"}),
    )
    .await;
    assert_eq!(st, 409, "{r}");
    assert!(message(&r).contains("网上投票"), "{r}");
    // A paper ballot for the same elector: refused, in English too.
    let (st, r) = enter(
        &app,
        &shegong,
        vote,
        "paper",
        a,
        "against",
        None,
        None,
        Some(png()),
        "en",
    )
    .await;
    assert_eq!(st, 409, "{r}");
    assert!(
        message(&r).contains("already voted") && message(&r).contains("online ballot"),
        "{r}"
    );

    // Co-owners cast one ballot: B casts it, C is refused.
    let owner_b = app.token(&s.usernames[1]).await;
    let owner_c = app.token(&s.usernames[2]).await;
    let (st, r) = post(
        &app,
        &owner_b,
        &format!("/api/v1/votes/{vote}/ballots"),
        json!({"choice": "against"}),
    )
    .await;
    assert_eq!(st, 201, "{r}");
    let (st, r) = post(
        &app,
        &owner_c,
        &format!("/api/v1/votes/{vote}/ballots"),
        json!({"choice": "for"}),
    )
    .await;
    assert_eq!(st, 409, "{r}");
    let cast_by = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT cast_by FROM vote_participation WHERE elector_id = $1",
                linli::params![bc],
            )
        })
        .await
        .unwrap();
    assert_eq!(
        cast_by, s.persons[1],
        "the ballot records which co-owner cast it"
    );

    // A paper ballot for D, with its scan; a file that is no picture is refused.
    let (st, r) = enter(
        &app,
        &shegong,
        vote,
        "paper",
        d,
        "for",
        None,
        None,
        Some(b"not a scan".to_vec()),
        "zh-CN",
    )
    .await;
    assert_eq!(st, 422, "{r}");
    let (st, r) = enter(
        &app, &shegong, vote, "paper", d, "for", None, None, None, "zh-CN",
    )
    .await;
    assert_eq!(st, 422, "{r}");
    assert!(message(&r).contains("扫描件"), "{r}");
    let (st, r) = enter(
        &app,
        &shegong,
        vote,
        "paper",
        d,
        "for",
        None,
        None,
        Some(png()),
        "zh-CN",
    )
    .await;
    assert_eq!(st, 201, "{r}");
    // D then tries online: refused, the paper ballot stands.
    let owner_d = app.token(&s.usernames[3]).await;
    let (st, r) = post(
        &app,
        &owner_d,
        &format!("/api/v1/votes/{vote}/ballots"),
        json!({"choice": "against"}),
    )
    .await;
    assert_eq!(st, 409, "{r}");
    assert!(message(&r).contains("纸质票"), "{r}");

    // A proxy without evidence is refused; with the signed proxy (a PDF) it is taken.
    let (st, r) = enter(
        &app,
        &shegong,
        vote,
        "proxy",
        e,
        "for",
        None,
        Some("王受托"),
        None,
        "en",
    )
    .await;
    assert_eq!(st, 422, "{r}");
    assert!(message(&r).contains("proxy form as evidence"), "{r}");
    let (st, r) = enter(
        &app,
        &shegong,
        vote,
        "proxy",
        e,
        "for",
        None,
        Some("王受托"),
        Some(b"%PDF-1.4 signed".to_vec()),
        "zh-CN",
    )
    .await;
    assert_eq!(st, 201, "{r}");
    // The developer's elector votes on paper (no owner to name).
    let (st, r) = enter(
        &app,
        &shegong,
        vote,
        "paper",
        dev,
        "abstain",
        None,
        None,
        Some(png()),
        "zh-CN",
    )
    .await;
    assert_eq!(st, 201, "{r}");

    // Ballots are immutable, in the database too.
    let changed = app
        .db
        .write(|c| c.exec("UPDATE vote_participation SET channel = 'paper'", &[]))
        .await;
    assert!(changed.is_err(), "a ballot cannot be changed");

    // The tally: A for, B+C against, D for, E for, the developer abstains.
    let (_, c) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/count"))
        .await;
    assert_eq!(c["tally"]["for_heads"], 3, "{c}");
    assert_eq!(c["tally"]["against_heads"], 1);
    assert_eq!(c["tally"]["abstain_heads"], 1);
    assert_eq!(c["tally"]["for_area"], 1_805_000 + 2_000_000);

    // A resident who owns nothing here: 404. A ballot after closing: refused with the time.
    let jumin = app.token("jumin").await;
    let (st, _) = post(
        &app,
        &jumin,
        &format!("/api/v1/votes/{vote}/ballots"),
        json!({"choice": "for"}),
    )
    .await;
    assert_eq!(st, 404);
    app.exec(
        "UPDATE votes SET opens_at = $1 - 60000, closes_at = $1 WHERE id = $2",
        &[(linli::store::now_ms() - 1000).into(), vote.into()],
    )
    .await;
    let owner_f = app.token(&s.usernames[5]).await;
    let (st, r) = send(
        &app,
        &owner_f,
        reqwest::Method::POST,
        &format!("/api/v1/votes/{vote}/ballots"),
        Some(json!({"choice": "for"})),
        "en",
    )
    .await;
    assert_eq!(st, 409, "{r}");
    assert!(message(&r).contains("closed at"), "{r}");
    let (st, r) = enter(
        &app,
        &shegong,
        vote,
        "paper",
        elector_of(&es, s.persons[5])["id"].as_i64().unwrap(),
        "for",
        None,
        None,
        Some(png()),
        "zh-CN",
    )
    .await;
    assert_eq!(st, 409, "{r}");
    assert!(message(&r).contains("截止"), "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_ballots_of_one_elector_leave_exactly_one() {
    let app = support::spawn().await;
    let s = stairwell(&app).await;
    let shegong = app.token("shegong").await;
    let vote = create_vote(
        &app,
        &shegong,
        json!({"title": "选举业主委员会", "matter": "item3", "scope": "building", "building_id": s.building}),
    )
    .await;
    let (_, es) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/electors"))
        .await;
    let a = elector_of(&es, s.persons[0])["id"].as_i64().unwrap();
    let owner_a = app.token(&s.usernames[0]).await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (app, owner_a, shegong) = (app.clone(), owner_a.clone(), shegong.clone());
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                post(
                    &app,
                    &owner_a,
                    &format!("/api/v1/votes/{vote}/ballots"),
                    json!({"choice": "for"}),
                )
                .await
            } else {
                enter(
                    &app,
                    &shegong,
                    vote,
                    "paper",
                    a,
                    "against",
                    None,
                    None,
                    Some(png()),
                    "zh-CN",
                )
                .await
            }
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (st, r) = t.await.unwrap();
        match st {
            201 => ok += 1,
            409 => assert!(message(&r).contains("已经投过票"), "{r}"),
            other => panic!("{other}: {r}"),
        }
    }
    assert_eq!(ok, 1, "one ballot stands");
    let (rows, heads) = app
        .db
        .read(move |c| {
            Ok((
                c.query_i64("SELECT COUNT(*) FROM vote_participation WHERE vote_id = $1", linli::params![vote])?,
                c.query_i64("SELECT CAST(COALESCE(SUM(heads), 0) AS BIGINT) FROM vote_tally WHERE vote_id = $1", linli::params![vote])?,
            ))
        })
        .await
        .unwrap();
    assert_eq!((rows, heads), (1, 1));
}

#[tokio::test]
async fn a_secret_ballot_keeps_who_apart_from_how() {
    let app = support::spawn().await;
    let s = stairwell(&app).await;
    let shegong = app.token("shegong").await;
    let vote = create_vote(
        &app,
        &shegong,
        json!({"title": "解聘物业", "matter": "item4", "scope": "stairwell", "building_id": s.building,
               "stairwell_no": s.no, "secret": true}),
    )
    .await;
    for (i, choice) in [(0, "for"), (1, "against"), (3, "for")] {
        let t = app.token(&s.usernames[i]).await;
        let (st, r) = post(
            &app,
            &t,
            &format!("/api/v1/votes/{vote}/ballots"),
            json!({"choice": choice}),
        )
        .await;
        assert_eq!(st, 201, "{r}");
    }
    let (kept, tally_cols) = app
        .db
        .read(move |c| {
            Ok((
                c.query_i64("SELECT COUNT(*) FROM vote_participation WHERE vote_id = $1 AND choice IS NOT NULL", linli::params![vote])?,
                c.query_i64("SELECT COUNT(*) FROM vote_tally WHERE vote_id = $1", linli::params![vote])?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(kept, 0, "no choice is kept with who took part");
    assert_eq!(tally_cols, 2, "the tally holds counts per choice only");
    let audit = app.last_audit_entry().await;
    assert!(
        !audit["purpose"].as_str().unwrap().contains("for"),
        "the log says not how: {audit}"
    );
    let (_, es) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/electors"))
        .await;
    assert!(
        es.as_array()
            .unwrap()
            .iter()
            .all(|e| e["ballot"].get("choice").is_none()),
        "{es}"
    );
    app.exec(
        "UPDATE votes SET opens_at = $1 - 60000, closes_at = $1 WHERE id = $2",
        &[(linli::store::now_ms() - 1000).into(), vote.into()],
    )
    .await;
    let (st, c) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/count"))
        .await;
    assert_eq!(st, 200, "{c}");
    let roll = c["roll"].as_array().unwrap();
    assert_eq!(roll.len(), 3);
    assert!(
        roll.iter()
            .all(|r| r.get("choice").is_none() && r["names"].as_str().unwrap().contains('*')),
        "{c}"
    );
    assert_eq!(c["tally"]["for_heads"], 2);
    assert_eq!(
        c["outcome"]["quorum"], false,
        "3 of the stairwell's owners is short of 2/3"
    );
}

// ---- pages, workbook, templates, roles ----------------------------------------------------

#[tokio::test]
async fn the_count_page_shows_the_four_figures_and_the_workbook_downloads() {
    let app = support::spawn().await;
    let s = stairwell(&app).await;
    let shegong = app.token("shegong").await;
    let vote = create_vote(
        &app,
        &shegong,
        json!({"template": "elevator", "building_id": s.building, "stairwell_no": s.no}),
    )
    .await;
    for i in [0usize, 1, 3, 4] {
        let t = app.token(&s.usernames[i]).await;
        let (st, r) = post(
            &app,
            &t,
            &format!("/api/v1/votes/{vote}/ballots"),
            json!({"choice": "for"}),
        )
        .await;
        assert_eq!(st, 201, "{r}");
    }
    app.exec(
        "UPDATE votes SET opens_at = $1 - 60000, closes_at = $1 WHERE id = $2",
        &[(linli::store::now_ms() - 1000).into(), vote.into()],
    )
    .await;
    let (b, _) = app.login_page("shegong", PASSWORD).await;
    let page = app.page(&b, &format!("/votes/{vote}/count")).await;
    for id in [
        "fig-area-part",
        "fig-heads-part",
        "fig-area-for",
        "fig-heads-for",
        "abstain-note",
        "count-basis",
        "roll-table",
    ] {
        assert!(
            page.contains(&format!("id=\"{id}\"")),
            "{id} on the count page"
        );
    }
    assert!(
        page.contains("三分之二以上") && page.contains("四分之三以上"),
        "thresholds shown"
    );
    assert!(page.contains("第二百七十八条"), "the legal basis");
    assert!(page.contains("*"), "names masked on the roll");
    let r = b
        .get(app.url(&format!("/votes/{vote}/count.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX workbook");
    let list = app.page(&b, "/votes").await;
    assert!(
        list.contains(&format!("id=\"vote-{vote}\"")),
        "listed for the worker"
    );
    let form = app.page(&b, "/votes/new?template=property").await;
    assert!(
        form.contains("id=\"vote-estate\""),
        "the property template asks for an estate"
    );
}

#[tokio::test]
async fn templates_set_the_matter_and_scope() {
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let estate = app
        .db
        .read(|c| {
            c.query_one(
                "SELECT estate FROM places WHERE kind = 'building' AND estate IS NOT NULL AND estate <> '' ORDER BY path LIMIT 1",
                &[],
            )
        })
        .await
        .unwrap()
        .str(0);
    let (st, v) = post(
        &app,
        &admin,
        "/api/v1/votes",
        json!({"template": "property", "estate": estate}),
    )
    .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["matter"], "item4");
    assert_eq!(v["scope_kind"], "estate");
    assert!(v["title"].as_str().unwrap().contains(&estate), "{v}");
    let (st, v) = post(
        &app,
        &admin,
        "/api/v1/votes",
        json!({"template": "elevator", "scope": "estate", "estate": estate}),
    )
    .await;
    assert_eq!(st, 422, "a lift retrofit is a stairwell's: {v}");
    let (st, v) = post(
        &app,
        &admin,
        "/api/v1/votes",
        json!({"title": "x", "matter": "item10", "scope": "building"}),
    )
    .await;
    assert_eq!(st, 422, "{v}");
}

#[tokio::test]
async fn other_roles_and_places_get_403_or_404() {
    let app = support::spawn().await;
    let s = stairwell(&app).await;
    let shegong = app.token("shegong").await;
    let body = json!({"title": "改变共有部分用途", "matter": "item8", "scope": "stairwell", "building_id": s.building, "stairwell_no": s.no});
    let vote = create_vote(&app, &shegong, body.clone()).await;
    let (_, es) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/electors"))
        .await;
    let a = elector_of(&es, s.persons[0])["id"].as_i64().unwrap();
    for who in ["bumen", "wuye", "zhiyuan", "jumin"] {
        let t = app.token(who).await;
        let (st, _) = post(&app, &t, "/api/v1/votes", body.clone()).await;
        assert!(st == 403 || st == 404, "{who} calls no vote: {st}");
        for path in ["", "/electors", "/count", "/count.xlsx"] {
            let (st, _) = app
                .get_json(&t, &format!("/api/v1/votes/{vote}{path}"))
                .await;
            assert_eq!(st, 404, "{who} {path}");
        }
        let (st, _) = enter(
            &app,
            &t,
            vote,
            "paper",
            a,
            "for",
            None,
            None,
            Some(png()),
            "zh-CN",
        )
        .await;
        assert_eq!(st, 404, "{who} enters nothing");
    }
    // The grid worker reads the votes of her grid but neither calls one nor enters ballots.
    let wangge = app.token("wangge").await;
    let (st, _) = post(&app, &wangge, "/api/v1/votes", body.clone()).await;
    assert!(st == 403 || st == 404, "{st}");
    // An owner reads her vote but does not see the electorate or enter ballots.
    let owner = app.token(&s.usernames[0]).await;
    let (st, _) = app.get_json(&owner, &format!("/api/v1/votes/{vote}")).await;
    assert_eq!(st, 200);
    let (st, _) = app
        .get_json(&owner, &format!("/api/v1/votes/{vote}/electors"))
        .await;
    assert_eq!(st, 403);
    let (st, _) = enter(
        &app,
        &owner,
        vote,
        "paper",
        a,
        "for",
        None,
        None,
        Some(png()),
        "zh-CN",
    )
    .await;
    assert_eq!(st, 403);
    let (st, _) = app.get_json(&owner, "/api/v1/votes").await;
    assert_eq!(st, 200);
    // Pages: an outsider resident gets 404 for the vote page.
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let r = b
        .get(app.url(&format!("/votes/{vote}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = b
        .get(app.url(&format!("/votes/{vote}/enter")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = b.get(app.url("/votes/new")).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn the_demo_resident_has_a_lift_vote_waiting_and_casts_it_on_the_page() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let (st, v) = app.get_json(&jumin, "/api/v1/votes").await;
    assert_eq!(st, 200, "{v}");
    let open: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["phase"] == "open" && x["matter"] == "item7" && x["voted"] == false)
        .collect();
    assert_eq!(open.len(), 1, "one lift retrofit waits for her: {v}");
    let id = open[0]["id"].as_i64().unwrap();
    let (b, _) = app.login_page("jumin", PASSWORD).await;
    let list = app.page(&b, "/votes").await;
    assert!(list.contains(&format!("id=\"to-vote-{id}\"")), "{list}");
    let page = app.page(&b, &format!("/votes/{id}")).await;
    assert!(page.contains("加装电梯"), "{page}");
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let elector = support::extract_input(&page, "elector_id").unwrap();
    let r = b
        .post(app.url(&format!("/votes/{id}/ballot")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("elector_id", elector.as_str()),
            ("choice", "for"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "redirected to the vote");
    let page = app.page(&b, &format!("/votes/{id}?done=1")).await;
    assert!(
        page.contains("id=\"ballot-done\"") && page.contains(&format!("id=\"voted-{elector}\"")),
        "{page}"
    );
    let r = b
        .post(app.url(&format!("/votes/{id}/ballot")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("elector_id", elector.as_str()),
            ("choice", "against"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("id=\"ballot-error\""));
}

#[tokio::test]
async fn a_worker_enters_a_paper_ballot_on_the_page() {
    let app = support::spawn().await;
    let s = stairwell(&app).await;
    let shegong = app.token("shegong").await;
    let vote = create_vote(
        &app,
        &shegong,
        json!({"template": "elevator", "building_id": s.building, "stairwell_no": s.no}),
    )
    .await;
    let (_, es) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/electors"))
        .await;
    let bc = elector_of(&es, s.persons[1]);
    let (b, _) = app.login_page("shegong", PASSWORD).await;
    let page = app.page(&b, &format!("/votes/{vote}/enter")).await;
    assert!(page.contains("id=\"enter-form\""), "{page}");
    assert!(page.contains('*'), "names masked");
    let csrf = support::extract_input(&page, "csrf").unwrap();
    let form = |cast_by: Option<i64>| {
        let mut f = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("channel", "paper")
            .text("elector_id", bc["id"].to_string())
            .text("choice", "for")
            .part(
                "file",
                reqwest::multipart::Part::bytes(png()).file_name("scan.png"),
            );
        if let Some(p) = cast_by {
            f = f.text("cast_by", p.to_string());
        }
        f
    };
    // Two co-owners: the form must say which one voted.
    let r = b
        .post(app.url(&format!("/votes/{vote}/enter")))
        .multipart(form(None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"enter-error\""));
    let r = b
        .post(app.url(&format!("/votes/{vote}/enter")))
        .multipart(form(Some(s.persons[2])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = app.page(&b, &format!("/votes/{vote}/enter?done=1")).await;
    assert!(page.contains("id=\"enter-done\""), "{page}");
    let (cast_by, evidence) = app
        .db
        .read(move |c| {
            let r = c.query_one(
                "SELECT cast_by, evidence FROM vote_participation WHERE vote_id = $1",
                linli::params![vote],
            )?;
            Ok((r.i64(0), r.str(1)))
        })
        .await
        .unwrap();
    assert_eq!(cast_by, s.persons[2], "the co-owner named is recorded");
    let kept = std::fs::read(app.state.cfg.data_dir.join(&evidence)).unwrap();
    assert!(
        kept.starts_with(&[0x89, b'P', b'N', b'G']),
        "the scan is kept"
    );
    // The worker sees the scan again; the look is audited. Others do not.
    let page = app.page(&b, &format!("/votes/{vote}/enter")).await;
    let link = format!("/votes/{vote}/evidence/{}", bc["id"]);
    assert!(page.contains(&link), "{page}");
    let r = b.get(app.url(&link)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "read", "{e}");
    assert!(
        e["subjects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == &json!(format!("person:{}", s.persons[1]))),
        "{e}"
    );
    for (who, status) in [("wangge", 403), ("jumin", 404), ("bumen", 404)] {
        let (other, _) = app.login_page(who, PASSWORD).await;
        let r = other.get(app.url(&link)).send().await.unwrap();
        assert_eq!(r.status(), status, "{who}");
    }
}

/// The unique key itself, without the service's first look: concurrent inserts of one
/// elector's ballot leave one, the others refused as conflicts (on both backends).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_unique_key_refuses_a_second_ballot_under_concurrent_writes() {
    let app = support::spawn().await;
    let s = stairwell(&app).await;
    let shegong = app.token("shegong").await;
    let vote = create_vote(
        &app,
        &shegong,
        json!({"title": "修改管理规约", "matter": "item2", "scope": "stairwell", "building_id": s.building, "stairwell_no": s.no}),
    )
    .await;
    let (_, es) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/electors"))
        .await;
    let a = elector_of(&es, s.persons[0]).clone();
    let user = app
        .query_i64("SELECT id FROM users WHERE username = 'shegong'")
        .await;
    let v = app
        .db
        .read(move |c| linli::votes::store::get(c, vote))
        .await
        .unwrap()
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (db, v, area, id) = (
            app.db.clone(),
            v.clone(),
            a["area_cm2"].as_i64().unwrap(),
            a["id"].as_i64().unwrap(),
        );
        tasks.push(tokio::spawn(async move {
            db.write(move |c| {
                linli::votes::store::record(
                    c,
                    &linli::votes::store::NewBallot {
                        vote: &v,
                        elector_id: id,
                        area_cm2: area,
                        channel: linli::votes::Channel::Paper,
                        cast_by: None,
                        proxy_name: None,
                        entered_by: user,
                        evidence: None,
                        choice: if i % 2 == 0 {
                            linli::votes::Choice::For
                        } else {
                            linli::votes::Choice::Against
                        },
                        at: linli::store::now_ms(),
                    },
                )
            })
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(linli::store::StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(ok, 1);
    let (_, c) = app
        .get_json(&shegong, &format!("/api/v1/votes/{vote}/count"))
        .await;
    assert_eq!(
        c["tally"]["for_heads"].as_i64().unwrap() + c["tally"]["against_heads"].as_i64().unwrap(),
        1,
        "the tally counts the one ballot: {c}"
    );
}
