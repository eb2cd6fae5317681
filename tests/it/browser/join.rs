//! Joining in a browser: a resident with an invitation code on a phone.

use super::*;

/// A resident joins with her household's invitation code on a phone (issue 21, part 5): from
/// the sign-in page to the join page, the code typed loosely, herself chosen among the
/// household's masked names, an account opened and signed in, her own data shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_joins_with_an_invitation_code_on_a_phone() {
    browse(360, 740, |b| async move {
        let wangge = api_token(&b.base, "wangge").await;
        let http = reqwest::Client::new();
        let buildings: Value = http
            .get(format!("{}/api/v1/join/buildings", b.base))
            .bearer_auth(&wangge)
            .send()
            .await
            .expect("the counts")
            .json()
            .await
            .expect("json");
        let building = buildings
            .as_array()
            .expect("buildings")
            .iter()
            .find(|x| x["households"].as_i64().unwrap_or(0) > 0)
            .expect("a building with households")["id"]
            .as_i64()
            .unwrap();
        let issued: Value = http
            .post(format!("{}/api/v1/join/invitations", b.base))
            .bearer_auth(&wangge)
            .json(&json!({"place_id": building}))
            .send()
            .await
            .expect("issue codes")
            .json()
            .await
            .expect("json");
        let code = issued["letters"][0]["code"]
            .as_str()
            .expect("a code")
            .to_string();
        b.open("/login").await;
        let link = b.find("#login-join").await;
        b.follow(&link).await;
        b.find("#code-form").await;
        b.assert_fits("the join page on a phone").await;
        b.screenshot("join-phone").await;
        b.find("#code")
            .await
            .send_keys(&code.to_lowercase().replace('-', " "))
            .await
            .expect("type the code");
        b.click("#code-submit").await;
        b.find("#redeem-form").await;
        let names = b.texts("#redeem-form .member b").await;
        assert!(
            !names.is_empty() && names.iter().all(|n| n.contains('*')),
            "masked names: {names:?}"
        );
        b.assert_fits("choosing herself on a phone").await;
        b.click("#member-1").await;
        for (id, text) in [
            ("#redeem-username", "resident.phone"),
            ("#redeem-password", "a-long-walk-home-42"),
            ("#redeem-password2", "a-long-walk-home-42"),
        ] {
            b.find(id).await.send_keys(text).await.expect("type");
        }
        b.click("#redeem-submit").await;
        b.wait_text("#join-done h1", "账号已开通").await;
        b.assert_fits("the account opened, on a phone").await;
        let link = b.find("#join-my-data").await;
        b.follow(&link).await;
        b.find("#my-record").await;
        b.assert_fits("her data on a phone").await;
    })
    .await;
}
