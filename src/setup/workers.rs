//! Workers in bulk (issue 21 part 4): a street administrator imports the office's staff list
//! from XLSX or CSV — name, role, place or organisation, phone — and every account receives a
//! one-time activation link; nobody sets another person's password. Like every import: a dry
//! run reports row by row (Excel's row number, a reason in the reader's language), and applying
//! writes all rows or none.

use serde::Serialize;
use utoipa::ToSchema;

use crate::audit::{Action, NewEntry};
use crate::kernel::i18n::{Lang, Tr};
use crate::kernel::text::fold_width;
use crate::kernel::{AppError, AppResult};
use crate::org::service::{IssuedLink, resolve_target};
use crate::org::{Caller, Role, access, links, orgs, users};
use crate::registry::import::{Sheet, read};
use crate::state::AppState;
use crate::store::{Conn, now_ms};

/// The columns, by what a staff list calls them.
const COLUMNS: [(&str, &[&str]); 5] = [
    ("name", &["姓名", "名字", "name"]),
    (
        "username",
        &["账号", "用户名", "登录名", "username", "account"],
    ),
    ("role", &["角色", "岗位", "职务", "role"]),
    (
        "target",
        &[
            "地点或单位",
            "所属",
            "所在地点",
            "地点",
            "单位",
            "社区",
            "网格",
            "部门",
            "place",
            "organisation",
            "organization",
            "target",
        ],
    ),
    (
        "phone",
        &[
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "phone",
            "mobile",
        ],
    ),
];

/// The roles a staff list may give (residents join by themselves; district administrators are
/// made by the district).
const WORKER_ROLES: [Role; 6] = [
    Role::StreetAdmin,
    Role::CommunityWorker,
    Role::GridWorker,
    Role::DeptHandler,
    Role::PropertyManager,
    Role::Volunteer,
];

/// Other words offices use for the roles.
const ROLE_WORDS: [(&str, Role); 8] = [
    ("社区工作者", Role::CommunityWorker),
    ("社工", Role::CommunityWorker),
    ("居委", Role::CommunityWorker),
    ("网格长", Role::GridWorker),
    ("职能部门", Role::DeptHandler),
    ("部门", Role::DeptHandler),
    ("物业", Role::PropertyManager),
    ("管理员", Role::StreetAdmin),
];

fn role_of(cell: &str) -> Option<Role> {
    let c = fold_width(cell).to_lowercase();
    let c = c.trim();
    WORKER_ROLES
        .into_iter()
        .find(|r| {
            c == r.as_str()
                || c == Tr(Lang::Zh).k("role", r.as_str())
                || c == Tr(Lang::En).k("role", r.as_str()).to_lowercase()
        })
        .or_else(|| ROLE_WORDS.iter().find(|(w, _)| *w == c).map(|(_, r)| *r))
}

fn why(e: crate::registry::import::ReadError) -> String {
    match e {
        crate::registry::import::ReadError::Unreadable(s) => s,
        other => other.to_string(),
    }
}

fn header(sheet: &Sheet) -> Option<(usize, Vec<(&'static str, usize)>)> {
    for (i, (_, cells)) in sheet.rows.iter().take(10).enumerate() {
        let mut cols: Vec<(&'static str, usize)> = Vec::new();
        for (j, cell) in cells.iter().enumerate() {
            let c = fold_width(cell).replace(' ', "").to_lowercase();
            if let Some((k, _)) = COLUMNS
                .iter()
                .find(|(_, names)| names.contains(&c.as_str()))
                && !cols.iter().any(|(x, _)| x == k)
            {
                cols.push((k, j));
            }
        }
        let has = |k: &str| cols.iter().any(|(x, _)| *x == k);
        if has("name") && has("role") && has("target") {
            return Some((i, cols));
        }
    }
    None
}

/// One row of the staff list as the report shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WorkerRow {
    /// The row number as Excel shows it.
    pub row: usize,
    pub name: String,
    pub username: String,
    /// The role's code.
    pub role: String,
    /// The place path or organisation code as written.
    pub target: String,
    /// Why the row is refused (the reader's language); none when it is good.
    pub refused: Option<String>,
}

/// An account made by the import, with its link (shown once).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WorkerLink {
    pub row: usize,
    pub user_id: i64,
    pub name: String,
    pub username: String,
    pub url: String,
    /// When the link stops working (ms since the epoch).
    pub expires_at: i64,
}

