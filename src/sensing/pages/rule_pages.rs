//! The street's rules and one rule's form with its preview.

#[allow(unused_imports)]
use super::*;

/// The parameters a rule of this kind takes, in the order its form shows them.
fn param_names(kind: RuleKind) -> &'static [&'static str] {
    match kind {
        RuleKind::Threshold => &["key", "op", "value", "duration_s", "repeat"],
        RuleKind::Event => &["key", "equals"],
        RuleKind::Absence => &["key", "equals", "absence_s", "window", "min_total"],
        RuleKind::Offline => &["after_s"],
    }
}

/// A rule as its pages show it.
struct RuleView {
    r: Rule,
    /// What it watches, in words.
    target: String,
    /// Its parameters in words.
    summary: String,
    /// The form's parameter fields: (name, translation key of the label, current value).
    fields: Vec<(&'static str, String, String)>,
}

impl RuleView {
    fn new(r: Rule, profiles: &[Profile], t: Tr) -> RuleView {
        let shown = serde_json::to_value(&r.params).unwrap_or_default();
        let text = |name: &str| match shown.get(name) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        };
        let fields: Vec<(&'static str, String, String)> = param_names(r.kind)
            .iter()
            .map(|n| (*n, format!("p_{n}"), text(n)))
            .collect();
        let summary = crate::sensing::words::rule_summary(r.kind.as_str(), &r.params, t);
        let mut target = Vec::new();
        if let Some(p) = r.profile_id {
            let name = profiles
                .iter()
                .find(|x| x.id == p)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| format!("#{p}"));
            target.push(format!("{} {name}", t.s("rule.target_profile")));
        }
        if let Some(d) = r.device_id {
            target.push(format!("{} #{d}", t.s("rule.target_device")));
        }
        if let Some(tag) = &r.tag {
            target.push(format!("{} {}", t.s("rule.target_tag"), t.k_or("tag", tag)));
        }
        RuleView {
            target: target.join(" · "),
            summary,
            fields,
            r,
        }
    }
    fn kind_key(&self) -> String {
        format!("kind_{}", self.r.kind.as_str())
    }
    fn sev_key(&self) -> String {
        format!("sev_{}", self.r.severity)
    }
}

#[derive(Template)]
#[template(path = "sensing/rules.html")]
struct RulesPage {
    l: Layout,
    rules: Vec<RuleView>,
    editable: bool,
}

pub(super) async fn rules_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Response> {
    worker(&caller)?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let (rules, profiles) = state
        .db
        .read(move |c| {
            Ok((
                crate::sensing::rules::list(c, &[street])?,
                devices::profiles(c, street)?,
            ))
        })
        .await?;
    let t = Tr(ctx().lang);
    let editable = crate::org::access::is_street_admin(&caller);
    Ok(render(&RulesPage {
        l: Layout::new(Some(&caller)),
        rules: rules
            .into_iter()
            .map(|r| RuleView::new(r, &profiles, t))
            .collect(),
        editable,
    }))
}

