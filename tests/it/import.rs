//! Importing persons: a dry run, refusals row by row with Excel's row numbers, an atomic
//! apply, and a re-import that changes nothing.

use serde_json::Value;

use crate::support::{self, TestApp};

/// A unit address in wangge's grid, one outside it, and an existing resident of the grid.
async fn fixtures(app: &TestApp) -> (String, String, String, String, String) {
    let grid = crate::support::place_of(app, "wangge").await;
    let g = grid.clone();
    let (inside, outside, person) = app
        .db
        .read(move |c| {
            let units = c.query("SELECT address, path FROM places WHERE kind = 'unit' ORDER BY path", &[])?;
            let inside = units.iter().find(|r| r.str(1).starts_with(&format!("{g}/"))).unwrap().str(0);
            let outside = units.iter().find(|r| !r.str(1).starts_with(&format!("{g}/"))).unwrap().str(0);
            let mut p = Vec::new();
            let cond = linli::store::under_paths("place_path", std::slice::from_ref(&g), 1, &mut p);
            let person = c.query_one(&format!("SELECT id_number_enc, name, unit_id FROM persons WHERE {cond} ORDER BY id LIMIT 1"), &p)?;
            Ok((inside, outside, person))
        })
        .await
        .unwrap();
    let id = app.state.keys.decrypt(&person.blob(0).unwrap()).unwrap();
    let unit_id = person.i64(2);
    let address = app
        .db
        .read(move |c| {
            c.query_one(
                "SELECT address FROM places WHERE id = $1",
                linli::params![unit_id],
            )
        })
        .await
        .unwrap()
        .str(0);
    (
        grid,
        inside,
        outside,
        format!("{id}|{}", person.str(1)),
        address,
    )
}

fn build_id(birth: &str, seq: u16) -> String {
    let d = chrono::NaiveDate::parse_from_str(birth, "%Y-%m-%d").unwrap();
    linli::registry::idnum::IdNumber::build("310115", d, seq)
        .as_str()
        .to_string()
}

