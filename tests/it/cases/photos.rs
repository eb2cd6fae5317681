//! Photos: checked by content, thumbnails, and location only with consent.

use super::*;

async fn upload(app: &TestApp, token: &str, id: i64, bytes: Vec<u8>, share: bool) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new().part(
        "photo",
        reqwest::multipart::Part::bytes(bytes).file_name("x.jpg"),
    );
    if share {
        form = form.text("share_location", "1");
    }
    let r = app
        .client()
        .post(app.url(&format!("/api/v1/cases/{id}/photos")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn photos_are_checked_by_content_with_thumbnails_and_location_only_with_consent() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let bumen = app.token("bumen").await;
    let b = buildings(&app).await;
    let id = report(
        &app,
        &jumin,
        json!({"category": "noise", "description": "夜里施工", "place_id": b[0]}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(800, 600, image::Rgb([10, 200, 90]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let png = png.into_inner();
    let (s, v) = upload(&app, &jumin, id, png.clone(), false).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["content_type"], "image/png");
    let pid = v["id"].as_i64().unwrap();
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/cases/{id}/photos/{pid}")))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    let thumb = app
        .client()
        .get(app.url(&format!("/api/v1/cases/{id}/photos/{pid}?thumb=1")))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let t = image::load_from_memory(&thumb).unwrap();
    assert!(thumb.starts_with(&[0xFF, 0xD8]) && t.width() == 320 && t.height() == 240);
    // Someone with no part in the case sees nothing.
    let r = app
        .client()
        .get(app.url(&format!("/api/v1/cases/{id}/photos/{pid}")))
        .bearer_auth(&bumen)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (s, _) = upload(&app, &bumen, id, png.clone(), false).await;
    assert_eq!(s, 404);
    // The type comes from the content: a GIF named .jpg is refused.
    let (s, v) = upload(&app, &jumin, id, b"GIF89a\x01\x00\x01\x00".to_vec(), false).await;
    assert_eq!(s, 422);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("JPEG"),
        "{v}"
    );
    let (s, _) = upload(&app, &jumin, id, vec![0xFF; 5 * 1024 * 1024 + 100], false).await;
    assert!(s == 413 || s == 422, "{s}");
    // EXIF location: kept with consent, stripped without.
    let jpeg = jpeg_with_gps();
    let (s, v) = upload(&app, &jumin, id, jpeg.clone(), true).await;
    assert_eq!(s, 201, "{v}");
    assert!(
        (v["lat"].as_f64().unwrap() - 31.2).abs() < 1e-6
            && (v["lon"].as_f64().unwrap() - 121.5).abs() < 1e-6,
        "{v}"
    );
    let kept = app
        .client()
        .get(app.url(&format!("/api/v1/cases/{id}/photos/{}", v["id"])))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(kept.to_vec(), jpeg);
    let (s, v) = upload(&app, &jumin, id, jpeg.clone(), false).await;
    assert_eq!(s, 201);
    assert!(v.get("lat").is_none(), "{v}");
    let stored = app
        .client()
        .get(app.url(&format!("/api/v1/cases/{id}/photos/{}", v["id"])))
        .bearer_auth(&jumin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(!stored.windows(4).any(|w| w == b"Exif") && stored.len() < jpeg.len());
    assert!(
        image::load_from_memory(&stored).is_ok(),
        "still a valid JPEG"
    );
    let (_, d) = app.get_json(&jumin, &format!("/api/v1/cases/{id}")).await;
    assert_eq!(d["photos"].as_array().unwrap().len(), 3);
    // Twelve photos per case: the thirteenth is refused, and its files (written before the
    // row) go with it.
    for _ in 3..12 {
        assert_eq!(upload(&app, &jumin, id, png.clone(), false).await.0, 201);
    }
    let (s, v) = upload(&app, &jumin, id, png.clone(), false).await;
    assert_eq!(s, 422, "{v}");
    let folder = app
        .dir
        .path()
        .join(format!("photos/{}/{id}", d["case"]["street_id"]));
    let files = || std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(files(), 24, "a file and a thumbnail per stored photo");
    // Files left by a crash between writing them and storing the row are swept at start
    // once an hour old; a fresh one (an upload under way) and the stored ones stay.
    let stray = folder.join("crashed.png");
    let fresh = folder.join("uploading.png");
    std::fs::write(&stray, b"x").unwrap();
    std::fs::write(&fresh, b"x").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&stray)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200))
        .unwrap();
    let (db, dir) = (app.db.clone(), app.dir.path().to_path_buf());
    let removed = tokio::task::spawn_blocking(move || {
        linli::cases::photos::sweep_orphans(&db, &dir).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(removed, 1);
    assert!(!stray.exists() && fresh.exists());
    assert_eq!(files(), 25);
}

/// Issue 19 item 14: an iPhone's HEIC photo is refused with what to do, not "not a photo".
#[tokio::test]
async fn a_heic_photo_is_refused_with_what_to_do() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let b = buildings(&app).await;
    let id = report(
        &app,
        &jumin,
        json!({"category": "noise", "description": "夜里施工", "place_id": b[0]}),
    )
    .await["case"]["id"]
        .as_i64()
        .unwrap();
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend(std::iter::repeat_n(0u8, 4096));
    let (s, v) = upload(&app, &jumin, id, heic, false).await;
    assert_eq!(s, 422, "{v}");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains("HEIC") && m.contains("兼容性最佳"), "{v}");
}
