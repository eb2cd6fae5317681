//! A photo decompression bomb is refused before decoding.

use super::*;

#[tokio::test]
async fn photo_decompression_bomb_is_refused_before_decoding() {
    let app = support::spawn().await;
    let jumin = app.token("jumin").await;
    let (b, _) = places(&app).await;
    let id = report(
        &app,
        &jumin,
        json!({"category": "noise", "description": "广场舞音响太大",
        "place_id": b[0]}),
    )
    .await;
    for (lang, says) in [("zh-CN", "4000 万像素"), ("en", "40 megapixels")] {
        let form = reqwest::multipart::Form::new().part(
            "photo",
            reqwest::multipart::Part::bytes(linli::cases::photos::header_only_png(20_000, 20_000))
                .file_name("bomb.png"),
        );
        let r = app
            .client()
            .post(app.url(&format!("/api/v1/cases/{id}/photos")))
            .bearer_auth(&jumin)
            .header("accept-language", lang)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let v: Value = r.json().await.unwrap();
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.contains(says), "{m}");
    }
    assert_eq!(
        app.query_i64("SELECT COUNT(*) FROM case_photos").await,
        0,
        "nothing stored"
    );
}
