//! A sweep in a browser (issue 23 part 2): the grid worker answers door by door on a phone,
//! loses the connection (the page's requests fail), sees her answers queued and counted, and
//! gets them sent when it comes back; the server then holds each once.

use super::*;

async fn progress(base: &str, token: &str, id: i64) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/sweeps/{id}/progress"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grid_worker_answers_door_by_door_on_a_phone_and_offline() {
    browse(390, 844, |b| async move {
        let shegong = api_token(&b.base, "shegong").await;
        b.open("/login").await;
        b.sign_in_ok("wangge").await;
        // The demo street's sweep in progress, from her list.
        b.open("/sweeps").await;
        b.assert_fits("the sweeps list").await;
        let link = b.find("#sweeps-list a.action").await;
        b.follow(&link).await;
        b.find("#sweep-queued").await;
        let id: i64 = b
            .path()
            .await
            .trim_start_matches("/sweeps/")
            .trim_end_matches("/doors")
            .parse()
            .expect("the campaign's id");
        b.assert_fits("the door list").await;
        let before = progress(&b.base, &shegong, id).await;
        assert_eq!(b.text("#sweep-queued").await, "0");

        // Three doors not yet visited, in list order.
        let mut open = Vec::new();
        for li in b.find_all("li.door.state-open").await.into_iter().take(3) {
            open.push(li.attr("id").await.unwrap().unwrap());
        }
        assert_eq!(open.len(), 3, "three doors to visit");

        // Online: the first door answered.
        b.click(&format!("#{} summary", open[0])).await;
        b.click(&format!("#{} input[type=radio][value=yes]", open[0])).await;
        b.find(&format!("#{} input[type=number]", open[0]))
            .await
            .send_keys("3")
            .await
            .expect("type a number");
        b.screenshot("sweep-door-phone").await;
        b.click(&format!("#{} button.door-save", open[0])).await;
        b.wait_text(&format!("#{} .door-state", open[0]), "已登记").await;
        assert_eq!(b.text("#sweep-queued").await, "0");

        // Offline: every request of the page fails. Two doors are recorded and wait.
        b.c.execute(
            "window.__fetch = window.fetch; window.fetch = function () { return Promise.reject(new TypeError('offline')); }; return true;",
            vec![],
        )
        .await
        .expect("cut the connection");
        b.click(&format!("#{} summary", open[1])).await;
        b.click(&format!("#{} button.door-nobody", open[1])).await;
        b.click(&format!("#{} summary", open[2])).await;
        b.click(&format!("#{} input[type=radio][value=no]", open[2])).await;
        b.click(&format!("#{} button.door-save", open[2])).await;
        b.wait_text("#sweep-queued", "2").await;
        b.wait_text(&format!("#{} .door-state", open[2]), "待上传").await;
        b.wait_text("#sweep-net", "网络中断").await;
        b.screenshot("sweep-offline-phone").await;
        let stored = b
            .c
            .execute(
                &format!("return JSON.parse(localStorage.getItem('linli.sweeps.{id}') || '[]').length;"),
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(stored, json!(2), "queued in localStorage");
        let mid = progress(&b.base, &shegong, id).await;
        assert_eq!(
            mid["counts"]["done"].as_i64().unwrap(),
            before["counts"]["done"].as_i64().unwrap() + 1,
            "nothing arrived while offline"
        );

        // Back online: the queue empties, each door shows what the server kept.
        b.c.execute(
            "window.fetch = window.__fetch; window.dispatchEvent(new Event('online')); return true;",
            vec![],
        )
        .await
        .expect("restore the connection");
        b.wait_text("#sweep-queued", "0").await;
        b.wait_text(&format!("#{} .door-state", open[2]), "已登记").await;
        b.wait_text(&format!("#{} .door-state", open[1]), "无人在家").await;
        b.assert_fits("the door list after the retry").await;

        // The server holds each once; a reload shows the same.
        let after = progress(&b.base, &shegong, id).await;
        let n = |v: &Value, k: &str| v["counts"][k].as_i64().unwrap();
        assert_eq!(n(&after, "done"), n(&before, "done") + 2);
        assert_eq!(n(&after, "nobody_home"), n(&before, "nobody_home") + 1);
        assert_eq!(after["attempts"].as_i64().unwrap(), before["attempts"].as_i64().unwrap() + 1);
        b.open(&format!("/sweeps/{id}/doors")).await;
        b.wait_text(&format!("#{} .door-state", open[1]), "上门 1 次").await;
        assert_eq!(b.text("#sweep-queued").await, "0");
        b.sign_out().await;

        // The organiser's progress page on a phone.
        b.sign_in_ok("shegong").await;
        b.open(&format!("/sweeps/{id}")).await;
        b.find("#sweep-totals").await;
        b.wait_text("[data-k='t.done']", &n(&after, "done").to_string()).await;
        b.assert_fits("the sweep's progress").await;
        b.screenshot("sweep-progress-phone").await;
    })
    .await;
}
