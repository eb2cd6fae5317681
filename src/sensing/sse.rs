//! The live stream of alert changes (Server-Sent Events), limited to the caller's scope; with
//! `devices=true` also the devices' new values.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use crate::http::Query;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::{Receiver, error::RecvError};
use utoipa::IntoParams;

use super::StateEvent;
use super::alerts::AlertEvent;
use crate::http::Signed;
use crate::kernel::error::AppResult;
use crate::org::Scope;
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Also send `state` events: a device's newest values as they are committed.
    pub devices: Option<bool>,
}

struct Feed {
    alerts: Receiver<Arc<AlertEvent>>,
    states: Option<Receiver<Arc<StateEvent>>>,
    scope: Vec<String>,
    /// The subscriber's language: each alert is said in it.
    lang: crate::kernel::i18n::Lang,
    opened: bool,
}

async fn next_state(
    rx: &mut Option<Receiver<Arc<StateEvent>>>,
) -> Result<Arc<StateEvent>, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Alert changes as they commit: events named `alert` whose data is
/// `{"action": "raised"|"repeated"|"acknowledged"|"cleared"|"escalated", "alert": {…}}`;
/// with `devices=true` also events named `state`: `{"device_id", "at", "values": […]}`.
/// An event named `resync` means some changes were missed: reload.
#[utoipa::path(get, path = "/api/v1/alerts/stream", tag = "sensing", params(StreamQuery), security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream", description = "alert (and device state) events"),
              (status = 401, body = crate::http::ErrorBody)))]
pub async fn alert_stream(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Query(q): Query<StreamQuery>,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    super::http::worker(&caller)?;
    let feed = Feed {
        alerts: crate::sensing::of(&state).events.subscribe(),
        states: q
            .devices
            .unwrap_or(false)
            .then(|| crate::sensing::of(&state).states.subscribe()),
        scope: caller.scope.registry.clone(),
        lang: crate::kernel::ctx().lang,
        opened: false,
    };
    let stream = futures_util::stream::unfold(feed, |mut f| async move {
        if !f.opened {
            f.opened = true;
            // Tells the client the stream is open (and lets tests wait for it).
            return Some((Ok(Event::default().event("ready").data("{}")), f));
        }
        loop {
            let ev = tokio::select! {
                a = f.alerts.recv() => match a {
                    Ok(ev) if Scope::covers(&f.scope, &ev.alert.place_path) => {
                        let mut ev = (*ev).clone();
                        ev.alert.localise(f.lang);
                        Event::default().event("alert").data(serde_json::to_string(&ev).unwrap_or_default())
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => Event::default().event("resync").data("{}"),
                    Err(RecvError::Closed) => return None,
                },
                s = next_state(&mut f.states) => match s {
                    Ok(ev) if Scope::covers(&f.scope, &ev.place_path) => {
                        Event::default().event("state").data(serde_json::to_string(&*ev).unwrap_or_default())
                    }
                    // Missed device values are not worth a reload: the next ones come soon.
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                },
            };
            return Some((Ok(ev), f));
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
