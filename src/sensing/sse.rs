//! The live stream of alert changes (Server-Sent Events), limited to the caller's scope.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::app::AppState;
use crate::error::AppResult;
use crate::org::Scope;
use crate::web::Signed;

/// Alert changes as they commit: events named `alert` whose data is
/// `{"action": "raised"|"repeated"|"acknowledged"|"cleared"|"escalated", "alert": {…}}`.
/// An event named `resync` means some changes were missed: reload the list.
#[utoipa::path(get, path = "/api/v1/alerts/stream", tag = "sensing", security(("bearer" = [])),
    responses((status = 200, content_type = "text/event-stream", description = "alert events"),
              (status = 401, body = crate::api::ErrorBody)))]
pub async fn alert_stream(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    super::http::worker(&caller)?;
    let rx = state.sensing.events.subscribe();
    let scope = caller.scope.registry.clone();
    let stream =
        futures_util::stream::unfold((rx, scope, true), |(mut rx, scope, first)| async move {
            if first {
                // Tells the client the stream is open (and lets tests wait for it).
                return Some((
                    Ok(Event::default().event("ready").data("{}")),
                    (rx, scope, false),
                ));
            }
            loop {
                match rx.recv().await {
                    Ok(ev) => {
                        if !Scope::covers(&scope, &ev.alert.place_path) {
                            continue;
                        }
                        let data = serde_json::to_string(&*ev).unwrap_or_default();
                        return Some((
                            Ok(Event::default().event("alert").data(data)),
                            (rx, scope, false),
                        ));
                    }
                    Err(RecvError::Lagged(_)) => {
                        return Some((
                            Ok(Event::default().event("resync").data("{}")),
                            (rx, scope, false),
                        ));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
