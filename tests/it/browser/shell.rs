//! The page shell in a browser: signing in, the home page and hierarchy, English, the phone navigation.

use super::*;

/// A grid worker, in Chinese (the default): signs in, sees the home page, walks down the
/// hierarchy from the grid's map to a building's units, and signs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_home_and_hierarchy_in_chinese() {
    browse(1280, 900, |b| async move {
        b.open("/login").await;
        assert_eq!(b.html_lang().await, "zh-CN");
        let title = b.c.title().await.expect("title");
        assert!(
            title.starts_with("登录"),
            "the login page's title: {title:?}"
        );
        assert_eq!(b.text("main h1").await, "登录");
        assert_eq!(b.text("#lang-switch").await, "English");
        assert!(!b.has("#logout").await, "nobody is signed in yet");
        // The stylesheet is served and allowed by the CSP: the header has the brand colour.
        let bg = b
            .find("header.top")
            .await
            .css_value("background-color")
            .await
            .unwrap();
        assert_eq!(bg, "rgba(179, 38, 30, 1)", "app.css is applied");

        b.sign_in_ok("wangge").await;
        assert!(b.text("#home-title").await.starts_with("您好，"));
        let me = b.text(".who .me").await;
        assert!(
            me.contains("网格员"),
            "the header names the role in Chinese: {me:?}"
        );
        let grants = b.texts(".grants .tag").await;
        assert!(
            grants.iter().any(|g| g == "网格员"),
            "grants on the home page: {grants:?}"
        );
        // The grid's own area on the home page has its map.
        b.find(".area .mapbox svg.map").await;

        let nav = b.find("#nav-places").await;
        assert_eq!(nav.text().await.unwrap(), "辖区层级");
        nav.click().await.expect("click #nav-places");
        // /places has a single root for a grid worker, and sends us on to it.
        let grid_path = b
            .wait_path("the grid's page", |p| {
                p.strip_prefix("/places/")
                    .is_some_and(|id| id.parse::<i64>().is_ok())
            })
            .await;
        let name = b.text("#place-name").await;
        assert!(name.ends_with("网格"), "the place is a grid: {name:?}");
        assert!(
            b.c.title()
                .await
                .unwrap()
                .contains(name.trim_end_matches("网格").trim())
        );
        let svg = b.find("#grid-map svg").await;
        assert_eq!(svg.attr("class").await.unwrap().as_deref(), Some("map"));
        assert!(svg.is_displayed().await.unwrap(), "the map is visible");
        let (_, _, w, h) = svg.rectangle().await.unwrap();
        assert!(w > 100.0 && h > 100.0, "the map has a size: {w}x{h}");
        assert!(
            !b.find_all("#grid-map svg path.area").await.is_empty(),
            "the grid's boundary is drawn"
        );
        assert_eq!(
            b.children_header().await,
            ["名称", "类型", "户数", "实有人口"],
            "the children table's header"
        );

        // Every building dot on the map links to a building listed below it.
        let rows = b.find_all("#children tbody a").await;
        assert!(!rows.is_empty(), "the grid has buildings");
        let mut listed = Vec::new();
        for a in &rows {
            listed.push(a.attr("href").await.unwrap().unwrap_or_default());
        }
        let dots = b.find_all("#grid-map svg a").await;
        assert!(!dots.is_empty(), "the map shows the buildings as links");
        for d in &dots {
            let href = d.attr("href").await.unwrap().unwrap_or_default();
            assert!(
                listed.contains(&href),
                "map link {href} is not among the buildings {listed:?}"
            );
        }
        let kinds = b.texts("#children tbody td:nth-child(2)").await;
        assert!(
            kinds.iter().all(|k| k == "楼栋"),
            "children of a grid: {kinds:?}"
        );

        let first = &rows[0];
        let building = first.text().await.unwrap();
        b.follow(first).await;
        let name = b.text("#place-name").await;
        assert!(
            name.starts_with(&building) && name.ends_with("楼栋"),
            "the building's page: {name:?}, expected {building:?}"
        );
        // The breadcrumbs lead back to the grid.
        let crumbs: Vec<String> = {
            let mut v = Vec::new();
            for a in b.find_all("nav.crumbs a").await {
                v.push(a.attr("href").await.unwrap().unwrap_or_default());
            }
            v
        };
        assert!(
            crumbs.contains(&grid_path),
            "breadcrumbs {crumbs:?} lead back to {grid_path}"
        );
        let h2 = b.texts("main h2").await;
        assert!(h2.iter().any(|t| t == "分层房屋"), "sections: {h2:?}");
        let floors = b.texts(".floors .floor .fno").await;
        assert!(!floors.is_empty(), "the building has floors");
        assert!(
            floors
                .iter()
                .all(|f| f.ends_with('F') && f.trim_end_matches('F').parse::<i64>().is_ok()),
            "floor labels: {floors:?}"
        );
        let units = b.find_all(".floors .floor a.u").await;
        assert!(!units.is_empty(), "the floors list units");
        assert!(
            !b.has("#children").await,
            "a building lists its units by floor, not in a table"
        );

        b.sign_out().await;
        assert_eq!(b.text("main h1").await, "登录");
        // Signed out for real: the home page sends us back to sign in.
        b.open("/").await;
        b.wait_path("the login page", |p| p.starts_with("/login"))
            .await;
        b.find("#login-form").await;
    })
    .await;
}

