//! The inbox: what a user has been told about cases.

use super::*;

pub(super) struct InboxView {
    pub(super) id: i64,
    pub(super) label: &'static str,
    pub(super) case_id: Option<i64>,
    pub(super) note: String,
    pub(super) at: String,
    pub(super) read: bool,
}

#[derive(Template)]
#[template(path = "cases/inbox.html")]
pub(super) struct InboxPage {
    pub(super) l: Layout,
    pub(super) items: Vec<InboxView>,
    pub(super) unread: usize,
}

pub(super) async fn inbox_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    let uid = caller.user_id;
    let items = state.db.read(move |c| notify::inbox(c, uid, 200)).await?;
    let t = Tr(ctx().lang);
    let items = items
        .into_iter()
        .map(|i| InboxView {
            id: i.id,
            label: t.k("case.inbox", &i.kind),
            case_id: i.case_id,
            note: i.note,
            at: when(i.created_at),
            read: i.read,
        })
        .collect::<Vec<_>>();
    let unread = items.iter().filter(|i: &&InboxView| !i.read).count();
    Ok(render(
        &InboxPage {
            l: Layout::new(Some(&caller)),
            items,
            unread,
        },
        StatusCode::OK,
    ))
}

pub(super) async fn inbox_read(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(f): ApiForm<crate::http::CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let uid = caller.user_id;
    let now = crate::store::now_ms();
    state
        .db
        .write(move |c| notify::mark_read(c, uid, id, now))
        .await?;
    Ok(Redirect::to("/inbox").into_response())
}

/// Marks all the caller's messages read (the inbox page's button).
pub(super) async fn inbox_read_all(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    ApiForm(f): ApiForm<crate::http::CsrfForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let uid = caller.user_id;
    let now = crate::store::now_ms();
    state
        .db
        .write(move |c| notify::mark_all_read(c, uid, now))
        .await?;
    Ok(Redirect::to("/inbox").into_response())
}
