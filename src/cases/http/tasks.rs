//! Joint handling over the API (联合处置): a case's tasks and consultations, setting them,
//! stepping a task, and an organisation's own open tasks.

use super::*;
use crate::cases::tasks::{
    self, Consultation, NewConsultation, NewTask, Task, TaskAction, TaskState, TaskStep,
};

/// A task with the steps the caller may take on it now.
#[derive(Serialize, ToSchema)]
pub struct TaskView {
    #[serde(flatten)]
    pub task: Task,
    pub actions: Vec<TaskAction>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseTasks {
    pub tasks: Vec<TaskView>,
    pub consultations: Vec<Consultation>,
    /// Whether the caller may set tasks and record consultations now.
    pub may_set: bool,
}

/// Loads a case the caller takes part in, with the caller's roles towards it; 404 when the
/// caller has none (another community's case looks like no case).
fn load(
    c: &mut dyn crate::store::Conn,
    viewer: &Viewer,
    id: i64,
    now: i64,
) -> Result<(Case, ActorRef), CaseError> {
    let case = crate::cases::get(c, id, now)?.ok_or(CaseError::NotFound)?;
    let actors = viewer.actors(&case);
    if actors
        .iter()
        .all(|a| matches!(a, lifecycle::Actor::Reporter))
    {
        // The reporter sees the case, not the organisations' working arrangements.
        return Err(CaseError::NotFound);
    }
    let who = ActorRef {
        user_id: Some(viewer.user_id),
        name: viewer.name.clone(),
        actors,
        orgs: viewer.orgs.clone(),
    };
    Ok((case, who))
}

/// A case's tasks and consultations, as the caller sees them.
pub async fn case_tasks(state: &AppState, caller: &Caller, id: i64) -> AppResult<CaseTasks> {
    let viewer = Viewer::of(caller);
    let now = now_ms();
    Ok(state
        .db
        .read(move |c| Ok(view(c, &viewer, id, now)))
        .await??)
}

fn view(
    c: &mut dyn crate::store::Conn,
    viewer: &Viewer,
    id: i64,
    now: i64,
) -> Result<CaseTasks, CaseError> {
    let (case, who) = load(c, viewer, id, now)?;
    let open_case = tasks::CASE_STATES.contains(&case.state);
    let tasks = tasks::of_case(c, id, now)?
        .into_iter()
        .map(|t| {
            let actors = tasks::actors_for(&who.actors, &who.orgs, t.org_id);
            let actions = if open_case {
                tasks::offered(t.state, &actors)
            } else {
                Vec::new()
            };
            // Numbers typed into reasons are masked, as on the case's timeline.
            let mut t = t;
            t.note = crate::privacy::mask::free_text(&t.note);
            TaskView { task: t, actions }
        })
        .collect();
    Ok(CaseTasks {
        tasks,
        consultations: tasks::consultations(c, id)?
            .into_iter()
            .map(|mut k| {
                k.decision = crate::privacy::mask::free_text(&k.decision);
                k.participants = crate::privacy::mask::free_text(&k.participants);
                k
            })
            .collect(),
        may_set: who.actors.contains(&lifecycle::Actor::Dispatcher)
            && open_case
            && !case.self_governed,
    })
}

/// Runs one joint-handling write on a case the caller takes part in, in one transaction.
async fn on_case<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    id: i64,
    f: impl FnOnce(&mut dyn crate::store::Conn, &Case, &ActorRef, i64) -> Result<T, CaseError>
    + Send
    + 'static,
) -> AppResult<T> {
    let viewer = Viewer::of(caller);
    let now = now_ms();
    Ok(state
        .db
        .write_tx(move |c| -> Result<_, CaseError> {
            let (case, who) = load(c, &viewer, id, now)?;
            f(c, &case, &who, now)
        })
        .await?)
}

/// Sets a co-handler's task (the dispatcher).
pub async fn set_task(state: &AppState, caller: &Caller, id: i64, new: NewTask) -> AppResult<i64> {
    on_case(state, caller, id, move |c, case, who, now| {
        tasks::add(c, case, who, &new, now)
    })
    .await
}