/// The street administrator, in English chosen with the language link: English texts on
/// every page, and the English error for a wrong password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_pages_and_wrong_password() {
    browse(1280, 900, |b| async move {
        b.open("/login").await;
        assert_eq!(b.text("main h1").await, "登录");
        b.click("#lang-switch").await;
        b.wait_text("main h1", "Sign in").await;
        assert_eq!(
            b.path().await,
            "/login",
            "the language link comes back to the same page"
        );
        assert_eq!(b.html_lang().await, "en");
        assert_eq!(b.text("#lang-switch").await, "中文");
        assert!(b.c.title().await.unwrap().starts_with("Sign in"));
        assert_eq!(b.text("#login-submit").await, "Sign in");

        b.sign_in_ok("admin").await;
        assert!(b.text("#home-title").await.starts_with("Welcome, "));
        let me = b.text(".who .me").await;
        assert!(
            me.contains("Street administrator"),
            "the header names the role: {me:?}"
        );
        assert_eq!(b.text("#logout").await, "Sign out");
        let nav = b.find("#nav-places").await;
        assert_eq!(nav.text().await.unwrap(), "Places");

        nav.click().await.expect("click #nav-places");
        b.wait_path("the street's page", |p| p.starts_with("/places/"))
            .await;
        let street = b.text("#place-name").await;
        assert!(
            street.ends_with("Street"),
            "the administrator's root is the street: {street:?}"
        );
        let header = ["Name", "Kind", "Households", "Residents"];
        assert_eq!(b.children_header().await, header);
        let h2 = b.texts("main h2").await;
        assert!(h2.iter().any(|t| t == "Places below"), "sections: {h2:?}");

        // Into a community.
        let kinds = b.texts("#children tbody td:nth-child(2)").await;
        let i = kinds
            .iter()
            .position(|k| k == "Community")
            .unwrap_or_else(|| panic!("the street has communities: {kinds:?}"));
        let links = b.find_all("#children tbody a").await;
        let community = links[i].text().await.unwrap();
        b.follow(&links[i]).await;
        let name = b.text("#place-name").await;
        assert!(
            name.starts_with(&community) && name.ends_with("Community"),
            "the community's page: {name:?}, expected {community:?}"
        );
        assert_eq!(b.children_header().await, header);
        let kinds = b.texts("#children tbody td:nth-child(2)").await;
        assert!(
            !kinds.is_empty() && kinds.iter().all(|k| k == "Grid"),
            "a community's children are grids: {kinds:?}"
        );
        let crumbs = b.text("nav.crumbs").await;
        assert!(crumbs.starts_with("Places"), "breadcrumbs: {crumbs:?}");

        // Signed out, the language stays English; a wrong password says so in English.
        b.sign_out().await;
        assert_eq!(b.text("main h1").await, "Sign in");
        b.sign_in("admin", "not-the-password").await;
        b.wait_text("#login-error", "Wrong username or password.")
            .await;
        assert_eq!(b.text("#login-error").await, "Wrong username or password.");
        assert_eq!(b.path().await, "/login");
        b.find("#login-form").await;
        let user = b.find("#username").await;
        assert_eq!(
            user.prop("value").await.unwrap().as_deref(),
            Some("admin"),
            "the username is kept"
        );
        let pass = b.find("#password").await;
        assert_eq!(
            pass.prop("value").await.unwrap().as_deref(),
            Some(""),
            "the password is not"
        );
        assert!(!b.has("#logout").await, "a wrong password signs nobody in");
        // The form still works after the error.
        b.sign_in_ok("admin").await;
    })
    .await;
}

