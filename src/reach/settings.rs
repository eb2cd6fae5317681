//! What reach keeps besides the outbox: a street's SMTP server and SMS template, each
//! account's addresses (encrypted like phones), quiet hours and language, the group robots,
//! the cared-for persons' contacts with their consent, and the communities' duty workers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{Channel, Quiet, check_address, mask};
use super::sms::Template;
use crate::params;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, Result};

/// A street's channels as its administrator sees them (never the password).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(as = Reach_Settings)]
pub struct Settings {
    #[serde(default)]
    pub smtp_host: String,
    #[serde(default = "default_port")]
    pub smtp_port: u16,
    /// starttls (default), tls, plain
    #[serde(default)]
    pub smtp_security: String,
    #[serde(default)]
    pub smtp_user: String,
    /// Only when setting it; never answered. Empty keeps the one stored.
    #[serde(default, skip_serializing)]
    pub smtp_password: String,
    /// Whether a password is stored.
    #[serde(default)]
    pub smtp_password_set: bool,
    #[serde(default)]
    pub smtp_from: String,
    /// The SMS gateway's template; none to send no SMS.
    #[serde(default)]
    pub sms: Option<Template>,
}

fn default_port() -> u16 {
    587
}

impl Settings {
    /// Checks what an administrator typed (a catalogue key when refused).
    pub fn check(&self) -> std::result::Result<(), &'static str> {
        if !self.smtp_host.is_empty() {
            if self.smtp_host.len() > 255
                || !self
                    .smtp_host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
            {
                return Err("reach.err.smtp_host");
            }
            if !matches!(
                self.smtp_security.as_str(),
                "" | "starttls" | "tls" | "plain"
            ) {
                return Err("reach.err.smtp_security");
            }
            super::model::check_email(&self.smtp_from).map_err(|_| "reach.err.smtp_from")?;
            if self.smtp_port == 0 {
                return Err("reach.err.smtp_port");
            }
        }
        if let Some(t) = &self.sms {
            t.check()?;
        }
        Ok(())
    }
}

pub fn load(c: &mut dyn Conn, street: i64) -> Result<Settings> {
    let Some(r) = c.query_opt(
        "SELECT smtp_host, smtp_port, smtp_security, smtp_user, smtp_pass, smtp_from, sms_url, sms_headers, \
         sms_format, sms_body, sms_success FROM reach_settings WHERE street_id = $1",
        params![street],
    )?
    else {
        return Ok(Settings {
            smtp_port: 587,
            smtp_security: "starttls".into(),
            ..Settings::default()
        });
    };
    let sms = (!r.str(6).is_empty()).then(|| Template {
        url: r.str(6),
        headers: serde_json::from_str(&r.str(7)).unwrap_or_default(),
        format: r.str(8),
        body: r.str(9),
        success: r.str(10),
    });
    Ok(Settings {
        smtp_host: r.str(0),
        smtp_port: r.i64(1) as u16,
        smtp_security: r.str(2),
        smtp_user: r.str(3),
        smtp_password: String::new(),
        smtp_password_set: r.blob(4).is_some(),
        smtp_from: r.str(5),
        sms,
    })
}

/// Saves a street's settings; an empty password keeps the one stored.
pub fn save(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    street: i64,
    s: &Settings,
    by: i64,
    now: i64,
) -> Result<()> {
    let old_pass: Option<Vec<u8>> = c
        .query_opt(
            "SELECT smtp_pass FROM reach_settings WHERE street_id = $1",
            params![street],
        )?
        .and_then(|r| r.blob(0));
    let pass = if s.smtp_password.is_empty() {
        old_pass
    } else {
        Some(keys.encrypt(&s.smtp_password))
    };
    let sms = s.sms.clone().unwrap_or_default();
    let security = if s.smtp_security.is_empty() {
        "starttls"
    } else {
        s.smtp_security.as_str()
    };
    c.exec(
        "INSERT INTO reach_settings (street_id, smtp_host, smtp_port, smtp_security, smtp_user, smtp_pass, smtp_from, \
         sms_url, sms_headers, sms_format, sms_body, sms_success, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (street_id) DO UPDATE SET smtp_host = excluded.smtp_host, smtp_port = excluded.smtp_port, \
         smtp_security = excluded.smtp_security, smtp_user = excluded.smtp_user, smtp_pass = excluded.smtp_pass, \
         smtp_from = excluded.smtp_from, sms_url = excluded.sms_url, sms_headers = excluded.sms_headers, \
         sms_format = excluded.sms_format, sms_body = excluded.sms_body, sms_success = excluded.sms_success, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        params![
            street,
            s.smtp_host.as_str(),
            s.smtp_port as i64,
            security,
            s.smtp_user.as_str(),
            pass,
            s.smtp_from.as_str(),
            sms.url,
            serde_json::to_string(&sms.headers).unwrap_or_else(|_| "[]".into()),
            if sms.format.is_empty() { "json".to_string() } else { sms.format },
            sms.body,
            sms.success,
            now,
            by
        ],
    )?;
    Ok(())
}

