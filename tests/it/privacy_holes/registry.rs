//! Owners and tenants are looked up only within scope.

use super::*;

/// Finding 2: the person lookup behind unit owners and rental tenants checked the street, not
/// the caller's scope. A grid worker could name residents of another community as tenants, read
/// their names and masked ID numbers back, and learn whether an ID number is registered. Now
/// someone outside her scope is refused exactly as someone who does not exist.
#[tokio::test]
async fn owners_and_tenants_are_looked_up_only_within_scope() {
    let app = support::spawn().await;
    let t = app.token("wangge").await;
    let grid = support::place_of(&app, "wangge").await;
    let keys = app.state.keys.clone();
    let (unit, inside, outsider, outsider_idn) = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths("u.path", std::slice::from_ref(&grid), 1, &mut p);
            let unit = c
                .query_one(
                    &format!(
                        "SELECT u.id FROM places u WHERE u.kind = 'unit' AND {cond} \
                         AND (SELECT COUNT(*) FROM persons x WHERE x.unit_id = u.id) >= 1 \
                         AND NOT EXISTS (SELECT 1 FROM rentals r WHERE r.unit_id = u.id) ORDER BY u.id LIMIT 1"
                    ),
                    &p,
                )?
                .i64(0);
            // The landlord: an owner already there, or a resident of the flat.
            let inside = match c.query_opt(
                "SELECT MIN(person_id) FROM unit_owners WHERE unit_id = $1 HAVING COUNT(*) > 0",
                linli::params![unit],
            )? {
                Some(r) => r.i64(0),
                None => c.query_i64(
                    "SELECT MIN(id) FROM persons WHERE unit_id = $1",
                    linli::params![unit],
                )?,
            };
            let mut p = Vec::new();
            let cond = linli::store::under_paths("place_path", std::slice::from_ref(&grid), 1, &mut p);
            let out = c.query_one(
                &format!(
                    "SELECT id, id_number_enc FROM persons WHERE NOT ({cond}) AND id_number_enc IS NOT NULL ORDER BY id LIMIT 1"
                ),
                &p,
            )?;
            let idn = keys.decrypt(&out.blob(1).unwrap()).unwrap();
            Ok((unit, inside, out.i64(0), idn))
        })
        .await
        .unwrap();

    // An owner outside the grid, by id and by ID number: refused, and with the very words a
    // number nobody holds gets.
    let mut refusals = Vec::new();
    for person in [
        json!({"person_id": outsider, "share_pct": 1.0}),
        json!({"id_number": outsider_idn, "share_pct": 1.0}),
        json!({"id_number": "11010519491231002X", "share_pct": 1.0}),
        json!({"person_id": 999_999_999, "share_pct": 1.0}),
    ] {
        let (s, v) = post(
            &app,
            &t,
            &format!("/api/v1/units/{unit}/owners"),
            person.clone(),
        )
        .await;
        assert_eq!(s, 422, "{person}: {v}");
        refusals.push(v["error"]["message"].as_str().unwrap().to_string());
    }
    assert!(
        refusals.windows(2).all(|w| w[0] == w[1]),
        "an outsider and a nobody are refused alike: {refusals:?}"
    );

    // A tenant outside the grid: refused alike, and no rental is written.
    let (_, u) = app.get_json(&t, &format!("/api/v1/units/{unit}")).await;
    if u["owners"].as_array().unwrap().is_empty() {
        let (s, v) = post(
            &app,
            &t,
            &format!("/api/v1/units/{unit}/owners"),
            json!({"person_id": inside, "share_pct": 100.0}),
        )
        .await;
        assert_eq!(s, 200, "an owner within the grid: {v}");
    }
    let (s, v) = post(
        &app,
        &t,
        "/api/v1/rentals",
        json!({"unit_id": unit, "landlord": {"person_id": inside}, "tenants": [{"id_number": outsider_idn}],
               "start_date": "2026-01-01", "end_date": "2026-12-31"}),
    )
    .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["message"].as_str().unwrap(), refusals[0]);
    let rentals = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM rentals WHERE unit_id = $1",
                linli::params![unit],
            )
        })
        .await
        .unwrap();
    assert_eq!(rentals, 0, "no rental written");
    assert!(
        !v.to_string().contains("name"),
        "nothing of the outsider comes back: {v}"
    );
}
