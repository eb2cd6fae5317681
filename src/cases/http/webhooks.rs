//! An organisation's webhook over the API.

use super::*;

#[derive(Deserialize, ToSchema)]
pub struct WebhookRequest {
    /// `https://…` (checked against the system's CA certificates) or `http://…`; empty to
    /// remove the webhook. Bodies are JSON, signed in the
    /// `X-Linli-Signature: sha256=HEX` header with HMAC-SHA256 over the body.
    pub url: String,
    /// The shared secret, at least 16 characters.
    #[serde(default)]
    pub secret: String,
}

/// Sets the webhook an organisation's notifications are also posted to (street administrators).
#[utoipa::path(put, path = "/api/v1/orgs/{id}/webhook", tag = "cases", params(("id" = i64, Path)),
    request_body = WebhookRequest, security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_webhook(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(w): ApiJson<WebhookRequest>,
) -> AppResult<StatusCode> {
    let street = crate::org::access::street_admin(&caller)?;
    let url = w.url.trim().to_string();
    if !url.is_empty() {
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        if !scheme_ok
            || url
                .parse::<hyper::Uri>()
                .map_or(true, |u| u.host().is_none())
        {
            return Err(AppError::invalid("case.err_webhook_url"));
        }
        if w.secret.chars().count() < 16 {
            return Err(AppError::invalid("case.err_webhook_secret"));
        }
        if let Err(why) = notify::check_destination(&url, &state.cfg.webhook_allow).await {
            tracing::warn!(url = %url, reason = %why, "a webhook address was refused");
            return Err(AppError::invalid("case.err_webhook_private"));
        }
    }
    let found = state
        .db
        .write(move |c| {
            if !crate::cases::org_in_street(c, id, street)? {
                return Ok(false);
            }
            let hook = (!url.is_empty()).then_some((url.as_str(), w.secret.as_str()));
            notify::set_webhook(c, street, id, hook)?;
            Ok(true)
        })
        .await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found())
    }
}
