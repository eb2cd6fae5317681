//! Joint handling on the case page (联合处置): the co-handlers' tasks with their steps, the
//! consultations, and the dispatcher's forms to set a task or record a consultation.

use super::*;
use crate::cases::tasks::{NewConsultation, NewTask, TaskAction, TaskStep};

pub(super) struct TaskRow {
    pub(super) id: i64,
    pub(super) org: String,
    pub(super) task: String,
    pub(super) state: &'static str,
    pub(super) state_code: &'static str,
    /// The running deadline in words ("to accept by …" / "to do by …"), empty when none runs.
    pub(super) due: String,
    pub(super) overdue: bool,
    pub(super) late: bool,
    pub(super) level: &'static str,
    pub(super) note: String,
    /// (code, label, needs a reason)
    pub(super) actions: Vec<(&'static str, &'static str, bool)>,
}

pub(super) struct ConsultRow {
    pub(super) held: String,
    pub(super) participants: String,
    pub(super) decision: String,
}

/// The tasks panel of a case page: shown to the case's dispatchers, its lead and its
/// co-handlers when there is a task or the caller may set one.
pub(super) struct TasksPanel {
    pub(super) rows: Vec<TaskRow>,
    pub(super) consultations: Vec<ConsultRow>,
    pub(super) may_set: bool,
    /// Organisations a task may be set for: (id, name).
    pub(super) orgs: Vec<(i64, String)>,
    /// Rows of the consultation form's "who does what".
    pub(super) slots: [usize; 3],
}

/// The panel for a case page, or none for a caller who does not take part in the handling.
pub(super) async fn panel(
    state: &Arc<AppState>,
    caller: &Caller,
    case: &crate::cases::Case,
) -> AppResult<Option<TasksPanel>> {
    let t = Tr(ctx().lang);
    let view = match crate::cases::http::case_tasks(state, caller, case.id.0).await {
        Ok(v) => v,
        Err(e) if e.status == StatusCode::NOT_FOUND => return Ok(None),
        Err(e) => return Err(e),
    };
    if view.tasks.is_empty() && !view.may_set {
        return Ok(None);
    }
    let (street, lead) = (case.street_id, case.handler_org_id);
    let orgs = if view.may_set {
        state
            .db
            .read(move |c| crate::cases::org_choices(c, street))
            .await?
            .into_iter()
            .filter(|(id, _)| Some(*id) != lead)
            .collect()
    } else {
        Vec::new()
    };
    let rows = view
        .tasks
        .into_iter()
        .map(|v| {
            let k = v.task;
            let due = match (k.clock.as_str(), k.due_at) {
                ("accept", Some(d)) => t.fill("case.tasks.accept_by", &[("at", &when(d))]),
                ("resolve", Some(d)) => t.fill("case.tasks.do_by", &[("at", &when(d))]),
                _ => String::new(),
            };
            TaskRow {
                id: k.id,
                org: k.org_name,
                task: k.task,
                state: t.k("case.task_state", k.state.as_str()),
                state_code: k.state.as_str(),
                due,
                overdue: k.overdue,
                late: k.late,
                level: t.k("case.level", &k.level.to_string()),
                note: k.note,
                actions: v
                    .actions
                    .iter()
                    .map(|a| {
                        (
                            a.as_str(),
                            t.k("case.task_action", a.as_str()),
                            a.needs_note(),
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let consultations = view
        .consultations
        .into_iter()
        .map(|c| ConsultRow {
            held: when(c.held_at),
            participants: c.participants,
            decision: c.decision,
        })
        .collect();
    Ok(Some(TasksPanel {
        rows,
        consultations,
        may_set: view.may_set,
        orgs,
        slots: [1, 2, 3],
    }))
}

fn field(form: &[(String, String)], k: &str) -> String {
    form.iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

/// Hours typed in a form: empty means the category's; anything else must be a number.
fn hours(s: &str) -> AppResult<Option<i64>> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i64>()
        .map(Some)
        .map_err(|_| AppError::invalid("case.err_task_hours"))
}

fn org(s: &str) -> AppResult<i64> {
    s.parse::<i64>()
        .map_err(|_| AppError::invalid("case.err_task_org"))
}

pub(super) async fn task_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let new = NewTask {
        org_id: org(&field(&form, "org_id"))?,
        task: field(&form, "task"),
        hours: hours(&field(&form, "hours"))?,
    };
    crate::cases::http::set_task(&state, &caller, id, new).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done=task_added#tasks")).into_response())
}

pub(super) async fn consultation_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let mut tasks = Vec::new();
    for i in 1..=3 {
        let (o, what) = (
            field(&form, &format!("org_{i}")),
            field(&form, &format!("task_{i}")),
        );
        // A row left empty is no task; a row half filled is a mistake to point out.
        if o.is_empty() && what.is_empty() {
            continue;
        }
        tasks.push(NewTask {
            org_id: org(&o)?,
            task: what,
            hours: hours(&field(&form, &format!("hours_{i}")))?,
        });
    }
    let new = NewConsultation {
        participants: field(&form, "participants"),
        decision: field(&form, "decision"),
        held_at: None,
        tasks,
    };
    crate::cases::http::record_consultation(&state, &caller, id, new).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done=consultation#tasks")).into_response())
}

pub(super) async fn task_step_submit(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, task_id)): Path<(i64, i64)>,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    check_csrf(&caller, &field(&form, "csrf"))?;
    let action = TaskAction::parse(&field(&form, "action"))
        .ok_or_else(|| AppError::bad_request("error.bad_form"))?;
    let step = TaskStep {
        action,
        note: field(&form, "note"),
    };
    crate::cases::http::step_task(&state, &caller, id, task_id, step).await?;
    Ok(Redirect::to(&format!("/cases/{id}?done=task_{}#tasks", action.as_str())).into_response())
}