/// What an import found and did.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct WorkersReport {
    pub dry_run: bool,
    pub rows: Vec<WorkerRow>,
    /// Refused rows; when there are any, nothing was written.
    pub refused: usize,
    /// The accounts made (empty on a dry run or a refusal).
    pub created: Vec<WorkerLink>,
    /// A problem with the whole file (no header, unreadable).
    pub problem: Option<String>,
}

struct Planned {
    row: usize,
    username: users::Username,
    name: String,
    role: Role,
    phone: Option<String>,
    place_id: Option<i64>,
    org_id: Option<i64>,
    street_id: Option<i64>,
}

fn cell<'a>(cells: &'a [String], cols: &[(&str, usize)], k: &str) -> &'a str {
    cols.iter()
        .find(|(x, _)| *x == k)
        .and_then(|(_, j)| cells.get(*j))
        .map_or("", |s| s.trim())
}

/// A target as written: a place path, a place's name within the street, an organisation's
/// code or name. Returns what `resolve_target` takes (a path or an organisation code).
fn target_key(
    c: &mut dyn Conn,
    street: i64,
    role: Role,
    raw: &str,
) -> crate::store::Result<String> {
    let t = fold_width(raw).trim().to_string();
    if role.needs_org() {
        return Ok(orgs::code_named(c, street, &t)?.unwrap_or(t));
    }
    if t.contains('/') {
        return Ok(t.trim_matches('/').to_string());
    }
    let named = orgs::place_paths_named(c, street, &t, role.place_kinds())?;
    Ok(match named.as_slice() {
        [one] => one.clone(),
        _ => t,
    })
}

