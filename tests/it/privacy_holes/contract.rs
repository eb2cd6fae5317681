//! The API answers as its OpenAPI document says.

use super::*;

// ---------------------------------------------------------------------------------------------
// Finding 19: the OpenAPI document matches what is served. Every answer of every test is checked
// by `contract` (a layer around each test server); this test checks the checker, and the two
// answers the probe found wrong.

#[tokio::test]
async fn the_api_answers_as_its_openapi_document_says() {
    // The checker notices a body that does not fit, a status not documented and a path the
    // document does not have.
    let findings = crate::contract::Findings::default();
    let wrong = axum::Router::new()
        .route(
            "/api/v1/cases",
            axum::routing::get(|| async { axum::Json(json!({"items": "not a list"})) }),
        )
        .route(
            "/api/v1/session",
            axum::routing::delete(|| async { axum::http::StatusCode::ACCEPTED }),
        )
        .route(
            "/api/v1/nowhere",
            axum::routing::get(|| async { axum::Json(json!({})) }),
        )
        .layer(axum::middleware::from_fn_with_state(
            findings.clone(),
            crate::contract::check,
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, wrong).await });
    let http = reqwest::Client::new();
    for (m, p) in [
        (reqwest::Method::GET, "/api/v1/cases"),
        (reqwest::Method::DELETE, "/api/v1/session"),
        (reqwest::Method::GET, "/api/v1/nowhere"),
    ] {
        http.request(m, format!("http://{addr}{p}"))
            .send()
            .await
            .unwrap();
    }
    let seen = findings.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    assert!(seen[0].starts_with("GET /api/v1/cases → 200"), "{seen:#?}");
    assert!(
        seen[1].contains("status 202 is not documented"),
        "{seen:#?}"
    );
    assert!(seen[2].contains("not in the document"), "{seen:#?}");

    // A PATCH of `[]` was taken for a change of nothing; it is refused, with a documented code.
    let app = support::spawn().await;
    let admin = app.token("admin").await;
    let rule = app.query_i64("SELECT MIN(id) FROM rules").await;
    let r = app
        .client()
        .patch(app.url(&format!("/api/v1/rules/{rule}")))
        .bearer_auth(&admin)
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "bad_json", "{v}");
    // Every code the server sends is listed in the document.
    let doc: Value = serde_json::from_str(&linli::app::openapi_json()).unwrap();
    let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("the error codes are listed");
    for c in [
        "bad_json",
        "not_found",
        "forbidden",
        "vouched",
        "state_conflict",
        "bad_ts",
    ] {
        assert!(codes.contains(&Value::from(c)), "{c}");
    }
    // Rules' parameters are objects, as documented, in what is served.
    let (s, rules) = app.get_json(&admin, "/api/v1/rules").await;
    assert_eq!(s, 200);
    assert!(rules[0]["params"].is_object(), "{}", rules[0]);
    app.stop().await;
}