#[derive(Template)]
#[template(path = "sensing/rule.html")]
struct RulePage {
    l: Layout,
    v: RuleView,
    /// (code, translation key) of each severity, for the form's choice.
    severities: Vec<(&'static str, String)>,
    editable: bool,
    error: Option<String>,
    /// A change not saved because it would fire now: its preview, and the form as sent (to
    /// send again with the confirmation).
    preview: Option<(RulePreview, Vec<(String, String)>)>,
    /// The name of the case category an alert of the rule opens (its code when unknown).
    category: Option<String>,
    /// (code, name) of the street's active case categories, for the form's choice.
    categories: Vec<(String, String)>,
}

impl RulePage {
    fn watched_line(&self, p: &RulePreview) -> String {
        self.l.t.fill(
            "rule.preview_watched",
            &[("n", &p.watched), ("a", &p.already_active)],
        )
    }
    fn selected(&self, severity: &str) -> bool {
        self.v.r.severity == severity
    }
}

pub(super) async fn rule_page(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    rule_with(&state, &caller, id, None, None, StatusCode::OK).await
}

pub(super) async fn rule_with(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    preview: Option<(RulePreview, Vec<(String, String)>)>,
    status: StatusCode,
) -> AppResult<Response> {
    worker(caller)?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let lang = ctx().lang;
    let (rule, profiles, category, categories) = state
        .db
        .read(move |c| {
            let rule = crate::sensing::rules::get(c, street, id)?;
            let category = match &rule {
                Some(r) => crate::cases::category_by_code(c, street, &r.category)?
                    .map(|k| k.name(lang).to_string()),
                None => None,
            };
            let categories = crate::cases::categories(c, street)?
                .into_iter()
                .filter(|k| k.active)
                .map(|k| (k.code.clone(), k.name(lang).to_string()))
                .collect::<Vec<_>>();
            Ok((rule, devices::profiles(c, street)?, category, categories))
        })
        .await?;
    let rule = rule.ok_or_else(AppError::not_found)?;
    let editable = crate::org::access::is_street_admin(caller);
    Ok(render_status(
        &RulePage {
            l: Layout::new(Some(caller)),
            v: RuleView::new(rule, &profiles, Tr(ctx().lang)),
            severities: crate::sensing::rules::SEVERITIES
                .iter()
                .map(|s| (*s, format!("sev_{s}")))
                .collect(),
            editable,
            error,
            preview,
            category,
            categories,
        },
        status,
    ))
}

/// A parameter as typed into the rule form: text, a number, or (for `equals`) whichever it
/// looks like; an empty field removes the parameter.
fn param_value(name: &str, v: &str) -> AppResult<serde_json::Value> {
    use serde_json::Value;
    if v.is_empty() {
        return Ok(Value::Null);
    }
    let number = || -> AppResult<Value> {
        v.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| AppError::invalid("error.rule_number"))
    };
    Ok(match name {
        "value" | "min_total" => number()?,
        "duration_s" | "repeat" | "absence_s" | "after_s" => v
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| AppError::invalid("error.rule_number"))?,
        "equals" => match v {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => number().unwrap_or_else(|_| Value::String(v.to_string())),
        },
        _ => Value::String(v.to_string()),
    })
}

/// The rule page's form (street administrators): every field of it, parameters included.
pub(super) async fn rule_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let street = caller.street_id.ok_or_else(AppError::forbidden)?;
    let kind = state
        .db
        .read(move |c| crate::sensing::rules::get(c, street, id))
        .await?
        .ok_or_else(AppError::not_found)?
        .kind;
    let mut params = serde_json::Map::new();
    let mut bad = None;
    for name in param_names(kind) {
        match param_value(name, &field(&form, &format!("p_{name}"))) {
            Ok(v) => {
                params.insert(name.to_string(), v);
            }
            Err(e) => bad = Some(e),
        }
    }
    let result = match bad {
        Some(e) => Err(e),
        None => {
            let ack = field(&form, "ack_minutes");
            let patch = RulePatch {
                name: Some(field(&form, "name")),
                severity: Some(field(&form, "severity")),
                active: Some(field(&form, "active") == "1"),
                params: Some(serde_json::Value::Object(params)),
                category: Some(field(&form, "category")),
                ack_minutes: Some(ack.parse::<i64>().unwrap_or(0)),
                overrides: None,
                confirm: Some(field(&form, "confirm") == "1"),
            };
            crate::sensing::http::change_rule(&state, &caller, id, patch).await
        }
    };
    match result {
        Ok(crate::sensing::http::RuleChange::Saved(_)) => {
            Ok(Redirect::to(&format!("/rules/{id}")).into_response())
        }
        Ok(crate::sensing::http::RuleChange::Unconfirmed(p)) => {
            let sent: Vec<(String, String)> = form
                .into_iter()
                .filter(|(n, _)| n != "csrf" && n != "confirm")
                .collect();
            rule_with(&state, &caller, id, None, Some((p, sent)), StatusCode::OK).await
        }
        Err(e) => {
            let (msg, status) = form_error(e)?;
            rule_with(&state, &caller, id, Some(msg), None, status).await
        }
    }
}

pub(super) async fn rule_delete_form(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    crate::sensing::http::remove_rule(&state, &caller, id).await?;
    Ok(Redirect::to("/rules").into_response())
}
