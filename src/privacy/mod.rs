//! A resident's rights over her data and the protection of it in use: reveals with a purpose,
//! her access log and her data, corrections, exports with approval (分级审批), and the
//! retention purge; numbers typed into free text masked on display (`mask`). (The encryption
//! of personal fields at rest is the storage floor's: `store::keys`.)

pub mod http;
pub mod jobs;
pub mod mask;
pub mod notices;
pub mod own;
pub mod pages;
pub mod purposes;
pub mod retention;

use crate::http::area::{Area, Nav};
use crate::org::Caller;

/// What privacy contributes to the application.
pub fn area() -> Area {
    Area {
        openapi: <http::PrivacyApi as utoipa::OpenApi>::openapi,
        jobs: jobs::jobs,
        nav: &[
            Nav {
                order: 110,
                href: "/exports",
                id: "nav-exports",
                label: "nav.exports",
                shown: Caller::reads_registry,
            },
            Nav {
                order: 120,
                href: "/me/access-log",
                id: "nav-access",
                label: "nav.access",
                shown: |_| true,
            },
        ],
        ..Area::new("privacy", || http::router().merge(pages::router()))
    }
}

/// A page of the access log as asked: `kind` a comma-separated list of kinds (`reveal,export`;
/// empty: all), `before` the `seq` of the last entry already shown, `limit` at most 500.
pub(crate) fn access_query(
    kind: Option<&str>,
    before: Option<u64>,
    limit: Option<i64>,
) -> crate::kernel::error::AppResult<crate::audit::AccessQuery> {
    let mut kinds = Vec::new();
    for k in kind.unwrap_or("").split(',').map(str::trim) {
        if k.is_empty() {
            continue;
        }
        let a = crate::audit::Action::parse(k)
            .ok_or_else(|| crate::kernel::error::AppError::bad_request("error.access_kind"))?;
        if !kinds.contains(&a) {
            kinds.push(a);
        }
    }
    Ok(crate::audit::AccessQuery {
        kinds,
        before,
        limit: limit.unwrap_or(200).clamp(1, 500),
    })
}