/// A street's SMTP server with its password, for sending.
pub fn smtp_server(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    street: i64,
) -> Result<Option<super::smtp::Server>> {
    let Some(r) = c.query_opt(
        "SELECT smtp_host, smtp_port, smtp_security, smtp_user, smtp_pass, smtp_from FROM reach_settings WHERE street_id = $1",
        params![street],
    )?
    else {
        return Ok(None);
    };
    if r.str(0).is_empty() {
        return Ok(None);
    }
    Ok(Some(super::smtp::Server {
        host: r.str(0),
        port: r.i64(1) as u16,
        security: r.str(2),
        user: r.str(3),
        password: r.blob(4).and_then(|b| keys.decrypt(&b)).unwrap_or_default(),
        from: r.str(5),
    }))
}

/// One of an account's addresses, masked.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_Address)]
pub struct Address {
    pub channel: Channel,
    pub masked: String,
    pub enabled: bool,
}

/// An account's settings: addresses, quiet hours, language.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_Mine)]
pub struct Mine {
    pub addresses: Vec<Address>,
    /// "22:00", or none.
    pub quiet_from: Option<String>,
    pub quiet_to: Option<String>,
    /// zh or en
    pub lang: String,
}

pub fn mine(c: &mut dyn Conn, user: i64) -> Result<Mine> {
    let addresses = c
        .query(
            "SELECT channel, masked, enabled FROM reach_addresses WHERE user_id = $1 ORDER BY channel",
            params![user],
        )?
        .iter()
        .filter_map(|r| {
            Some(Address {
                channel: Channel::parse(&r.str(0))?,
                masked: r.str(1),
                enabled: r.bool(2),
            })
        })
        .collect();
    let p = c.query_opt(
        "SELECT quiet_from, quiet_to, lang FROM reach_prefs WHERE user_id = $1",
        params![user],
    )?;
    Ok(Mine {
        addresses,
        quiet_from: p.as_ref().and_then(|r| r.opt_i64(0)).map(Quiet::hm),
        quiet_to: p.as_ref().and_then(|r| r.opt_i64(1)).map(Quiet::hm),
        lang: p.map(|r| r.str(2)).unwrap_or_else(|| "zh".into()),
    })
}

/// Sets (or, with `None`, removes) an account's address on a channel, checked and encrypted.
pub fn set_address(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    street: i64,
    user: i64,
    ch: Channel,
    address: Option<&str>,
    now: i64,
) -> Result<std::result::Result<(), &'static str>> {
    let Some(a) = address.map(str::trim).filter(|a| !a.is_empty()) else {
        c.exec(
            "DELETE FROM reach_addresses WHERE user_id = $1 AND channel = $2",
            params![user, ch.as_str()],
        )?;
        return Ok(Ok(()));
    };
    let a = match check_address(ch, a) {
        Ok(a) => a,
        Err(k) => return Ok(Err(k)),
    };
    c.exec(
        "INSERT INTO reach_addresses (street_id, user_id, channel, address, masked, enabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6) ON CONFLICT (user_id, channel) DO UPDATE SET address = excluded.address, \
         masked = excluded.masked, enabled = 1",
        params![street, user, ch.as_str(), keys.encrypt(&a), mask(ch, &a), now],
    )?;
    Ok(Ok(()))
}

