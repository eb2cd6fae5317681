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
    every_error_documented(&mut doc);
    let mut s = doc
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    s.push('\n');
    s
}

/// Every operation may answer with an error (401 without sign-in, 403 out of scope, 429, 503
/// when busy, …): an operation that does not list a status explicitly answers errors with the
/// one error body, whose `code` is one of `ErrorCode`.
fn every_error_documented(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = ResponseBuilder::new()
        .description("An error: `{\"error\":{\"code\",\"message\"}}`; `code` is one of ErrorCode.")
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            op.responses
                .responses
                .entry("default".to_string())
                .or_insert_with(|| error.clone().into());
        }
    }
}