/// Records a consultation and sets its tasks (the dispatcher), all or nothing.
pub async fn record_consultation(
    state: &AppState,
    caller: &Caller,
    id: i64,
    new: NewConsultation,
) -> AppResult<(i64, Vec<i64>)> {
    on_case(state, caller, id, move |c, case, who, now| {
        tasks::consult(c, case, who, &new, now)
    })
    .await
}

/// One step on a task: the co-handler accepts, declines or marks it done; the dispatcher or
/// the lead releases or reopens it.
pub async fn step_task(
    state: &AppState,
    caller: &Caller,
    id: i64,
    task_id: i64,
    step: TaskStep,
) -> AppResult<TaskState> {
    on_case(state, caller, id, move |c, case, who, now| {
        tasks::step(c, case, task_id, who, &step, now)
    })
    .await
}

/// A case's tasks and consultations (联合处置), with the steps the caller may take on each.
/// The case's dispatchers, its lead organisation and its co-handlers see them; anyone else
/// (its reporter included) gets 404.
#[utoipa::path(get, path = "/api/v1/cases/{id}/tasks", tag = "cases", params(("id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = CaseTasks), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_case_tasks(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
) -> AppResult<Json<CaseTasks>> {
    Ok(Json(case_tasks(&state, &caller, id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
    /// A consultation's tasks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub task_ids: Vec<i64>,
}

/// Sets a co-handling organisation's task on a case (the case's dispatchers): what it must
/// do and its working hours once accepted (default: the category's). Refused with 403 for
/// other roles, 409 when the case is not being handled or is self-governed or the
/// organisation already has an open task on it, 422 for an organisation outside the street,
/// the lead itself, or one that does not serve the case's place.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tasks", tag = "cases", params(("id" = i64, Path)),
    request_body = NewTask, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_case_task(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewTask>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let id = set_task(&state, &caller, id, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(Created {
            id,
            task_ids: Vec::new(),
        }),
    ))
}

/// Records a consultation (会商) on a case: who took part, what was decided, and the tasks it
/// sets, all or nothing (the case's dispatchers).
#[utoipa::path(post, path = "/api/v1/cases/{id}/consultations", tag = "cases", params(("id" = i64, Path)),
    request_body = NewConsultation, security(("bearer" = [])),
    responses((status = 201, body = Created), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_consultation(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path(id): Path<i64>,
    ApiJson(new): ApiJson<NewConsultation>,
) -> AppResult<(StatusCode, Json<Created>)> {
    let (id, task_ids) = record_consultation(&state, &caller, id, new).await?;
    Ok((StatusCode::CREATED, Json(Created { id, task_ids })))
}

#[derive(Serialize, ToSchema)]
pub struct TaskStepped {
    pub state: TaskState,
}

/// One step on a task: `accept`, `decline` (with a reason) or `done` (with what was done) by
/// the task's organisation; `release` or `reopen` (with a reason) by the case's dispatchers or
/// its lead. 403 for a role the step is not for, 409 when the task's or the case's state does
/// not allow it.
#[utoipa::path(post, path = "/api/v1/cases/{id}/tasks/{task_id}/steps", tag = "cases",
    params(("id" = i64, Path), ("task_id" = i64, Path)),
    request_body = TaskStep, security(("bearer" = [])),
    responses((status = 200, body = TaskStepped), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn step_case_task(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
    Path((id, task_id)): Path<(i64, i64)>,
    ApiJson(step): ApiJson<TaskStep>,
) -> AppResult<Json<TaskStepped>> {
    let state = step_task(&state, &caller, id, task_id, step).await?;
    Ok(Json(TaskStepped { state }))
}

/// The open tasks of the caller's organisations (协办任务), late first.
#[utoipa::path(get, path = "/api/v1/case-tasks", tag = "cases", security(("bearer" = [])),
    responses((status = 200, body = [Task]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn my_tasks(
    State(state): State<Arc<AppState>>,
    Signed(caller): Signed,
) -> AppResult<Json<Vec<Task>>> {
    let viewer = Viewer::of(&caller);
    if viewer.orgs.is_empty() {
        return Err(AppError::forbidden());
    }
    let now = now_ms();
    Ok(Json(
        state
            .db
            .read(move |c| tasks::for_orgs(c, &viewer.orgs, now, 200))
            .await?,
    ))
}