pub fn set_prefs(
    c: &mut dyn Conn,
    street: i64,
    user: i64,
    quiet: Option<Quiet>,
    lang: &str,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO reach_prefs (user_id, street_id, quiet_from, quiet_to, lang, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (user_id) DO UPDATE SET quiet_from = excluded.quiet_from, quiet_to = excluded.quiet_to, \
         lang = excluded.lang, updated_at = excluded.updated_at",
        params![user, street, quiet.map(|q| q.from), quiet.map(|q| q.to), lang, now],
    )?;
    Ok(())
}

/// A group robot, as listed (its URL's secret parts never shown).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_Robot)]
pub struct Robot {
    pub id: i64,
    pub place_id: i64,
    pub name: String,
    pub kind: Channel,
    /// The URL's host only.
    pub host: String,
    pub signed: bool,
    pub active: bool,
}

#[allow(clippy::too_many_arguments)]
pub fn add_robot(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    street: i64,
    place: (i64, &str),
    name: &str,
    kind: Channel,
    url: &str,
    secret: Option<&str>,
    now: i64,
) -> Result<i64> {
    c.query_i64(
        "INSERT INTO reach_robots (street_id, place_id, place_path, name, kind, url, secret, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8) RETURNING id",
        params![
            street,
            place.0,
            place.1,
            name,
            kind.as_str(),
            url,
            secret.filter(|s| !s.is_empty()).map(|s| keys.encrypt(s)),
            now
        ],
    )
}

pub fn robots(c: &mut dyn Conn, street: i64) -> Result<Vec<Robot>> {
    Ok(c
        .query(
            "SELECT id, place_id, name, kind, url, CASE WHEN secret IS NULL THEN 0 ELSE 1 END, active FROM reach_robots WHERE street_id = $1 ORDER BY id",
            params![street],
        )?
        .iter()
        .map(|r| Robot {
            id: r.i64(0),
            place_id: r.i64(1),
            name: r.str(2),
            kind: Channel::parse(&r.str(3)).unwrap_or(Channel::Wecom),
            host: r
                .str(4)
                .parse::<hyper::Uri>()
                .ok()
                .and_then(|u| u.host().map(str::to_string))
                .unwrap_or_default(),
            signed: r.bool(5),
            active: r.bool(6),
        })
        .collect())
}

/// A cared-for person's contact, as listed (name and address masked).
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Reach_Contact)]
pub struct Contact {
    pub id: i64,
    pub position: i64,
    /// family, helper
    pub relation: String,
    pub name_masked: String,
    pub channel: Channel,
    pub address_masked: String,
    pub timeout_min: i64,
    pub consent_at: i64,
    pub consent_note: String,
}

/// What a worker records of a contact: who, how to reach her, and her consent.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = Reach_NewContact)]
pub struct NewContact {
    /// family or helper
    pub relation: String,
    pub name: String,
    pub channel: Channel,
    pub address: String,
    /// Minutes before the chain goes on to the next (1–240; default 10).
    #[serde(default)]
    pub timeout_min: Option<i64>,
    /// How the contact agreed (e.g. "电话同意 2026-03-01"); required.
    pub consent_note: String,
}

pub fn add_contact(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    street: i64,
    person: i64,
    n: &NewContact,
    by: i64,
    now: i64,
) -> Result<std::result::Result<i64, &'static str>> {
    if !matches!(n.relation.as_str(), "family" | "helper") {
        return Ok(Err("reach.err.relation"));
    }
    let name = n.name.trim();
    if name.is_empty()
        || name.chars().count() > 40
        || crate::kernel::text::check_note(name).is_err()
    {
        return Ok(Err("reach.err.name"));
    }
    let note = n.consent_note.trim();
    if note.is_empty()
        || note.chars().count() > 200
        || crate::kernel::text::check_note(note).is_err()
    {
        return Ok(Err("reach.err.consent"));
    }
    let timeout = n.timeout_min.unwrap_or(10);
    if !(1..=240).contains(&timeout) {
        return Ok(Err("reach.err.timeout"));
    }
    let address = match check_address(n.channel, &n.address) {
        Ok(a) => a,
        Err(k) => return Ok(Err(k)),
    };
    let position = c.query_i64(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM reach_contacts WHERE person_id = $1",
        params![person],
    )?;
    Ok(Ok(c.query_i64(
        "INSERT INTO reach_contacts (street_id, person_id, position, relation, name, channel, address, masked, timeout_min, \
         consent_at, consent_note, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $10) RETURNING id",
        params![
            street,
            person,
            position,
            n.relation.as_str(),
            name,
            n.channel.as_str(),
            keys.encrypt(&address),
            mask(n.channel, &address),
            timeout,
            now,
            note,
            by
        ],
    )?))
}

