use super::*;
use crate::registry::idnum::age_between;
use std::collections::HashMap;
use std::time::Instant;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
}

fn ring_of(geojson: &str) -> Vec<Pt> {
    let v: serde_json::Value = serde_json::from_str(geojson).expect("valid JSON");
    assert_eq!(v["type"], "Polygon");
    let rings = v["coordinates"].as_array().unwrap();
    assert_eq!(rings.len(), 1);
    rings[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()])
        .collect()
}

fn signed_area(r: &[Pt]) -> f64 {
    r.windows(2)
        .map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1])
        .sum::<f64>()
        / 2.0
}

fn segments_cross(a: Pt, b: Pt, c: Pt, d: Pt) -> bool {
    let o = |p: Pt, q: Pt, r: Pt| (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]);
    let (d1, d2, d3, d4) = (o(a, b, c), o(a, b, d), o(c, d, a), o(c, d, b));
    d1 * d2 < 0.0 && d3 * d4 < 0.0
}

fn point_in(r: &[Pt], p: Pt) -> bool {
    let mut inside = false;
    for w in r.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

fn check_ring(r: &[Pt]) {
    assert!(r.len() >= 4);
    assert_eq!(r.first(), r.last(), "ring not closed");
    assert!(signed_area(r) > 0.0, "ring not counter-clockwise");
    for p in r {
        assert!((LON0 - 1e-9..=LON1 + 1e-9).contains(&p[0]), "lon {p:?}");
        assert!((LAT0 - 1e-9..=LAT1 + 1e-9).contains(&p[1]), "lat {p:?}");
        assert_eq!(r6(p[0]), p[0]);
        assert_eq!(r6(p[1]), p[1]);
    }
    let n = r.len() - 1;
    for i in 0..n {
        for j in i + 2..n {
            if i == 0 && j == n - 1 {
                continue;
            }
            assert!(
                !segments_cross(r[i], r[i + 1], r[j], r[j + 1]),
                "self-intersecting ring"
            );
        }
    }
}

type Edge = ((i64, i64), (i64, i64));

/// Undirected edges of a ring, with coordinates as exact integers.
fn edges(r: &[Pt]) -> Vec<Edge> {
    let k = |p: Pt| ((p[0] * 1e6).round() as i64, (p[1] * 1e6).round() as i64);
    r.windows(2)
        .map(|w| {
            let (a, b) = (k(w[0]), k(w[1]));
            if a < b { (a, b) } else { (b, a) }
        })
        .collect()
}

fn check_street(d: &StreetData, size: DemoSize, street_no: usize) {
    let t = today();
    let places = &d.places;
    for (i, p) in places.iter().enumerate() {
        assert_eq!(p.idx, i);
        if let Some(par) = p.parent {
            assert!(par < i, "parents come first");
        }
        assert!(
            p.code
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-'),
            "code {:?}",
            p.code
        );
    }
    assert_eq!(places[0].kind, PlaceKind::Street);
    assert_eq!(places[0].parent, None);
    assert!(places[0].code.starts_with("310115") && places[0].code.len() == 9);
    check_ring(&ring_of(places[0].geojson.as_deref().unwrap()));

    // sibling codes unique
    let mut sib: HashSet<(Option<usize>, &str)> = HashSet::new();
    for p in places {
        assert!(sib.insert((p.parent, &p.code)), "duplicate code {}", p.code);
    }

    let count = |k: PlaceKind| places.iter().filter(|p| p.kind == k).count();
    assert_eq!(count(PlaceKind::Community), size.communities());
    assert_eq!(
        count(PlaceKind::Grid),
        size.communities() * size.grids_per_community()
    );

    // polygons: valid rings, grids tile their community (shared edges
    // appear exactly twice, outer edges once and on the community ring)
    let mut grid_rings: HashMap<usize, Vec<Pt>> = HashMap::new();
    let mut grid_edges: HashMap<usize, HashMap<Edge, u32>> = HashMap::new();
    for p in places {
        match p.kind {
            PlaceKind::Community => {
                check_ring(&ring_of(p.geojson.as_deref().unwrap()));
                assert!(p.name.ends_with("社区"));
            }
            PlaceKind::Grid => {
                let r = ring_of(p.geojson.as_deref().unwrap());
                check_ring(&r);
                let par = p.parent.unwrap();
                assert_eq!(places[par].kind, PlaceKind::Community);
                assert!(p.name.contains("网格"));
                let e = grid_edges.entry(par).or_default();
                for x in edges(&r) {
                    *e.entry(x).or_default() += 1;
                }
                grid_rings.insert(p.idx, r);
            }
            _ => {}
        }
    }
    for (c, e) in &grid_edges {
        let outer: HashSet<_> = edges(&ring_of(places[*c].geojson.as_deref().unwrap()))
            .into_iter()
            .collect();
        for (edge, n) in e {
            if *n == 1 {
                assert!(outer.contains(edge), "gap between grids");
            } else {
                assert_eq!(*n, 2);
                assert!(!outer.contains(edge));
            }
        }
        for edge in &outer {
            assert_eq!(e.get(edge), Some(&1), "community edge not covered");
        }
    }

    // buildings and units
    let mut units_by_use: HashMap<&str, usize> = HashMap::new();
    let mut units = 0usize;
    for p in places {
        match p.kind {
            PlaceKind::Building => {
                let g = p.parent.unwrap();
                assert_eq!(places[g].kind, PlaceKind::Grid);
                let v: serde_json::Value =
                    serde_json::from_str(p.geojson.as_deref().unwrap()).unwrap();
                assert_eq!(v["type"], "Point");
                let pt = [
                    v["coordinates"][0].as_f64().unwrap(),
                    v["coordinates"][1].as_f64().unwrap(),
                ];
                assert!(point_in(&grid_rings[&g], pt), "building outside its grid");
                let floors = p.floors.unwrap();
                assert!(floors == 5 || floors == 6 || floors == 7 || (11..=18).contains(&floors));
                assert!((1..=3).contains(&p.stairwells.unwrap()));
                assert!(p.estate.is_some());
                let a = p.address.as_deref().unwrap();
                assert!(
                    a.contains("路") && a.contains("弄") && a.ends_with('号'),
                    "{a}"
                );
                assert_eq!(a, p.name);
            }
            PlaceKind::Unit => {
                units += 1;
                let b = p.parent.unwrap();
                assert_eq!(places[b].kind, PlaceKind::Building);
                assert_eq!(places[places[b].parent.unwrap()].kind, PlaceKind::Grid);
                let area = p.area_m2.unwrap();
                assert!((35.0..=140.0).contains(&area));
                assert_eq!((area * 10.0).round() / 10.0, area);
                let f = p.floor_no.unwrap();
                assert!(f >= 1 && f <= places[b].floors.unwrap());
                let s = p.stairwell_no.unwrap();
                assert!(s >= 1 && s <= places[b].stairwells.unwrap());
                assert!(p.code.starts_with(&format!("{s}-{f}")));
                assert_eq!(
                    p.address.as_deref().unwrap(),
                    format!("{}{}", places[b].address.as_deref().unwrap(), p.name)
                );
                let u = p.unit_use.unwrap();
                if u == UnitUse::Commercial {
                    assert_eq!(f, 1);
                }
                *units_by_use.entry(u.as_str()).or_default() += 1;
            }
            _ => {}
        }
    }
    let share = |k: &str| *units_by_use.get(k).unwrap_or(&0) as f64 / units as f64;
    assert!((0.05..0.11).contains(&share("vacant")), "{units_by_use:?}");
    assert!((0.11..0.19).contains(&share("rented")), "{units_by_use:?}");
    assert!(
        (0.003..0.06).contains(&share("commercial")),
        "{units_by_use:?}"
    );

    // households
    for (i, h) in d.households.iter().enumerate() {
        assert_eq!(h.idx, i);
        let u = &places[h.unit];
        assert_eq!(u.kind, PlaceKind::Unit);
        assert!(matches!(
            u.unit_use,
            Some(UnitUse::SelfOccupied | UnitUse::Rented)
        ));
        assert_eq!(d.persons[h.head].household, i);
        assert_eq!(d.persons[h.head].relation, "head");
        assert_eq!(d.persons[h.head].hukou_registered, h.registered);
    }
    let occupied = units_by_use["self_occupied"] + units_by_use["rented"];
    assert_eq!(
        d.households.len(),
        occupied,
        "one household per occupied unit"
    );

    // persons
    let mut ids = HashSet::new();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); d.households.len()];
    let (mut old, mut minors, mut adults, mut party, mut ea, mut dis, mut vol) =
        (0, 0, 0, 0, 0, 0, 0);
    for (i, p) in d.persons.iter().enumerate() {
        assert_eq!(p.idx, i);
        members[p.household].push(i);
        let parsed = IdNumber::parse_on(p.id_number.as_str(), t).expect("valid ID");
        assert_eq!(parsed, p.id_number);
        assert!(ids.insert(p.id_number.as_str().to_string()), "duplicate ID");
        assert_eq!(p.id_number.birth_date(), p.birth_date);
        assert_eq!(p.id_number.sex(), p.sex);
        assert!(p.birth_date <= t);
        let nch = p.name.chars().count();
        assert!((2..=4).contains(&nch), "{}", p.name);
        if let Some(ph) = &p.phone {
            assert_eq!(ph.len(), 11);
            assert!(ph.starts_with('1'));
            crate::registry::idnum::Phone::parse(ph).unwrap();
        }
        if p.hukou_registered {
            assert!(p.id_number.region().starts_with("31"));
        }
        let age = p.id_number.age_on(t);
        if age >= 60 {
            old += 1;
        }
        if age < 18 {
            minors += 1;
        } else {
            adults += 1;
            if p.tags.contains(&"party_member") {
                party += 1;
            }
        }
        if p.tags.contains(&"elderly_alone") {
            ea += 1;
            assert!(age >= 65);
        }
        if p.tags.contains(&"disabled") {
            dis += 1;
        }
        if p.tags.contains(&"volunteer") {
            vol += 1;
        }
        let renter = p.tags.contains(&"renter");
        let rented = places[d.households[p.household].unit].unit_use == Some(UnitUse::Rented);
        assert_eq!(renter, rented);
        assert!(["permanent", "temporary", "left"].contains(&p.residence));
        assert!(
            [
                "both",
                "registered_elsewhere_lives_here",
                "registered_here_lives_elsewhere"
            ]
            .contains(&p.presence)
        );
    }
    for (h, ms) in members.iter().enumerate() {
        assert!((1..=5).contains(&ms.len()), "household size {}", ms.len());
        assert_eq!(ms[0], d.households[h].head);
        let head = &d.persons[ms[0]];
        let ha = age_between(head.birth_date, t) as i64;
        for &m in &ms[1..] {
            let p = &d.persons[m];
            let a = age_between(p.birth_date, t) as i64;
            match p.relation {
                "child" => assert!((20..=40).contains(&(ha - a)), "child gap {}", ha - a),
                "parent" => assert!((18..=45).contains(&(a - ha)), "parent gap {}", a - ha),
                "grandchild" => assert!(ha - a >= 40, "grandchild gap {}", ha - a),
                "spouse" => {
                    assert!((ha - a).abs() <= 8);
                    assert_ne!(p.sex, head.sex);
                }
                "sibling" | "other" | "tenant" => {}
                r => panic!("unexpected relation {r}"),
            }
        }
        if ms.len() == 1 && age_between(head.birth_date, t) >= 65 {
            assert!(head.tags.contains(&"elderly_alone"));
        }
    }
    let n = d.persons.len() as f64;
    let old_share = old as f64 / n;
    eprintln!(
        "street {street_no} ({}): {} persons, {} households (avg {:.2}), {} buildings, {} units {:?}; \
         60+ {:.1}%, <18 {:.1}%, elderly alone {:.1}% of 60+, disabled {:.1}%, \
         party {:.1}% of adults, volunteers {:.1}%",
        size.as_str(),
        d.persons.len(),
        d.households.len(),
        n / d.households.len() as f64,
        count(PlaceKind::Building),
        units,
        units_by_use,
        old_share * 100.0,
        minors as f64 / n * 100.0,
        ea as f64 / old as f64 * 100.0,
        dis as f64 / n * 100.0,
        party as f64 / adults as f64 * 100.0,
        vol as f64 / n * 100.0,
    );
    assert!((0.28..=0.38).contains(&old_share), "60+ share {old_share}");
    let minor_share = minors as f64 / n;
    assert!(
        (0.06..=0.14).contains(&minor_share),
        "minor share {minor_share}"
    );
    let ea_share = ea as f64 / old as f64;
    assert!(
        (0.02..=0.12).contains(&ea_share),
        "elderly alone {ea_share}"
    );

    // organisations
    let kinds: Vec<&str> = d.orgs.iter().map(|o| o.kind).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "department").count(), 7);
    let nprop = kinds.iter().filter(|k| **k == "property").count();
    assert!((2..=4).contains(&nprop));
    let nsoc = kinds.iter().filter(|k| **k == "social").count();
    assert!((1..=2).contains(&nsoc));
    let mut served = HashSet::new();
    for o in &d.orgs {
        assert!(!o.serves.is_empty());
        for &s in &o.serves {
            assert!(matches!(
                places[s].kind,
                PlaceKind::Street | PlaceKind::Community
            ));
            if o.kind == "property" {
                served.insert(s);
            }
        }
    }
    assert_eq!(
        served.len(),
        size.communities(),
        "every community has property management"
    );
    let codes: HashSet<_> = d.orgs.iter().map(|o| o.code.as_str()).collect();
    assert_eq!(codes.len(), d.orgs.len());
}