/// Issue 19 item 14: on a phone the navigation reaches every entry (the first few in the bar,
/// the rest behind 更多, which names the page you are on), what you tap is at least 44 px high,
/// and a household's members stack instead of scrolling sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_phone_navigation_reaches_every_entry() {
    browse(390, 844, |b| async move {
        b.open("/login").await;
        b.sign_in_ok("admin").await;
        // Every entry of the navigation, and whether it is visible in the bar.
        let entries = b
            .c
            .execute(
                r#"return Array.from(document.querySelectorAll(".main-nav > a")).map(a =>
                    [a.getAttribute("href"), a.getBoundingClientRect().height > 0]);"#,
                vec![],
            )
            .await
            .unwrap();
        let entries = entries.as_array().unwrap().clone();
        assert!(entries.len() > 5, "the administrator has many entries: {entries:?}");
        let hidden: Vec<String> = entries
            .iter()
            .filter(|e| e[1] == false)
            .map(|e| e[0].as_str().unwrap().to_string())
            .collect();
        assert!(!hidden.is_empty(), "some entries wait behind 更多");
        assert!(b.has("#nav-more").await);
        // Each one behind 更多 is reached from it, and 更多 then names where you are.
        for href in &hidden {
            b.open("/").await;
            b.click("#nav-more summary").await;
            let link = b.find(&format!(".nav-more-list a[href='{href}']")).await;
            assert!(link.is_displayed().await.unwrap(), "{href} is shown under 更多");
            b.screenshot("phone-nav-more-open").await;
            let label = link.text().await.unwrap();
            link.click().await.unwrap();
            b.wait_path(href, |p| p.starts_with(href.as_str())).await;
            let summary = b.text("#nav-more summary").await;
            assert!(summary.contains(&label), "更多 names {label}: {summary}");
        }
        // What a thumb taps is tall enough.
        b.open("/").await;
        let small = b
            .c
            .execute(
                r#"const out = [];
                for (const el of document.querySelectorAll(".main-nav > a, .nav-more summary, button, select, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), .who .lang")) {
                    const r = el.getBoundingClientRect();
                    if (r.height > 0 && r.height < 43.5) out.push(el.outerHTML.slice(0, 80) + " " + r.height);
                    // A two-character item (案件, 首页) is as wide as it is tall.
                    if (el.matches(".main-nav > a, .nav-more summary") && r.width > 0 && r.width < 43.5) out.push(el.outerHTML.slice(0, 80) + " w " + r.width);
                }
                return out;"#,
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(small, serde_json::json!([]), "tap targets under 44 px");
        // A household's members stack on the phone.
        b.open("/persons?q=%E5%BC%A0").await;
        let person = b.find("#persons a[href^='/persons/']").await;
        b.follow(&person).await;
        let household = b.find("a[href^='/households/']").await;
        b.follow(&household).await;
        b.find("#members").await;
        b.assert_fits("a household on a phone").await;
        b.screenshot("phone-household").await;
        // A resident's own data fits the phone too, in both languages.
        b.sign_out().await;
        b.sign_in_ok("jumin").await;
        b.open("/me/data").await;
        b.find("#my-record").await;
        b.assert_fits("my data on a phone (Chinese)").await;
        b.screenshot("phone-my-data-zh").await;
        b.click("#lang-switch").await;
        b.wait_text("#lang-switch", "中文").await;
        b.assert_fits("my data on a phone (English)").await;
        b.screenshot("phone-my-data-en").await;
    })
    .await;
}