/// Reads and checks a staff list; with `dry_run` false and every row good, creates the accounts
/// and their activation links in one transaction.
pub async fn import(
    state: &AppState,
    caller: &Caller,
    bytes: Vec<u8>,
    xlsx: bool,
    dry_run: bool,
) -> AppResult<WorkersReport> {
    let street = access::street_admin(caller)?;
    let lang = crate::kernel::ctx().lang;
    let t = Tr(lang);
    let sheet = match read(&bytes, xlsx) {
        Ok(s) => s,
        Err(e) => {
            return Ok(WorkersReport {
                dry_run,
                problem: Some(t.fill("setup.workers.unreadable", &[("why", &why(e))])),
                ..WorkersReport::default()
            });
        }
    };
    let Some((head, cols)) = header(&sheet) else {
        return Ok(WorkersReport {
            dry_run,
            problem: Some(t.s("setup.workers.no_header").to_string()),
            ..WorkersReport::default()
        });
    };
    // The import's accounts cannot sign in until each holder sets her password by her link.
    let hash = tokio::task::spawn_blocking(|| users::unusable_hash().to_string())
        .await
        .map_err(|e| AppError::internal("hashing", e))?;
    let scope = caller.scope.users.clone();
    let by = caller.user_id;
    let public = state.cfg.public_url.clone();
    let rows: Vec<(usize, Vec<String>)> = sheet.rows.into_iter().skip(head + 1).collect();
    let report = state
        .db
        .write_tx(move |c| -> AppResult<WorkersReport> {
            let mut report = WorkersReport {
                dry_run,
                ..WorkersReport::default()
            };
            let mut planned = Vec::new();
            let mut seen: Vec<String> = Vec::new();
            for (n, cells) in rows {
                if cells.iter().all(|x| x.trim().is_empty()) {
                    continue;
                }
                let name = cell(&cells, &cols, "name").to_string();
                let phone_raw = cell(&cells, &cols, "phone").to_string();
                let role_raw = cell(&cells, &cols, "role").to_string();
                let target_raw = cell(&cells, &cols, "target").to_string();
                let mut username_raw = fold_width(cell(&cells, &cols, "username")).to_lowercase();
                let mut out = WorkerRow {
                    row: n,
                    name: name.clone(),
                    username: String::new(),
                    role: role_raw.clone(),
                    target: target_raw.clone(),
                    refused: None,
                };
                let checked = (|| -> AppResult<Planned> {
                    if name.is_empty() || name.chars().count() > 50 {
                        return Err(AppError::invalid("error.display_name"));
                    }
                    crate::kernel::text::check_line(&name).map_err(AppError::invalid)?;
                    let role = role_of(&role_raw)
                        .ok_or_else(|| AppError::invalid("setup.workers.role"))?;
                    let key = target_key(c, street, role, &target_raw)?;
                    let (place_id, org_id, street_id) = resolve_target(c, &scope, role, &key)?;
                    let phone = users::check_work_phone(&phone_raw).map_err(AppError::invalid)?;
                    if username_raw.is_empty() {
                        username_raw = phone
                            .clone()
                            .ok_or_else(|| AppError::invalid("setup.workers.no_username"))?;
                    }
                    let username =
                        users::Username::parse(&username_raw).map_err(AppError::invalid)?;
                    if users::exists(c, username.as_str())?.is_some() {
                        return Err(AppError::invalid("error.username_taken"));
                    }
                    if seen.contains(&username.as_str().to_string()) {
                        return Err(AppError::invalid("setup.workers.username_twice"));
                    }
                    Ok(Planned {
                        row: n,
                        username,
                        name: name.clone(),
                        role,
                        phone,
                        place_id,
                        org_id,
                        street_id,
                    })
                })();
                match checked {
                    Ok(p) => {
                        out.username = p.username.as_str().to_string();
                        out.role = p.role.as_str().to_string();
                        seen.push(out.username.clone());
                        planned.push(p);
                    }
                    Err(e) => {
                        out.username = username_raw.clone();
                        out.refused = Some(e.message(lang));
                        report.refused += 1;
                    }
                }
                report.rows.push(out);
            }
            if report.rows.is_empty() {
                report.problem = Some(Tr(lang).s("setup.workers.empty").to_string());
                return Ok(report);
            }
            if dry_run || report.refused > 0 {
                return Ok(report);
            }
            let now = now_ms();
            for p in planned {
                let id = users::create(
                    c,
                    users::NewUser {
                        username: &p.username,
                        display_name: &p.name,
                        password_hash: &hash,
                        street_id: p.street_id,
                        person_id: None,
                        created_by: Some(by),
                    },
                )?;
                users::add_grant(c, id, p.role, p.place_id, p.org_id, p.street_id, Some(by))?;
                if let Some(ph) = &p.phone {
                    users::set_work_phone(c, id, Some(ph))?;
                }
                let (token, expires_at) =
                    links::issue(c, id, p.street_id, links::Purpose::Activate, Some(by), now)?;
                let link = IssuedLink { token, expires_at };
                report.created.push(WorkerLink {
                    row: p.row,
                    user_id: id,
                    name: p.name,
                    username: p.username.as_str().to_string(),
                    url: link.url(public.as_deref()),
                    expires_at,
                });
            }
            Ok(report)
        })
        .await?;
    if !report.created.is_empty() {
        state.callers.clear();
        state
            .audit
            .record(
                NewEntry::by(caller, Action::PermissionChange)
                    .subjects(report.created.iter().map(|w| crate::audit::user(w.user_id)))
                    .purpose(format!("import {} workers", report.created.len())),
            )
            .await?;
    }
    Ok(report)
}
