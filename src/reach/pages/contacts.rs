//! A cared-for person's contacts for care alerts (family, helper), in the order the chain
//! tells them, each with the consent recorded: for the workers who keep her record (registry
//! readers in her scope). Names and addresses are shown masked; each look is in her access log.

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::http::{ApiForm, Path, Query, Signed, check_csrf};
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::local_time;
use crate::reach::model::Channel;
use crate::reach::service;
use crate::reach::settings::{Contact, NewContact};
use crate::state::AppState;
use crate::web::{Layout, render};

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/reach/persons/{id}/contacts",
            get(contacts_page).post(contact_add),
        )
        .route(
            "/reach/persons/{id}/contacts/{contact}/remove",
            post(contact_remove),
        )
}

#[derive(Template)]
#[template(path = "reach/contacts.html")]
pub(crate) struct ContactsPage {
    l: Layout,
    person: i64,
    list: Vec<Contact>,
    error: Option<String>,
    form: ContactForm,
}

impl ContactsPage {
    fn when(&self, ms: &i64) -> String {
        local_time(*ms)
    }
    fn channel(&self, c: &Channel) -> &'static str {
        self.l.t.s(&format!("reach.channel.{}", c.as_str()))
    }
    fn relation(&self, r: &str) -> &'static str {
        self.l.t.s(&format!("reach.relation.{r}"))
    }
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    relation: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    timeout_min: String,
    #[serde(default)]
    consent_note: String,
}

#[derive(Deserialize, Default)]
pub(crate) struct DoneQuery {
    done: Option<String>,
}

pub(crate) async fn contacts_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(person): Path<i64>,
    Query(q): Query<DoneQuery>,
) -> AppResult<Response> {
    let list = service::contacts(&state, &caller, person).await?;
    let mut l = Layout::new(Some(&caller));
    match q.done.as_deref() {
        Some("added") => l.flash = Some(l.t.s("reach.contact_added").to_string()),
        Some("removed") => l.flash = Some(l.t.s("reach.contact_removed").to_string()),
        _ => {}
    }
    Ok(render(&ContactsPage {
        l,
        person,
        list,
        error: None,
        form: ContactForm {
            relation: "family".into(),
            channel: "sms".into(),
            timeout_min: "10".into(),
            ..ContactForm::default()
        },
    }))
}

pub(crate) async fn contact_add(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(person): Path<i64>,
    ApiForm(f): ApiForm<ContactForm>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    let timeout = match f.timeout_min.trim() {
        "" => Ok(None),
        t => t.parse::<i64>().map(Some),
    };
    let outcome = match (Channel::parse(&f.channel), timeout) {
        (Some(channel), Ok(timeout_min)) => {
            let n = NewContact {
                relation: f.relation.clone(),
                name: f.name.clone(),
                channel,
                address: f.address.clone(),
                timeout_min,
                consent_note: f.consent_note.clone(),
            };
            service::add_contact(&state, &caller, person, n)
                .await
                .map(|_| ())
        }
        (None, _) => Err(AppError::invalid("reach.err.channel")),
        (_, Err(_)) => Err(AppError::invalid("reach.err.timeout")),
    };
    match outcome {
        Ok(()) => Ok(
            Redirect::to(&format!("/reach/persons/{person}/contacts?done=added")).into_response(),
        ),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            let list = service::contacts(&state, &caller, person).await?;
            let mut res = render(&ContactsPage {
                l: Layout::new(Some(&caller)),
                person,
                list,
                error: Some(e.message(ctx().lang)),
                form: f,
            });
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn contact_remove(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((person, contact)): Path<(i64, i64)>,
    ApiForm(f): ApiForm<CsrfOnly>,
) -> AppResult<Response> {
    check_csrf(&caller, &f.csrf)?;
    service::remove_contact(&state, &caller, person, contact).await?;
    Ok(Redirect::to(&format!("/reach/persons/{person}/contacts?done=removed")).into_response())
}
