//! One street: communities, grids, buildings, units, households and organisations.

use super::*;

/// Generate one street (`street_no` in `0..size.streets()`), with ages
/// computed relative to `today`.
///
/// # Panics
/// If `street_no >= size.streets()`.
pub fn street(seed: u64, size: DemoSize, street_no: usize, today: NaiveDate) -> StreetData {
    assert!(
        street_no < size.streets(),
        "street_no {street_no} out of range for size {}",
        size.as_str()
    );
    let rng = StdRng::seed_from_u64(seed ^ splitmix(0x5743_0000 + street_no as u64));
    let g = Gen {
        rng,
        today,
        street_no,
        streets_total: size.streets(),
        ids: HashSet::with_capacity(size.residents() * 5 / 4),
        phones: HashSet::with_capacity(size.residents() * 5 / 4),
        surname_sh: WeightedIndex::new(names::SURNAMES.iter().map(|s| s.2)).expect("weights"),
        surname_cn: WeightedIndex::new(names::SURNAMES.iter().map(|s| s.1)).expect("weights"),
        region_sh: weights(names::SHANGHAI_REGIONS),
        region_other: weights(names::OTHER_REGIONS),
        mobile: weights(names::MOBILE_PREFIXES),
        places: Vec::with_capacity(size.residents() / 2 + 1000),
        households: Vec::with_capacity(size.residents() / 2),
        persons: Vec::with_capacity(size.residents() * 11 / 10),
    };
    let mut sb = StreetBuilder {
        g,
        roads: Vec::new(),
        lanes: Vec::new(),
        estate_names: HashSet::new(),
        building_no: 0,
    };

    // --- street cell and lattice -----------------------------------------
    let dl = district_lattice(seed);
    let (ci, cj) = (street_no % DISTRICT_COLS, street_no / DISTRICT_COLS);
    let quad = [
        dl.get(ci, cj),
        dl.get(ci + 1, cj),
        dl.get(ci, cj + 1),
        dl.get(ci + 1, cj + 1),
    ];
    let (ccols, crows, gcols, grows) = size.layout();
    let nu = ccols * gcols * SUB;
    let nv = crows * grows * SUB;
    let lat = street_lattice(&mut sb.g.rng, quad, nu, nv);

    let (street_name, street_code) = street_name_code(street_no);
    let mut st = PlaceSeed::new(
        0,
        None,
        PlaceKind::Street,
        street_code.clone(),
        street_name.clone(),
    );
    st.geojson = Some(polygon_json(&lat.ring(0, nu, 0, nv)));
    sb.g.places.push(st);

    // roads for this street, each with a running lane (弄) number
    let mut roads: Vec<&'static str> = names::ROADS.to_vec();
    roads.shuffle(&mut sb.g.rng);
    roads.truncate(if size == DemoSize::Small { 4 } else { 12 });
    sb.lanes = roads.iter().map(|_| sb.g.rng.gen_range(10..=200)).collect();
    sb.roads = roads;

    let mut stems: Vec<&'static str> = names::COMMUNITY_STEMS.to_vec();
    stems.shuffle(&mut sb.g.rng);

    let ncom = size.communities();
    let ngrid = size.grids_per_community();
    let per_grid = size.residents() as f64 / (ncom * ngrid) as f64;
    let cells = grid_cells(ngrid, gcols, grows);
    let mut communities = Vec::with_capacity(ncom);
    for c in 0..ncom {
        // communities row-major from the north-west corner
        let (cc, cr) = (c % ccols, c / ccols);
        let ci0 = cc * gcols * SUB;
        let ci1 = ci0 + gcols * SUB;
        let cj1 = nv - cr * grows * SUB;
        let cj0 = cj1 - grows * SUB;
        let stem = stems[c % stems.len()];
        let cname = if c < stems.len() {
            format!("{stem}社区")
        } else {
            format!("{stem}{}社区", c / stems.len() + 1)
        };
        let cidx = sb.g.places.len();
        let mut cp = PlaceSeed::new(
            cidx,
            Some(0),
            PlaceKind::Community,
            format!("c{:02}", c + 1),
            cname.clone(),
        );
        cp.geojson = Some(polygon_json(&lat.ring(ci0, ci1, cj0, cj1)));
        sb.g.places.push(cp);
        communities.push(cidx);
        let gstem = cname.trim_end_matches("社区").to_string();

        for (k, &(c0, c1, r)) in cells.iter().enumerate() {
            let gi0 = ci0 + c0 * SUB;
            let gi1 = ci0 + c1 * SUB;
            let gj1 = cj1 - r * SUB;
            let gj0 = gj1 - SUB;
            let gidx = sb.g.places.len();
            let mut gp = PlaceSeed::new(
                gidx,
                Some(cidx),
                PlaceKind::Grid,
                format!("g{:02}{:02}", c + 1, k + 1),
                format!("{gstem}第{}网格", k + 1),
            );
            gp.geojson = Some(polygon_json(&lat.ring(gi0, gi1, gj0, gj1)));
            sb.g.places.push(gp);
            let target = per_grid * (c1 - c0) as f64 * ngrid as f64 / (gcols * grows) as f64;
            sb.grid_buildings(&lat, gidx, (gi0, gi1, gj0, gj1), target);
        }
    }

    // --- organisations -----------------------------------------------------
    let g = &mut sb.g;
    let short = names::street_short(&street_name).to_string();
    let mut orgs = Vec::new();
    for (k, d) in names::DEPARTMENTS.iter().enumerate() {
        orgs.push(OrgSeed {
            code: format!("{street_code}-d{:02}", k + 1),
            name: format!("{short}{d}"),
            kind: "department",
            serves: vec![0],
        });
    }
    let nprop = g.rng.gen_range(2..=4usize).min(ncom);
    // split the communities into contiguous runs, one per company
    let mut cuts: Vec<usize> = (1..ncom).collect();
    cuts.shuffle(&mut g.rng);
    cuts.truncate(nprop - 1);
    cuts.sort_unstable();
    cuts.insert(0, 0);
    cuts.push(ncom);
    let na = names::PROPERTY_A.len();
    let nb = names::PROPERTY_B.len();
    let rot = (splitmix(seed) % (na * nb) as u64) as usize;
    for k in 0..nprop {
        let gi = (street_no * 4 + k + rot) % (na * nb);
        let name = format!(
            "上海{}{}物业管理有限公司",
            names::PROPERTY_A[gi % na],
            names::PROPERTY_B[(gi / na) % nb]
        );
        let mut serves: Vec<usize> = communities[cuts[k]..cuts[k + 1]].to_vec();
        if ncom > 2 && g.chance(0.3) {
            // also manages an estate in a neighbouring community
            let extra = communities[if cuts[k + 1] < ncom {
                cuts[k + 1]
            } else {
                cuts[k] - 1
            }];
            serves.push(extra);
            serves.sort_unstable();
        }
        orgs.push(OrgSeed {
            code: format!("{street_code}-p{:02}", k + 1),
            name,
            kind: "property",
            serves,
        });
    }
    let nsoc = g.rng.gen_range(1..=2usize);
    let mut soc: Vec<&'static str> = names::SOCIAL_ORGS.to_vec();
    soc.shuffle(&mut g.rng);
    for (k, s) in soc.iter().take(nsoc).enumerate() {
        let serves = if k == 0 {
            vec![0]
        } else {
            let n = g.rng.gen_range(1..=ncom.min(4));
            let mut v: Vec<usize> = communities
                .choose_multiple(&mut g.rng, n)
                .copied()
                .collect();
            v.sort_unstable();
            v
        };
        orgs.push(OrgSeed {
            code: format!("{street_code}-s{:02}", k + 1),
            name: format!("{short}{s}"),
            kind: "social",
            serves,
        });
    }

    let g = sb.g;
    StreetData {
        places: g.places,
        orgs,
        households: g.households,
        persons: g.persons,
    }
}