#[test]
fn demo_size_parse() {
    for s in [DemoSize::Small, DemoSize::Street, DemoSize::District] {
        assert_eq!(DemoSize::parse(s.as_str()), Some(s));
    }
    assert_eq!(DemoSize::parse(" Street "), Some(DemoSize::Street));
    assert_eq!(DemoSize::parse("huge"), None);
    assert_eq!(DemoSize::District.streets(), 30);
    assert_eq!(DemoSize::Small.streets(), 1);
    assert_eq!(PlaceKind::Unit.as_str(), "unit");
    assert_eq!(UnitUse::SelfOccupied.as_str(), "self_occupied");
}

#[test]
fn grid_cell_layout() {
    assert_eq!(
        grid_cells(5, 3, 2),
        vec![(0, 1, 0), (1, 2, 0), (2, 3, 0), (0, 1, 1), (1, 3, 1)]
    );
    assert_eq!(grid_cells(2, 2, 1), vec![(0, 1, 0), (1, 2, 0)]);
}

#[test]
fn district_polygon() {
    let d = district(7);
    assert_eq!(d.code, "310115");
    assert_eq!(d.name, "浦东新区");
    assert_eq!(d.kind, PlaceKind::District);
    let r = ring_of(d.geojson.as_deref().unwrap());
    check_ring(&r);
    assert_eq!(district(7).geojson, d.geojson);
}

