//! A volunteer's own profile in a browser, on a phone (issue 25 part 1): she says she works for
//! a unit in the area (驻区单位) and ticks the weekly times she is free; the organiser then
//! finds her among those free on Saturday mornings.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volunteer_edits_her_availability_on_a_phone() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("zhiyuan").await;
        b.open("/callups/profile").await;
        b.find("#slots").await;
        b.assert_fits("the volunteer's profile with its weekly slots")
            .await;
        b.click("#profile-affiliation input[value=unit_staff]")
            .await;
        b.find("select[name=unit_org_id]")
            .await
            .select_by_index(1)
            .await
            .expect("a unit of the street to choose");
        b.click("#slot-sat_morning").await;
        b.click("#slot-wed_evening").await;
        b.screenshot("callups-profile-phone-zh").await;
        b.click("#callup-profile button[type=submit]").await;
        b.wait_text("#flash", "资料已保存").await;
        assert!(
            b.find("#slot-sat_morning")
                .await
                .prop("checked")
                .await
                .ok()
                .flatten()
                .as_deref()
                == Some("true"),
            "the slot stays ticked"
        );
        b.sign_out().await;

        // The organiser finds her among those free on Saturday mornings, as unit staff.
        let shegong = api_token(&b.base, "shegong").await;
        let r = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/callups/volunteers?available=sat_morning",
                b.base
            ))
            .bearer_auth(&shegong)
            .send()
            .await
            .expect("the API answers");
        assert_eq!(r.status().as_u16(), 200);
        let list: Value = r.json().await.unwrap();
        let me = list
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["affiliation"] == "unit_staff")
            .unwrap_or_else(|| panic!("zhiyuan is listed as unit staff: {list}"));
        assert!(!me["affiliation_org"].as_str().unwrap().is_empty(), "{me}");
        assert_eq!(me["availability"], json!(["wed_evening", "sat_morning"]));
        b.sign_in_ok("shegong").await;
        b.open("/callups/volunteers?available=sat_morning").await;
        b.wait_text("#affiliation-counts", "驻区单位 1 人").await;
        b.assert_fits("the volunteers by slot").await;
    })
    .await;
}
