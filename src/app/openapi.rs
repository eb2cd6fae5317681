//! The OpenAPI document: the service's header, the error body and the bearer scheme, merged with
//! every area's paths and schemas. Served at `/api/v1/openapi.json` and committed as
//! `docs/openapi.json` (a test keeps the two equal).

use utoipa::OpenApi;

use crate::http::{ErrorBody, ErrorDetail};

#[derive(OpenApi)]
#[openapi(
    info(title = "linli API", version = "1", description = "linli (邻里): neighbourhood governance and services. Errors are {\"error\":{\"code\",\"message\"}}."),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    tags((name = "session"), (name = "places"), (name = "registry"), (name = "users"), (name = "audit"), (name = "cases"))
)]
struct Shell;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The generated document, pretty-printed, as served and as committed.
pub fn openapi_json() -> String {
    let mut doc = Shell::openapi();
    for area in super::areas::areas() {
        doc.merge((area.openapi)());
    }
    let mut s = doc
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    s.push('\n');
    s
}