#[test]
fn small_street() {
    let t0 = Instant::now();
    let d = street(42, DemoSize::Small, 0, today());
    eprintln!("small generated in {:?}", t0.elapsed());
    assert!(
        (1_700..=2_300).contains(&d.persons.len()),
        "{}",
        d.persons.len()
    );
    check_street(&d, DemoSize::Small, 0);
    assert_eq!(d.places[0].name, "潍坊新村街道");
    assert_eq!(d.places[0].code, "310115004");
}

#[test]
fn street_size_and_determinism() {
    let t0 = Instant::now();
    let a = street(42, DemoSize::Street, 0, today());
    eprintln!("street generated in {:?}", t0.elapsed());
    assert!(
        (36_000..=44_000).contains(&a.persons.len()),
        "{}",
        a.persons.len()
    );
    check_street(&a, DemoSize::Street, 0);

    let b = street(42, DemoSize::Street, 0, today());
    assert_eq!(a.places.len(), b.places.len());
    assert_eq!(a.persons.len(), b.persons.len());
    assert_eq!(a.households.len(), b.households.len());
    for i in (0..a.persons.len()).step_by(97) {
        assert_eq!(a.persons[i].name, b.persons[i].name);
        assert_eq!(a.persons[i].id_number, b.persons[i].id_number);
        assert_eq!(a.persons[i].phone, b.persons[i].phone);
        assert_eq!(a.persons[i].tags, b.persons[i].tags);
    }
    for i in (0..a.places.len()).step_by(53) {
        assert_eq!(a.places[i].code, b.places[i].code);
        assert_eq!(a.places[i].name, b.places[i].name);
        assert_eq!(a.places[i].geojson, b.places[i].geojson);
        assert_eq!(a.places[i].address, b.places[i].address);
    }
    assert_eq!(
        a.orgs.iter().map(|o| &o.name).collect::<Vec<_>>(),
        b.orgs.iter().map(|o| &o.name).collect::<Vec<_>>()
    );
    let c = street(43, DemoSize::Street, 0, today());
    assert_ne!(a.persons[0].id_number, c.persons[0].id_number);
}