pub fn contacts(c: &mut dyn Conn, person: i64) -> Result<Vec<Contact>> {
    Ok(c
        .query(
            "SELECT id, position, relation, name, channel, masked, timeout_min, consent_at, consent_note \
             FROM reach_contacts WHERE person_id = $1 ORDER BY position",
            params![person],
        )?
        .iter()
        .map(|r| Contact {
            id: r.i64(0),
            position: r.i64(1),
            relation: r.str(2),
            name_masked: super::model::mask_name(&r.str(3)),
            channel: Channel::parse(&r.str(4)).unwrap_or(Channel::Sms),
            address_masked: r.str(5),
            timeout_min: r.i64(6),
            consent_at: r.i64(7),
            consent_note: r.str(8),
        })
        .collect())
}

pub fn remove_contact(c: &mut dyn Conn, person: i64, id: i64) -> Result<bool> {
    Ok(c.exec(
        "DELETE FROM reach_contacts WHERE id = $1 AND person_id = $2",
        params![id, person],
    )? > 0)
}

/// Sets a community's duty worker.
pub fn set_duty(
    c: &mut dyn Conn,
    street: i64,
    community: i64,
    user: i64,
    timeout_min: i64,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO reach_duty (place_id, street_id, user_id, timeout_min, updated_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (place_id) DO UPDATE SET user_id = excluded.user_id, timeout_min = excluded.timeout_min, \
         updated_at = excluded.updated_at",
        params![community, street, user, timeout_min, now],
    )?;
    Ok(())
}

/// The duty worker of the community at `community` (place id), with her timeout.
pub fn duty(c: &mut dyn Conn, community: i64) -> Result<Option<(i64, i64)>> {
    Ok(c.query_opt(
        "SELECT user_id, timeout_min FROM reach_duty WHERE place_id = $1",
        params![community],
    )?
    .map(|r| (r.i64(0), r.i64(1))))
}

/// The street's duty workers: (community, user, timeout in minutes).
pub fn duty_of_street(c: &mut dyn Conn, street: i64) -> Result<Vec<(i64, i64, i64)>> {
    Ok(c
        .query(
            "SELECT place_id, user_id, timeout_min FROM reach_duty WHERE street_id = $1 ORDER BY place_id",
            params![street],
        )?
        .iter()
        .map(|r| (r.i64(0), r.i64(1), r.i64(2)))
        .collect())
}

/// Takes a robot of the street out of use.
pub fn deactivate_robot(c: &mut dyn Conn, street: i64, id: i64) -> Result<bool> {
    Ok(c.exec(
        "UPDATE reach_robots SET active = 0 WHERE id = $1 AND street_id = $2 AND active = 1",
        params![id, street],
    )? > 0)
}

/// A robot's kind, URL and encrypted secret.
pub type RobotTarget = (Channel, String, Option<Vec<u8>>);

/// A robot of the street in use, for a test: its kind, URL and encrypted secret.
pub fn robot_target(c: &mut dyn Conn, street: i64, id: i64) -> Result<Option<RobotTarget>> {
    Ok(c.query_opt(
        "SELECT kind, url, secret FROM reach_robots WHERE id = $1 AND street_id = $2 AND active = 1",
        params![id, street],
    )?
    .and_then(|r| Some((Channel::parse(&r.str(0))?, r.str(1), r.blob(2)))))
}
