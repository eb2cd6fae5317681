//! Browser test of the public reports nearby (issue 24 part 3) on a phone-sized window: a
//! neighbour sees a resident's report on the community's public list and map, says "me too"
//! and follows it.

use serde_json::{Value, json};

use super::{api_token, browse};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_neighbour_sees_the_public_list_says_me_too_and_follows() {
    browse(390, 844, |b| async move {
        let jumin = api_token(&b.base, "jumin").await;
        let http = reqwest::Client::new();
        let me: Value = http
            .get(format!("{}/api/v1/me", b.base))
            .bearer_auth(&jumin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let unit = me["grants"][0]["place"]["id"].as_i64().expect("her unit");
        let v: Value = http
            .post(format!("{}/api/v1/cases", b.base))
            .bearer_auth(&jumin)
            .json(&json!({"category": "facility_repair", "place_id": unit,
                          "description": "楼下路灯不亮了", "extra": {"facility": "路灯"}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = v["case"]["id"].as_i64().expect("reported");
        b.open("/login").await;
        b.sign_in_ok("zhiyuan").await;
        b.open("/nearby").await;
        assert!(b.has(&format!("#report-{id}")).await, "listed");
        assert!(b.has("#nearby-svg").await, "the map");
        b.assert_fits("/nearby").await;
        b.open(&format!("/nearby/reports/{id}")).await;
        b.click("#me-too").await;
        b.wait_text("#report-supports", "1").await;
        assert!(b.has("#supported").await);
        b.click("#follow").await;
        b.wait_text("#done", "").await;
        assert!(b.has("#unfollow").await, "following");
        b.assert_fits("/nearby/reports").await;
    })
    .await;
}
