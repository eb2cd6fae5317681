//! Typed identifiers: a person's id cannot be passed where a household's is expected. Each is
//! the row's integer key, serialised as that bare number (so the JSON API is unchanged).

macro_rules! id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The row's integer key.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                $name(v)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id! {
    /// A street (the tenant key every tenant table carries).
    StreetId,
    /// A place of the hierarchy: street, community, grid, building, unit.
    PlaceId,
    /// A housing unit (a flat), which is also a place.
    UnitId,
    /// A person of the registry.
    PersonId,
    /// A household of the registry.
    HouseholdId,
    /// A signed-in account.
    UserId,
    /// An organisation that receives work: a department or a property company.
    OrgId,
    /// A case's identifier.
    CaseId,
    /// A sensing device.
    DeviceId,
    /// An alert raised by a sensing rule.
    AlertId,
}

/// A random token of 256 bits (URL-safe base64) after `prefix`: session and API tokens, keys,
/// request and process ids.
pub fn random_token(prefix: &str) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    )
}