#[tokio::test]
async fn dry_run_then_apply_then_nothing_changes() {
    let app = support::spawn().await;
    let (grid, inside, outside, existing, existing_addr) = fixtures(&app).await;
    let (existing_id, existing_name) = existing.split_once('|').unwrap();
    let new_id = build_id("1950-03-04", 122); // even: a woman
    let serial = (chrono::NaiveDate::from_ymd_opt(1950, 3, 4).unwrap()
        - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap())
    .num_days();
    let mut bad_check = build_id("1960-01-01", 55);
    let last = bad_check.pop().unwrap();
    bad_check.push(if last == '0' { '1' } else { '0' });
    let other_id = build_id("1970-05-06", 77);
    let legacy15 = "310115800101021"; // 1980-01-01, converted to 18 digits on import
    // A title row above the header, an extra column, full-width digits, an Excel serial date.
    let fullwidth: String = new_id
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                char::from_u32(c as u32 + 0xfee0).unwrap()
            } else {
                c
            }
        })
        .collect();
    let csv = format!(
        "梅园社区实有人口登记表,,,,,,,,\n\
         序号,姓名,身份证号,性别,出生日期,联系电话,房屋,与户主关系,标签,多余的列\n\
         1,王秀英,{fullwidth},女,{serial},13900001111,{inside},户主,独居老人,x\n\
         2,李四,{bad_check},,,,{inside},子女,,\n\
         3,赵五,{other_id},,1970-05-07,,{inside},户主,,\n\
         4,王秀英,{new_id},,,,{inside},户主,,\n\
         5,钱六,{other_id},,,,{outside},户主,,\n\
         6,{existing_name},{existing_id},,,13911112222,{existing_addr},,,\n\
         7,孙七,{legacy15},男,1980年1月1日,,{inside},户主,,\n\
         8,周八,{other_id},,,,{inside},户主,会飞,\n"
    );
    let tok = app.token("wangge").await;
    let c = app.client();
    let post = |dry: bool| {
        let c = c.clone();
        let url = app.url(&format!(
            "/api/v1/imports/persons?scope={grid}&dry_run={dry}"
        ));
        let body = csv.clone();
        let tok = tok.clone();
        async move {
            let r = c
                .post(url)
                .bearer_auth(tok)
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let persons_before = app.query_i64("SELECT COUNT(*) FROM persons").await;
    let dry = post(true).await;
    assert_eq!(dry["applied"], false);
    assert_eq!(dry["create"], 2, "{dry}");
    assert_eq!(dry["update"], 1, "{dry}");
    let refused: Vec<(i64, String)> = dry["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["row"].as_i64().unwrap(),
                r["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let reason = |row: i64| {
        refused
            .iter()
            .find(|r| r.0 == row)
            .map(|r| r.1.clone())
            .unwrap_or_default()
    };
    assert!(
        reason(4).contains("校验位"),
        "row 4 (Excel numbering): {refused:?}"
    );
    assert!(reason(5).contains("出生日期"), "{refused:?}");
    assert!(reason(6).contains("重复"), "{refused:?}");
    assert!(
        reason(7).contains("找不到房屋") || reason(7).contains("重复"),
        "{refused:?}"
    );
    assert!(reason(10).contains("标签"), "{refused:?}");
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM persons").await,
        persons_before,
        "a dry run changes nothing"
    );
    // The check shows which people already exist, so it is audited.
    let e = app.last_audit_entry().await;
    assert_eq!(e["action"], "list");
    assert!(e["purpose"].as_str().unwrap().starts_with("import check"));

    let applied = post(false).await;
    assert_eq!(applied["applied"], true);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM persons").await,
        persons_before + 2
    );
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM person_versions").await,
        3
    );
    // The new person is found by her ID number, with the tag; the legacy number became 18 digits.
    let (_, found) = app
        .get_json(&tok, &format!("/api/v1/persons?q={new_id}"))
        .await;
    let pid = found["items"][0]["id"].as_i64().unwrap();
    let (_, p) = app.get_json(&tok, &format!("/api/v1/persons/{pid}")).await;
    assert_eq!(p["name"], "王秀英");
    assert!(
        p["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["tag"] == "elderly_alone")
    );
    let (_, legacy) = app
        .get_json(&tok, "/api/v1/persons?q=31011519800101021X")
        .await;
    let upgraded = linli::registry::idnum::IdNumber::parse(legacy15).unwrap();
    let (_, legacy2) = app
        .get_json(&tok, &format!("/api/v1/persons?q={}", upgraded.as_str()))
        .await;
    assert_eq!(legacy2["items"].as_array().unwrap().len(), 1, "{legacy}");
    // Importing the same file again changes nothing.
    let again = post(false).await;
    assert_eq!(again["create"], 0);
    assert_eq!(again["update"], 0);
    assert_eq!(again["unchanged"], 3);
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM person_versions").await,
        3
    );
    // Someone without the registry cannot import; a scope outside hers is refused.
    let bumen = app.token("bumen").await;
    let r = c
        .post(app.url(&format!("/api/v1/imports/persons?scope={grid}")))
        .bearer_auth(&bumen)
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A sheet without the header names the problem.
    let r = c
        .post(app.url(&format!("/api/v1/imports/persons?scope={grid}")))
        .bearer_auth(&tok)
        .body("a,b,c\n1,2,3\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("表头"));
}