#[test]
fn district_streets_are_distinct() {
    // two streets of the district: distinct cells, names, codes and IDs
    let t = today();
    let a = street(9, DemoSize::District, 0, t);
    let b = street(9, DemoSize::District, 29, t);
    assert_ne!(a.places[0].code, b.places[0].code);
    assert_ne!(a.places[0].name, b.places[0].name);
    let ids: HashSet<&str> = a.persons.iter().map(|p| p.id_number.as_str()).collect();
    assert!(
        b.persons
            .iter()
            .all(|p| !ids.contains(p.id_number.as_str()))
    );
    let phones: HashSet<&str> = a
        .persons
        .iter()
        .filter_map(|p| p.phone.as_deref())
        .collect();
    assert!(
        b.persons
            .iter()
            .filter_map(|p| p.phone.as_deref())
            .all(|ph| !phones.contains(ph))
    );
    let orgs: HashSet<&str> = a.orgs.iter().map(|o| o.code.as_str()).collect();
    assert!(b.orgs.iter().all(|o| !orgs.contains(o.code.as_str())));
    let names: HashSet<&str> = a.orgs.iter().map(|o| o.name.as_str()).collect();
    assert!(b.orgs.iter().all(|o| !names.contains(o.name.as_str())));
    // the street cells are different parts of the district
    let ra = ring_of(a.places[0].geojson.as_deref().unwrap());
    let rb = ring_of(b.places[0].geojson.as_deref().unwrap());
    assert!(ra.iter().all(|p| !point_in(&rb, *p)));
    check_street(&b, DemoSize::District, 29);
}
