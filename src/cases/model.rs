//! A case's kinds: channels, categories and their extra fields, and the errors of a case.

use super::*;
use crate::kernel::Code;

/// Where a case came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A resident's report from a phone.
    Resident,
    /// A hotline call (12345) entered by a worker.
    Hotline,
    /// A grid worker's patrol.
    Patrol,
    /// A sensor alert.
    Sensor,
    /// The JSON API.
    Api,
    /// Open311 GeoReport v2.
    Open311,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Resident,
        Channel::Hotline,
        Channel::Patrol,
        Channel::Sensor,
        Channel::Api,
        Channel::Open311,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Resident => "resident",
            Channel::Hotline => "hotline",
            Channel::Patrol => "patrol",
            Channel::Sensor => "sensor",
            Channel::Api => "api",
            Channel::Open311 => "open311",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
    /// Whether a report from this channel may be published (the Open311 feed, "similar reports
    /// nearby"): a hotline caller did not agree to it, and a sensor's alert names the flat.
    pub fn published(self) -> bool {
        !matches!(self, Channel::Hotline | Channel::Sensor)
    }
}

/// The type of an extra field of a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    /// YYYY-MM-DD.
    Date,
    /// One of `options`.
    Single,
    /// Any of `options`, comma-separated in forms, a list in JSON.
    Multi,
}

/// An extra field a category asks for (e.g. the plate of an illegally parked car).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldDef {
    pub key: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    pub label_zh: String,
    pub label_en: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub options: Vec<String>,
}

impl FieldDef {
    pub fn label(&self, lang: crate::kernel::i18n::Lang) -> &str {
        if lang == crate::kernel::i18n::Lang::En {
            &self.label_en
        } else {
            &self.label_zh
        }
    }
}

/// A category of the service catalogue.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Category {
    pub id: i64,
    pub street_id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub group: String,
    pub fields: Vec<FieldDef>,
    /// Working hours allowed to accept a case.
    pub accept_hours: i64,
    /// Working hours allowed to resolve it once accepted.
    pub resolve_hours: i64,
    /// 1 urgent, 2 normal, 3 low.
    pub priority: i64,
    pub dup_radius_m: i64,
    pub verify_required: bool,
    /// Listed over Open311.
    pub public: bool,
    pub active: bool,
    /// About people (群租, a family dispute, care for an elderly person): never published,
    /// whatever `public` says.
    pub about_people: bool,
    /// A self-governed matter (自治事项): the residents' body that handles it
    /// (`building_leader`, `owners_committee`, `residents_council`, `property_agent`); empty
    /// for the state's own, with deadlines. A self-governed case runs no clock, never
    /// escalates and stays out of the organisations' late figures.
    pub governed_by: String,
}

/// The residents' bodies a category can be handed to (留白).
pub const GOVERNING_BODIES: [&str; 4] = [
    "building_leader",
    "owners_committee",
    "residents_council",
    "property_agent",
];

impl Category {
    pub fn self_governed(&self) -> bool {
        !self.governed_by.is_empty()
    }
}

impl Category {
    /// Whether cases of this category may be shown to the public (the Open311 feed, "similar
    /// reports nearby"): offered publicly and not about people.
    pub fn publishable(&self) -> bool {
        self.public && !self.about_people
    }

    pub fn name(&self, lang: crate::kernel::i18n::Lang) -> &str {
        if lang == crate::kernel::i18n::Lang::En {
            &self.name_en
        } else {
            &self.name_zh
        }
    }
}

/// What can go wrong with a case request, mapped to HTTP in one place.
#[derive(Debug)]
pub enum CaseError {
    Store(StoreError),
    /// Bad input: a translation key.
    Invalid(&'static str),
    /// The caller's role may not take this step (403), and why.
    Forbidden(Why),
    /// The case's state does not allow this step (409), and why.
    Conflict(Why),
    NotFound,
}

/// Why a step was refused. The message is composed when the error becomes a response, in the
/// request's language (store work runs on blocking threads, outside the request's context).
#[derive(Debug)]
pub enum Why {
    Key(&'static str),
    Rule(lifecycle::Refusal, Action, State),
}

impl Why {
    pub fn message(&self) -> String {
        match self {
            Why::Key(k) => crate::kernel::i18n::Tr(crate::kernel::ctx().lang)
                .s(k)
                .to_string(),
            Why::Rule(r, a, s) => lifecycle::refusal_message(*r, *a, *s),
        }
    }
}

impl From<StoreError> for CaseError {
    fn from(e: StoreError) -> Self {
        CaseError::Store(e)
    }
}

impl From<CaseError> for AppError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::Store(e) => e.into(),
            CaseError::Invalid(key) => AppError::invalid(key),
            CaseError::Forbidden(why) => {
                AppError::with_message(StatusCode::FORBIDDEN, Code::Forbidden, why.message())
            }
            CaseError::Conflict(why) => {
                AppError::with_message(StatusCode::CONFLICT, Code::StateConflict, why.message())
            }
            CaseError::NotFound => AppError::not_found(),
        }
    }
}