#[tokio::test]
async fn cli_import_json_and_export() {
    let app = support::spawn().await;
    let (grid, inside, _, _, _) = fixtures(&app).await;
    let new_id = build_id("1948-08-08", 321);
    let file = app.dir.path().join("people.csv");
    std::fs::write(
        &file,
        format!("\u{feff}姓名,身份证号,房屋\n陈阿婆,{new_id},{inside}\n无名,123,{inside}\n"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_linli"))
            .arg("--data")
            .arg(app.dir.path())
            .arg("--database-url")
            .arg(&app.database_url)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let f = file.to_str().unwrap();
    let (ok, out, err) = run(&[
        "import",
        "persons",
        f,
        "--scope",
        &grid,
        "--dry-run",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["create"], 1);
    assert_eq!(v["refused"][0]["row"], 3);
    assert!(
        v["refused"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("身份证")
    );
    let (ok, out, _) = run(&["import", "persons", f, "--scope", &grid]);
    assert!(ok && out.starts_with("imported: 1 to create"), "{out}");
    let csv_out = app.dir.path().join("out.csv");
    let (ok, out, err) = run(&[
        "export",
        "persons",
        "--scope",
        &grid,
        "--out",
        csv_out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("(masked)"));
    let text = std::fs::read_to_string(&csv_out).unwrap();
    assert!(
        text.contains("陈阿婆") && !text.contains(&new_id),
        "masked in the export"
    );
    let (ok, _, err) = run(&["import", "persons", "/nonexistent.csv", "--scope", &grid]);
    assert!(!ok && err.contains("cannot read"));
}

#[tokio::test]
async fn create_and_change_a_person_with_history() {
    let app = support::spawn().await;
    let (grid, _, _, _, _) = fixtures(&app).await;
    let g = grid.clone();
    let unit = app
        .db
        .read(move |c| {
            let mut p = Vec::new();
            let cond = linli::store::under_paths("path", std::slice::from_ref(&g), 1, &mut p);
            c.query_one(
                &format!(
                    "SELECT path FROM places WHERE kind = 'unit' AND {cond} ORDER BY path LIMIT 1"
                ),
                &p,
            )
        })
        .await
        .unwrap()
        .str(0);
    let tok = app.token("shegong").await;
    let c = app.client();
    let id_number = build_id("1945-02-03", 11);
    let post = |body: Value| {
        let c = c.clone();
        let u = app.url("/api/v1/persons");
        let t = tok.clone();
        async move { c.post(u).bearer_auth(t).json(&body).send().await.unwrap() }
    };
    let r = post(serde_json::json!({"name": "何老伯", "id_number": id_number, "unit": unit, "tags": ["elderly_alone"], "phone": "021-58881234"})).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = post(serde_json::json!({"name": "何老伯", "id_number": id_number, "unit": unit})).await;
    assert_eq!(r.status(), 409, "already registered");
    let r =
        post(serde_json::json!({"name": "某人", "id_number": "110105194912310021", "unit": unit}))
            .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("校验位"));
    let patch = |body: Value| {
        let c = c.clone();
        let u = app.url(&format!("/api/v1/persons/{id}"));
        let t = tok.clone();
        async move { c.patch(u).bearer_auth(t).json(&body).send().await.unwrap() }
    };
    let r = patch(serde_json::json!({"phone": "139 0000 1111", "residence": "temporary"})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["changed"], serde_json::json!(["phone", "residence"]));
    assert_eq!(
        patch(serde_json::json!({"phone": "12345"})).await.status(),
        422
    );
    assert_eq!(
        patch(serde_json::json!({"residence": "moon"}))
            .await
            .status(),
        422
    );
    let r = patch(serde_json::json!({"residence": "temporary"})).await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["changed"],
        serde_json::json!([]),
        "nothing to change"
    );
    let (_, p) = app.get_json(&tok, &format!("/api/v1/persons/{id}")).await;
    assert_eq!(p["phone_masked"], "139****1111");
    let history = p["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "created, then changed: {p}");
    assert_eq!(history[0]["source"], "api");
    assert_eq!(history[0]["actor"], "shegong");
    assert!(
        !history[0]["changes"].to_string().contains("13900001111"),
        "no full phone in versions"
    );
    // The page shows the history and edits through the form.
    let (b, _) = app.login_page("shegong", crate::support::PASSWORD).await;
    let html = b
        .get(app.url(&format!("/persons/{id}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("修改记录") && html.contains("何老伯"));
    let csrf = crate::support::extract_input(&html, "csrf").unwrap();
    let r = b
        .post(app.url(&format!("/persons/{id}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("phone", ""),
            ("residence", "permanent"),
            ("presence", "both"),
            ("notes", "子女在外地"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, p) = app.get_json(&tok, &format!("/api/v1/persons/{id}")).await;
    assert_eq!(p["notes"], "子女在外地");
    assert_eq!(
        p["phone_masked"], "139****1111",
        "an empty phone field keeps the number"
    );
    // A grid worker cannot change a record outside her grid.
    let g2 = grid.clone();
    let other = app
        .db
        .read(move |c| {
            let rows = c.query("SELECT id, place_path FROM persons ORDER BY id", &[])?;
            Ok(rows
                .iter()
                .find(|r| !r.str(1).starts_with(&format!("{g2}/")))
                .unwrap()
                .i64(0))
        })
        .await
        .unwrap();
    let wangge = app.token("wangge").await;
    let r = c
        .patch(app.url(&format!("/api/v1/persons/{other}")))
        .bearer_auth(&wangge)
        .json(&serde_json::json!({"notes": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn excel_both_ways() {
    use calamine::{Data, Reader, Xlsx};
    let app = support::spawn().await;
    let (grid, inside, _, _, _) = fixtures(&app).await;
    let good = build_id("1952-06-07", 31);
    let serial = (chrono::NaiveDate::from_ymd_opt(1952, 6, 7).unwrap()
        - chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap())
    .num_days() as f64;
    // A workbook as an office keeps it: a title row, the header, a date as an Excel number.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "实有人口登记表（2026年）").unwrap();
    for (i, h) in ["姓名", "身份证号", "出生日期", "房屋", "备注"]
        .iter()
        .enumerate()
    {
        ws.write_string(1, i as u16, *h).unwrap();
    }
    ws.write_string(2, 0, "吴奶奶").unwrap();
    ws.write_string(2, 1, &good).unwrap();
    ws.write_number(2, 2, serial).unwrap();
    ws.write_string(2, 3, &inside).unwrap();
    ws.write_string(3, 0, "错号").unwrap();
    ws.write_string(3, 1, "110105194912310021").unwrap();
    ws.write_string(3, 3, &inside).unwrap();
    ws.write_string(3, 4, "=1+1").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let tok = app.token("wangge").await;
    let c = app.client();
    let r = c
        .post(app.url(&format!(
            "/api/v1/imports/persons?scope={grid}&dry_run=true"
        )))
        .bearer_auth(&tok)
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["create"], 1, "{v}");
    assert_eq!(v["refused"][0]["row"], 4, "Excel's own row number: {v}");
    // The refused rows come back as a workbook with a reason column, formulas neutralised.
    let r = c
        .post(app.url(&format!("/api/v1/imports/persons/refused?scope={grid}")))
        .bearer_auth(&tok)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let back = r.bytes().await.unwrap().to_vec();
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(back)).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].last().unwrap().contains("原因"));
    assert_eq!(rows[1][0], "错号");
    assert_eq!(rows[1][4], "'=1+1");
    assert!(rows[1].last().unwrap().contains("校验位"));
    // An XLSX export from the command line reads back, masked.
    let out = app.dir.path().join("grid.xlsx");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_linli"))
        .arg("--data")
        .arg(app.dir.path())
        .arg("--database-url")
        .arg(&app.database_url)
        .args([
            "export",
            "persons",
            "--scope",
            &grid,
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut book: Xlsx<_> = calamine::open_workbook(&out).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert!(header.contains(&"身份证号".to_string()));
    let id_col = header.iter().position(|h| h == "身份证号").unwrap();
    let data_rows = range.rows().skip(1).count();
    assert!(data_rows > 10);
    assert!(
        range
            .rows()
            .skip(1)
            .all(|r| r[id_col].to_string().contains("********"))
    );
}

#[tokio::test]
async fn the_upload_page_dry_runs_then_applies() {
    let app = support::spawn().await;
    let (grid, inside, _, _, _) = fixtures(&app).await;
    let new_id = build_id("1951-01-02", 41);
    let csv = format!("姓名,身份证号,房屋\n林阿伯,{new_id},{inside}\n坏号,123,{inside}\n");
    let (b, _) = app.login_page("wangge", crate::support::PASSWORD).await;
    let page = b
        .get(app.url("/imports"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("下载导入模板"));
    let csrf = crate::support::extract_input(&page, "csrf").unwrap();
    let form = |apply: bool| {
        let mut f = reqwest::multipart::Form::new()
            .text("csrf", csrf.clone())
            .text("scope", grid.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(csv.clone().into_bytes()).file_name("people.csv"),
            );
        if apply {
            f = f.text("apply", "1");
        }
        f
    };
    let before = app.query_i64("SELECT COUNT(*) FROM persons").await;
    // The upload starts a job and sends the browser to its page (a small file is done by then).
    let follow = |r: reqwest::Response| {
        let b = b.clone();
        let app_url = app.url("");
        async move {
            assert_eq!(r.status(), 303, "the upload redirects to its job");
            let to = r.headers()["location"].to_str().unwrap().to_string();
            assert!(to.starts_with("/imports/jobs/imp_"), "{to}");
            let html = b
                .get(format!("{}{}", app_url.trim_end_matches('/'), to))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            (to, html)
        }
    };
    let (job, html) = follow(
        b.post(app.url("/imports"))
            .multipart(form(false))
            .send()
            .await
            .unwrap(),
    )
    .await;
    // A finished job's progress: done, every row.
    let finished = |job: String| {
        let b = b.clone();
        let url = app.url(&format!("{job}/progress"));
        async move {
            let progress: serde_json::Value =
                b.get(url).send().await.unwrap().json().await.unwrap();
            assert_eq!(progress["state"], "done");
            assert_eq!(progress["done"], progress["total"]);
        }
    };
    finished(job.clone()).await;
    // Another user cannot see the job.
    let (other, _) = app.login_page("shegong", crate::support::PASSWORD).await;
    assert_eq!(other.get(app.url(&job)).send().await.unwrap().status(), 404);
    assert!(
        html.contains("试运行结果") && html.contains("林阿伯"),
        "the dry-run report"
    );
    assert_eq!(app.query_i64("SELECT COUNT(*) FROM persons").await, before);
    let (_, html) = follow(
        b.post(app.url("/imports"))
            .multipart(form(true))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(html.contains("导入完成"));
    // A file with a bad row: its refused rows download from the job's page, with the reason.
    let bad_csv = "姓名,身份证号,房屋\n错号码,110105194912310021,某处\n";
    let bad_form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("scope", grid.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bad_csv.as_bytes().to_vec()).file_name("bad.csv"),
        );
    let (job, html) = follow(
        b.post(app.url("/imports"))
            .multipart(bad_form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        html.contains("refused-download"),
        "the page offers the refused rows"
    );
    let xlsx = b
        .get(app.url(&format!("{job}/refused.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 200);
    let bytes = xlsx.bytes().await.unwrap();
    let sheet = linli::registry::import::read(&bytes, true).unwrap();
    let text: Vec<String> = sheet.rows.iter().flat_map(|(_, r)| r.clone()).collect();
    assert!(text.iter().any(|c| c == "错号码"), "{text:?}");
    assert!(
        text.iter().any(|c| c.contains("校验")),
        "a reason column: {text:?}"
    );
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM persons").await,
        before + 1
    );
    // After a restart the process no longer holds its jobs; their rows still say what they
    // did (counts only: the row-by-row report held personal data and lived in memory).
    let id = job.trim_start_matches("/imports/jobs/").to_string();
    linli::registry::import_jobs::forget(&id);
    let r = b.get(app.url(&job)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"stored-job\"") && html.contains("逐行报告"),
        "{html}"
    );
    assert!(!html.contains("错号码"), "no personal data from the file");
    let r = b
        .get(app.url(&format!("{job}/refused.xlsx")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("重新上传"));
    finished(job.clone()).await;
    assert_eq!(other.get(app.url(&job)).send().await.unwrap().status(), 404);
    // A job running in another server process sharing the database, alive (it announced
    // itself a moment ago): left alone, and its page says where it runs.
    use linli::store::instances;
    let (running, db) = (id.clone(), app.db.clone());
    let mark = move |instance: &'static str, seen_ago: i64| {
        let (running, db) = (running.clone(), db.clone());
        async move {
            db.write(move |c| {
                let now = linli::store::now_ms();
                c.exec(
                    "UPDATE import_jobs SET state = 'writing', instance = $2 WHERE id = $1",
                    linli::params![running, instance],
                )?;
                instances::beat(c, instance, now - seen_ago)?;
                linli::registry::import_jobs::mark_interrupted(c, now)
            })
            .await
        }
    };
    assert_eq!(mark("proc_other", 1_000).await.unwrap(), 0);
    let r = b.get(app.url(&job)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("另一个服务进程"));
    // That process stopped announcing itself (killed): the job is marked interrupted. It
    // wrote nothing, and its page says so.
    assert_eq!(
        mark("proc_other", instances::STALE_MS + 1_000)
            .await
            .unwrap(),
        1
    );
    let r = b.get(app.url(&job)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("没有写入任何数据"));
    // A process that stops cleanly leaves: its jobs are interrupted at once.
    app.db
        .write(|c| instances::beat(c, "proc_leaving", linli::store::now_ms()))
        .await
        .unwrap();
    assert_eq!(mark("proc_leaving", 0).await.unwrap(), 0);
    app.db
        .write(|c| instances::leave(c, "proc_leaving"))
        .await
        .unwrap();
    let marked = app
        .db
        .write(|c| linli::registry::import_jobs::mark_interrupted(c, linli::store::now_ms()))
        .await
        .unwrap();
    assert_eq!(marked, 1);
    // This server announces itself: its own jobs are never taken for another's.
    let me = app.state.instance.clone();
    let alive = app
        .db
        .read(move |c| {
            c.query_i64(
                "SELECT COUNT(*) FROM instances WHERE id = $1",
                linli::params![me],
            )
        })
        .await
        .unwrap();
    assert_eq!(alive, 1);
    // Without the CSRF token nothing is read.
    let bad = reqwest::multipart::Form::new()
        .text("scope", grid.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.clone().into_bytes()).file_name("p.csv"),
        );
    let r = b
        .post(app.url("/imports"))
        .multipart(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn import_bytes(
    app: &TestApp,
    tok: &str,
    scope: &str,
    dry: bool,
    content_type: &str,
    body: Vec<u8>,
) -> Value {
    let r = app
        .client()
        .post(app.url(&format!(
            "/api/v1/imports/persons?scope={scope}&dry_run={dry}"
        )))
        .bearer_auth(tok)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Issue 19, item 8: an export is the import template's columns with its Chinese values, so
/// an exported sheet goes back in as it is: every row found, nothing changed, nothing refused.
#[tokio::test]
async fn an_exported_sheet_imports_again_unchanged() {
    let app = support::spawn().await;
    let wangge = app.token("wangge").await;
    let grid = support::place_of(&app, "wangge").await;
    let r = app
        .client()
        .post(app.url("/api/v1/exports"))
        .bearer_auth(&wangge)
        .json(&serde_json::json!({"place": grid, "reason": "核对台账", "unmasked": true}))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let id = v["id"].as_i64().unwrap();
    let records = v["records"].as_i64().unwrap();
    let shegong = app.token("shegong").await;
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/exports/{id}/decision")))
        .bearer_auth(&shegong)
        .json(&serde_json::json!({"approve": true}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    for (format, ct) in [
        ("csv", "text/csv"),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    ] {
        let r = app
            .client()
            .get(app.url(&format!("/api/v1/exports/{id}/download?format={format}")))
            .bearer_auth(&wangge)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let bytes = r.bytes().await.unwrap().to_vec();
        if format == "csv" {
            let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
            let header = text.lines().next().unwrap();
            assert!(
                header.starts_with("姓名,身份证号,性别,出生日期,联系电话,房屋,与户主关系"),
                "{header}"
            );
            assert!(
                !text.contains(",M,")
                    && !text.contains(",F,")
                    && !text.contains("permanent")
                    && !text.contains(",head,"),
                "Chinese values, not codes"
            );
            assert!(text.contains(",男,") || text.contains(",女,"));
        }
        let report = import_bytes(&app, &wangge, &grid, true, ct, bytes).await;
        assert_eq!(
            report["refused"],
            serde_json::json!([]),
            "{format}: {report}"
        );
        assert_eq!(report["create"], 0, "{format}: {report}");
        assert_eq!(report["update"], 0, "{format}: {report}");
        assert_eq!(report["unchanged"], records, "{format}: {report}");
    }
}

/// Issue 19, item 9: a refused row lists every problem it has, not only the first, in the
/// reader's language; the template's own example row imports as it is.
#[tokio::test]
async fn imports_report_every_problem_and_the_template_imports() {
    let app = support::spawn().await;
    let (grid, _, _, _, _) = fixtures(&app).await;
    let tok = app.token("wangge").await;
    let csv = "姓名,身份证号,出生日期,联系电话,房屋,居住状态\n,110105194912310021,1949年13月1日,12,不存在的房屋,外星\n";
    let report = import_bytes(&app, &tok, &grid, true, "text/csv", csv.as_bytes().to_vec()).await;
    let reason = report["refused"][0]["reason"].as_str().unwrap().to_string();
    for part in ["姓名", "校验", "出生日期", "房屋", "居住状态"] {
        assert!(reason.contains(part), "{part} in {reason}");
    }
    assert!(
        !reason.contains(" / ") && !reason.contains("missing"),
        "Chinese only: {reason}"
    );
    // The same in English.
    let r = app
        .client()
        .post(app.url(&format!(
            "/api/v1/imports/persons?scope={grid}&dry_run=true"
        )))
        .bearer_auth(&tok)
        .header("content-type", "text/csv")
        .header("accept-language", "en")
        .body(csv)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let en = v["refused"][0]["reason"].as_str().unwrap();
    assert!(
        en.contains("name is missing") && !en.contains("缺少"),
        "{en}"
    );

    // The template, as the signed-in worker downloads it, imports without a refusal.
    let r = app
        .client()
        .get(app.url("/api/v1/imports/template.csv"))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    let template = r.bytes().await.unwrap().to_vec();
    let report = import_bytes(&app, &tok, &grid, true, "text/csv", template).await;
    assert_eq!(report["refused"], serde_json::json!([]), "{report}");
    assert_eq!(
        report["create"].as_i64().unwrap()
            + report["update"].as_i64().unwrap()
            + report["unchanged"].as_i64().unwrap(),
        1
    );
}
