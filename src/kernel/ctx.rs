//! What every part of a request's handling may ask — the language, whether it is an API call,
//! the request id — without passing it through every function. The HTTP shell sets it once per
//! request ([`scope`]); outside a request (jobs, the command line) the defaults apply.

use super::i18n::Lang;

/// The current request's language, kind, path and id.
#[derive(Clone, Debug, Default)]
pub struct RequestCtx {
    pub lang: Lang,
    pub api: bool,
    pub path: String,
    pub request_id: String,
    /// The request carried a session cookie (so a refusal to sign in means it ran out).
    pub had_session: bool,
}

tokio::task_local! {
    static CTX: RequestCtx;
}

/// The current request's context (defaults outside a request).
pub fn ctx() -> RequestCtx {
    CTX.try_with(|c| c.clone()).unwrap_or_default()
}

/// Runs `fut` with `ctx` as the request context.
pub async fn scope<F: std::future::Future>(ctx: RequestCtx, fut: F) -> F::Output {
    CTX.scope(ctx, fut).await
}
