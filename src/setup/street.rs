//! The first run (issue 21 part 1): an empty database becomes a street — its district, the
//! street with its division code, the street's calendar and service catalogue defaults, and
//! its first administrator. `linli init` and the first-run page both end here.

use crate::audit::{self, Action, NewEntry};
use crate::org::place_edit::{self, Fields};
use crate::org::{Role, links, places, users};
use crate::store::{Conn, StoreError};

/// What the first run asks for, checked.
#[derive(Clone, Debug)]
pub struct StreetSpec {
    /// GB/T 2260 county-level code, six digits: `310115`.
    pub district_code: String,
    pub district_name: String,
    /// The statistics division code of the street: the district's six digits and three more
    /// (`310115004`), or the full twelve.
    pub street_code: String,
    pub street_name: String,
}

/// The first administrator: her username and name, and her password when she is at the
/// screen (the first-run page); without one she gets a one-time activation link.
#[derive(Clone, Debug)]
pub struct AdminSpec {
    pub username: users::Username,
    pub display_name: String,
    pub password_hash: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A catalogue key saying what is wrong with the input.
    #[error("{0}")]
    Invalid(&'static str),
    #[error("this database already has a street: {name} ({code})")]
    AlreadySetUp { name: String, code: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::cases::CaseError> for InitError {
    fn from(e: crate::cases::CaseError) -> Self {
        match e {
            crate::cases::CaseError::Store(e) => InitError::Store(e),
            other => InitError::Store(StoreError::Db(format!("{other:?}"))),
        }
    }
}

impl StreetSpec {
    /// Checks the codes and names as typed (full-width digits are read as digits).
    pub fn parse(
        district_code: &str,
        district_name: &str,
        street_code: &str,
        street_name: &str,
    ) -> Result<StreetSpec, &'static str> {
        let district_code = crate::kernel::text::fold_width(district_code);
        let street_code = crate::kernel::text::fold_width(street_code);
        let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
        if district_code.len() != 6 || !digits(&district_code) {
            return Err("setup.error.district_code");
        }
        if !(street_code.len() == 9 || street_code.len() == 12)
            || !digits(&street_code)
            || !street_code.starts_with(&district_code)
        {
            return Err("setup.error.street_code");
        }
        let district_name = place_edit::check_name(district_name)?;
        let street_name = place_edit::check_name(street_name)?;
        Ok(StreetSpec {
            district_code,
            district_name,
            street_code,
            street_name,
        })
    }
}

/// What the first run made.
#[derive(Clone, Debug)]
pub struct Initialised {
    pub street_id: i64,
    pub street_path: String,
    pub admin_id: i64,
    /// The activation link's token and expiry, when no password was given.
    pub activation: Option<(String, i64)>,
}

/// Whether the database has no street yet (the first run is still to come).
pub fn is_empty(c: &mut dyn Conn) -> Result<bool, StoreError> {
    Ok(place_edit::first_street(c)?.is_none())
}

/// Creates the district, the street, its defaults and its first administrator, in the
/// caller's transaction. Refused when the database already has a street.
pub fn init(
    c: &mut dyn Conn,
    spec: &StreetSpec,
    admin: &AdminSpec,
    now: i64,
) -> Result<Initialised, InitError> {
    if let Some((name, code)) = place_edit::first_street(c)? {
        return Err(InitError::AlreadySetUp { name, code });
    }
    let district = match places::by_path(c, &spec.district_code)? {
        Some(d) => d,
        None => {
            let id = place_edit::insert(
                c,
                None,
                "district",
                &spec.district_code,
                &spec.district_name,
                &Fields::default(),
                now,
            )?;
            places::by_id_unscoped(c, id)?
                .ok_or_else(|| StoreError::Db("the new district is missing".into()))?
        }
    };
    let street_id = place_edit::insert(
        c,
        Some(&district),
        "street",
        &spec.street_code,
        &spec.street_name,
        &Fields::default(),
        now,
    )?;
    let street = places::by_id_unscoped(c, street_id)?
        .ok_or_else(|| StoreError::Db("the new street is missing".into()))?;
    for p in [&district, &street] {
        place_edit::record_version(
            c,
            p,
            None,
            "init",
            &serde_json::json!({"code": [null, p.code], "name": [null, p.name]}),
            now,
        )?;
    }
    crate::cases::defaults::seed_street(c, street_id)?;
    // An administrator without a password cannot sign in until she follows her link.
    let admin_id = users::create(
        c,
        users::NewUser {
            username: &admin.username,
            display_name: &admin.display_name,
            password_hash: admin
                .password_hash
                .as_deref()
                .unwrap_or(users::unusable_hash()),
            street_id: Some(street_id),
            person_id: None,
            created_by: None,
        },
    )?;
    users::add_grant(
        c,
        admin_id,
        Role::StreetAdmin,
        Some(street_id),
        None,
        Some(street_id),
        None,
    )?;
    let activation = match admin.password_hash {
        Some(_) => None,
        None => Some(links::issue(
            c,
            admin_id,
            Some(street_id),
            links::Purpose::Activate,
            None,
            now,
        )?),
    };
    let mut e = NewEntry::anonymous(Action::PermissionChange, "linli init");
    e.street_id = Some(street_id);
    audit::append(
        c,
        vec![
            e.subjects([audit::user(admin_id)])
                .purpose(format!("init street {}", street.path)),
        ],
    )?;
    Ok(Initialised {
        street_id,
        street_path: street.path,
        admin_id,
        activation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_codes_are_checked() {
        assert!(StreetSpec::parse("310115", "浦东新区", "310115004", "潍坊新村街道").is_ok());
        assert!(
            StreetSpec::parse("３１０１１５", "浦东新区", "310115004000", "潍坊新村街道").is_ok()
        );
        assert_eq!(
            StreetSpec::parse("31011", "浦东新区", "310115004", "x").err(),
            Some("setup.error.district_code")
        );
        assert_eq!(
            StreetSpec::parse("310115", "浦东新区", "310116004", "x").err(),
            Some("setup.error.street_code")
        );
        assert_eq!(
            StreetSpec::parse("310115", "浦东新区", "3101150041", "x").err(),
            Some("setup.error.street_code")
        );
        assert_eq!(
            StreetSpec::parse("310115", " ", "310115004", "x").err(),
            Some("setup.error.name_empty")
        );
    }
}
