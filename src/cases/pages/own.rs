//! The case page's forms about what residents see: the reporter's update on her open report,
//! a worker's approval of a photo for the public page.

use super::*;

#[derive(Deserialize)]
pub(super) struct UpdateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

pub(super) async fn update_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<UpdateForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    crate::cases::http::update(&state, &caller, id, f.text).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done=update")).into_response())
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub(super) async fn approve_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, pid)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    crate::cases::http::approve(&state, &caller, id, pid).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done=photo_approved")).into_response())
}
