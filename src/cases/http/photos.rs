//! Case photos over the API: uploads, checks and reading one back.

use super::*;

/// A multipart field's bytes; a body over the route's limit is a photo too large.
pub async fn upload_bytes(field: axum::extract::multipart::Field<'_>) -> AppResult<bytes::Bytes> {
    field.bytes().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::invalid("case.err_photo_size")
        } else {
            AppError::bad_request("error.bad_form")
        }
    })
}

/// A photo upload as read from its form.
pub struct Upload {
    pub raw: Vec<u8>,
    /// Its location may be kept.
    pub share: bool,
    /// Its uploader (the reporter) allows it on the public page, once a worker approved it.
    pub public: bool,
    /// The form's CSRF token.
    pub csrf: String,
}

/// Reads a photo upload: the file, whether its location may be kept, whether it may be shown
/// publicly, and the form's CSRF token.
pub async fn read_upload(mut m: axum::extract::Multipart) -> AppResult<Upload> {
    let (mut raw, mut share, mut public, mut csrf) = (None, false, false, String::new());
    while let Some(field) = m
        .next_field()
        .await
        .map_err(|_| AppError::bad_request("error.bad_form"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let data = upload_bytes(field).await?;
        match name.as_str() {
            "photo" => raw = Some(data.to_vec()),
            "share_location" => {
                share = matches!(&data[..], b"1" | b"true" | b"on" | b"yes");
            }
            "public" => {
                public = matches!(&data[..], b"1" | b"true" | b"on" | b"yes");
            }
            "csrf" => csrf = String::from_utf8_lossy(&data).to_string(),
            _ => {}
        }
    }
    let raw = raw.ok_or_else(|| AppError::invalid("case.err_photo_empty"))?;
    Ok(Upload {
        raw,
        share,
        public,
        csrf,
    })
}

/// Stores a photo of an open case for someone with a role towards it; its reporter may allow
/// it on the public page (`public`), where it shows once a worker approved it.
pub async fn add_photo(
    state: &AppState,
    caller: &Caller,
    id: i64,
    raw: Vec<u8>,
    share: bool,
    public: bool,
) -> AppResult<crate::cases::photos::Photo> {
    let viewer = Viewer::of(caller);
    let now = now_ms();
    let case = state
        .db
        .read(move |c| crate::cases::get(c, id, now))
        .await?
        .filter(|k| !viewer.actors(k).is_empty())
        .ok_or_else(AppError::not_found)?;
    if !case.is_open() {
        return Err(CaseError::Conflict(crate::cases::Why::Key("case.err_photo_closed")).into());
    }
    let public = public && case.reporter_id == Some(caller.user_id);
    let prepared = check_photos(vec![(raw, share)]).await?;
    let photo = attach_photos(state, case, caller.user_id, prepared)
        .await?
        .remove(0);
    if public {
        let pid = photo.id;
        state
            .db
            .write(move |c| crate::cases::public::allow_photo(c, pid))
            .await?;
    }
    Ok(photo)
}

/// Checks uploads and prepares what is stored (type by content, size, pixels, thumbnail,
/// location kept or stripped), off the async threads and one upload's pictures at a time
/// among at most [`crate::cases::photos::IMAGE_WORK`]'s permits; the first bad one's reason otherwise.
pub async fn check_photos(
    uploads: Vec<(Vec<u8>, bool)>,
) -> AppResult<Vec<crate::cases::photos::Prepared>> {
    let _permit = crate::cases::photos::IMAGE_WORK
        .acquire()
        .await
        .map_err(|e| AppError::internal("waiting to check a photo", e))?;
    let checked = tokio::task::spawn_blocking(move || {
        uploads
            .iter()
            .map(|(raw, share)| crate::cases::photos::prepare(raw, *share))
            .collect::<Result<Vec<_>, CaseError>>()
    })
    .await
    .map_err(|e| AppError::internal("checking a photo", e))?;
    Ok(checked?)
}

/// Stores checked photos with a case: files written and synced off the async threads and
/// outside the write transaction, then their rows in one transaction; should the rows not be
/// stored, the files go again.
pub async fn attach_photos(
    state: &AppState,
    case: Case,
    uploader: i64,
    prepared: Vec<crate::cases::photos::Prepared>,
) -> AppResult<Vec<crate::cases::photos::Photo>> {
    let now = now_ms();
    let dir = state.cfg.data_dir.clone();
    let for_files = case.clone();
    let (prepared, files) = tokio::task::spawn_blocking(move || {
        let mut files: Vec<crate::cases::photos::Files> = Vec::new();
        for p in &prepared {
            match crate::cases::photos::write_files(&dir, &for_files, p) {
                Ok(f) => files.push(f),
                Err(e) => {
                    files.iter().for_each(|f| f.remove(&dir));
                    return Err(crate::store::StoreError::Db(format!(
                        "writing a photo: {e}"
                    )));
                }
            }
        }
        Ok((prepared, files))
    })
    .await
    .map_err(|e| AppError::internal("writing a photo", e))??;
    let files = Arc::new(files);
    let stored = {
        let files = files.clone();
        state
            .db
            .write_tx(move |c| {
                prepared
                    .iter()
                    .zip(files.iter())
                    .map(|(p, f)| crate::cases::photos::store(c, &case, uploader, p, f, now))
                    .collect::<Result<Vec<_>, CaseError>>()
            })
            .await
    };
    if stored.is_err() {
        files.iter().for_each(|f| f.remove(&state.cfg.data_dir));
    }
    Ok(stored?)
}

/// Adds a photo (multipart: `photo`, `share_location=1` to keep its EXIF location, and
/// `public=1` from the reporter to allow it on the public page once a worker approved it).
/// JPEG or PNG by content, at most 5 MB, 12 per case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/photos", tag = "cases", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", content = String), security(("bearer" = [])),
    responses((status = 201, body = crate::cases::photos::Photo), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_photo(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    m: axum::extract::Multipart,
) -> AppResult<(StatusCode, Json<crate::cases::photos::Photo>)> {
    let u = read_upload(m).await?;
    let p = add_photo(&state, &caller, id, u.raw, u.share, u.public).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PhotoQuery {
    /// `1` for the thumbnail.
    pub thumb: Option<u8>,
}

/// A photo of a case the caller may see (`?thumb=1` for its thumbnail).
#[utoipa::path(get, path = "/api/v1/cases/{id}/photos/{pid}", tag = "cases",
    params(("id" = i64, Path), ("pid" = i64, Path), PhotoQuery), security(("bearer" = [])),
    responses((status = 200, description = "the photo as uploaded (JPEG or PNG), or its JPEG thumbnail", content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"))), (status = 404, body = ErrorBody)))]
pub async fn get_photo(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, pid)): Path<(i64, i64)>,
    Query(q): Query<PhotoQuery>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let viewer = Viewer::of(&caller);
    let now = now_ms();
    let uid = caller.user_id;
    let found = state
        .db
        .read(move |c| {
            let Some(case) = crate::cases::get(c, id, now)? else {
                return Ok(None);
            };
            let follows = crate::cases::follows(c, id, uid)?;
            if viewer.actors(&case).is_empty() && !follows {
                return Ok(None);
            }
            Ok(crate::cases::photos::of_case(c, id)?
                .into_iter()
                .find(|p| p.id == pid))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    let (rel, ctype) = if q.thumb == Some(1) {
        (found.thumb.clone(), "image/jpeg".to_string())
    } else {
        (found.file.clone(), found.content_type.clone())
    };
    let bytes = tokio::fs::read(state.cfg.data_dir.join(&rel))
        .await
        .map_err(|e| AppError::internal("reading a photo", e))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, ctype),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
