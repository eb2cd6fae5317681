//! Mutual aid's use cases, shared by the pages and the API.
//!
//! **Who takes part.** A verified resident — an account linked to her own registry record
//! (through `join`), who has not left — in the community her flat is in. She posts there and
//! only there; she reads her community's open posts (never those of a resident she blocked
//! or who blocked her), sorted by whether they answer one of her own posts (the other
//! direction, the same kind) and then by the distance between the two buildings. Others see
//! a poster as a masked name and a building, never a flat or a phone number; numbers typed
//! into posts and messages are masked as they are kept.
//!
//! **A post's life** is the table [`model::RULES`]: a neighbour writes to the poster (one
//! conversation per post and neighbour); the poster chooses one of them (matched); it is
//! done when both have said so; the poster withdraws it; an open post past its time is
//! expired (read from `expires_at`; the `expire` job also marks it and tells its poster
//! once); the community's workers hide it with a reason its poster reads, and restore it
//! with a reason; a reporter takes her report back; a resident lifts her block.
//!
//! **Workers** (those who keep the community's records) see the community's posts and the
//! reports, and hide a post with a reason. They read a post's conversations only once the
//! post was reported or hidden, and every such reading is audited with both parties.
//!
//! Anyone else gets 403 (another role) or 404 (another community's post).

use serde::Serialize;
use utoipa::ToSchema;

use super::model::{self, Act, Actor, Conversation, Draft, Kind, Message, Post, Refusal, State};
use super::store::{self, Above};
use crate::audit::{Action, NewEntry};
use crate::kernel::StatusCode;
use crate::kernel::error::{AppError, AppResult, Code};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Scope};
use crate::state::AppState;
use crate::store::Conn;

pub const LIST_LIMIT: i64 = 100;

/// A read whose answer may be a refusal.
async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn Conn) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    state.db.read(move |c| Ok(f(c))).await?
}

fn forbidden(key: &str) -> AppError {
    AppError::new(StatusCode::FORBIDDEN, Code::Forbidden, key)
}

fn conflict(key: &str) -> AppError {
    AppError::new(StatusCode::CONFLICT, Code::StateConflict, key)
}

/// Where a verified resident lives: her community and building.
#[derive(Clone, Debug)]
pub struct Home {
    pub person: i64,
    pub label: String,
    pub street_id: i64,
    pub community: Above,
    pub building: Option<Above>,
}

/// The caller's home, when she is a verified resident living in a community.
fn home_of(c: &mut dyn Conn, caller: &Caller) -> AppResult<Option<Home>> {
    match caller.person_id {
        Some(person) => home_at(c, person),
        None => Ok(None),
    }
}

/// Where a person lives, when she has not left and her flat is in a community.
pub(super) fn home_at(c: &mut dyn Conn, person: i64) -> AppResult<Option<Home>> {
    let Some(r) =
        crate::registry::residents::resident(c, person)?.filter(|r| r.residence != "left")
    else {
        return Ok(None);
    };
    let parts: Vec<&str> = r.place_path.split('/').collect();
    let prefixes: Vec<String> = (1..=parts.len()).map(|i| parts[..i].join("/")).collect();
    let above = store::places_at(c, &prefixes)?;
    let Some(community) = above.iter().find(|p| p.kind == "community").cloned() else {
        return Ok(None);
    };
    Ok(Some(Home {
        person,
        label: crate::kernel::text::mask_name(&r.name),
        street_id: community.street_id,
        building: above.iter().find(|p| p.kind == "building").cloned(),
        community,
    }))
}

/// Whether the caller takes part as a resident (the navigation's entry).
pub fn may_take_part(caller: &Caller) -> bool {
    caller.person_id.is_some() || is_worker(caller)
}

fn is_worker(caller: &Caller) -> bool {
    caller.reads_registry() && !caller.scope.registry.is_empty()
}

fn keeps(caller: &Caller, p: &Post) -> bool {
    caller.reads_registry() && Scope::covers(&caller.scope.registry, &p.community_path)
}

/// How the caller stands to a post; `None` when she may not see it (404).
fn actor(caller: &Caller, home: Option<&Home>, p: &Post) -> Option<Actor> {
    if let Some(h) = home {
        if h.person == p.poster_person {
            return Some(Actor::Poster);
        }
        if Some(h.person) == p.responder_person {
            return Some(Actor::Responder);
        }
    }
    if keeps(caller, p) {
        return Some(Actor::Staff);
    }
    match home {
        Some(h) if h.community.id == p.community_id => Some(Actor::Neighbour),
        _ => None,
    }
}

fn refused(r: Refusal) -> AppError {
    match r {
        Refusal::NotParty => forbidden("aid.err_not_party"),
        Refusal::WrongState => conflict("aid.err_state"),
    }
}

fn purpose(what: &str, id: i64) -> String {
    crate::kernel::i18n::both(&format!("aid.purpose.{what}"), &[("id", &id)])
}

async fn audit(
    state: &AppState,
    caller: &Caller,
    street: i64,
    action: Action,
    persons: Vec<i64>,
    what: &str,
    id: i64,
) -> AppResult<()> {
    let mut e = NewEntry::by(caller, action)
        .subjects(persons.into_iter().map(crate::audit::person))
        .purpose(purpose(what, id));
    e.street_id = Some(street);
    state.audit.record(e).await?;
    Ok(())
}

/// Tells an account out of app (on the channels she chose) that something happened to a
/// post, in the same transaction as the change.
fn tell(
    c: &mut dyn Conn,
    p: &Post,
    to: Option<i64>,
    key: &'static str,
    link: String,
    idem: String,
) -> AppResult<()> {
    let Some(user) = to else { return Ok(()) };
    crate::reach::tell(
        c,
        &crate::reach::Message {
            street_id: p.street_id,
            to: crate::reach::Recipient::User(user),
            urgency: crate::reach::Urgency::Normal,
            body: crate::reach::Body::Key {
                key,
                args: vec![("title", p.title.clone())],
            },
            link: Some(link),
            idem,
            source: format!("aid:{}", p.id),
            sender: None,
        },
    )?;
    Ok(())
}

/// The verified resident's home, or 403 with the reason.
fn resident(c: &mut dyn Conn, caller: &Caller) -> AppResult<Home> {
    home_of(c, caller)?.ok_or_else(|| forbidden("aid.err_not_verified"))
}

/// Writes a post in the caller's community. `community` (optional in the API) must be hers.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    draft: Draft,
    community: Option<i64>,
) -> AppResult<Post> {
    let now = now_ms();
    let d = draft.checked(crate::kernel::time::today(), now)?;
    let caller2 = caller.clone();
    let (id, street, person) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64, i64)> {
            let h = resident(c, &caller2)?;
            if community.is_some_and(|k| k != h.community.id) {
                return Err(forbidden("aid.err_other_community"));
            }
            let body = crate::privacy::mask::free_text(&d.body);
            let title = crate::privacy::mask::free_text(&d.title);
            let id = store::insert_post(
                c,
                &store::NewPost {
                    street_id: h.street_id,
                    community_id: h.community.id,
                    community_path: &h.community.path,
                    building_id: h.building.as_ref().map(|b| b.id),
                    poster_person: h.person,
                    poster_user: Some(caller2.user_id),
                    poster_label: &h.label,
                    direction: d.direction,
                    kind: d.kind,
                    title: &title,
                    body: &body,
                    return_on: d.return_on.map(|x| x.to_string()),
                    expiry_on: d.expiry_on.map(|x| x.to_string()),
                    expires_at: d.expires_at,
                    now,
                },
            )?;
            Ok((id, h.street_id, h.person))
        })
        .await?;
    audit(
        state,
        caller,
        street,
        Action::Change,
        vec![person],
        "posted",
        id,
    )
    .await?;
    Ok(view(state, caller, id, None).await?.post)
}

/// Fills what a reader sees of posts: buildings, distances, whether they answer her posts,
/// the medicine warning, the moderation reason only for the poster and workers.
fn dress(
    c: &mut dyn Conn,
    lang: crate::kernel::i18n::Lang,
    caller: &Caller,
    home: Option<&Home>,
    posts: &mut [Post],
    own: &[Post],
) -> AppResult<()> {
    let mut ids: Vec<i64> = posts.iter().filter_map(|p| p.building_id).collect();
    if let Some(b) = home.and_then(|h| h.building.as_ref()) {
        ids.push(b.id);
    }
    let b = store::buildings(c, &ids)?;
    let here = home
        .and_then(|h| h.building.as_ref())
        .and_then(|x| b.get(&x.id))
        .and_then(|x| x.1);
    let t = crate::kernel::i18n::Tr(lang);
    for p in posts.iter_mut() {
        let there = p.building_id.and_then(|id| b.get(&id));
        p.building = there.map(|x| x.0.clone());
        p.distance_m = match (here, there.and_then(|x| x.1)) {
            (Some(a), Some(z)) => {
                Some(crate::cases::dedupe::distance_m(a.0, a.1, z.0, z.1).round() as i64)
            }
            _ => None,
        };
        p.fits = own.iter().any(|o| {
            o.state == State::Open && o.kind == p.kind && o.direction == p.direction.opposite()
        });
        if p.kind == Kind::Medicine {
            p.warning = Some(t.s("aid.medicine_warning").to_string());
        }
        let poster = home.is_some_and(|h| h.person == p.poster_person);
        if !poster && !keeps(caller, p) {
            p.hidden_reason = None;
            p.reports = 0;
        }
    }
    Ok(())
}

/// What the aid board shows the caller.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = AidBoard)]
pub struct Board {
    /// She takes part as a resident of `community`.
    pub resident: bool,
    pub community: Option<String>,
    /// Her building (others see this of her posts, never her flat).
    pub building: Option<String>,
    /// Her community's open posts: those answering her own posts first, then the nearest.
    pub posts: Vec<Post>,
    /// Her posts and those she was chosen for.
    pub mine: Vec<Post>,
    /// Her conversations, latest first, with unread counts.
    pub conversations: Vec<Conversation>,
    /// Messages to her she has not read.
    pub unread: i64,
    /// She keeps a community's records: its posts to moderate, reported first.
    pub worker: bool,
    pub moderation: Vec<Post>,
}

/// Filters of the board.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub direction: Option<model::Direction>,
    pub kind: Option<Kind>,
}

pub async fn board(state: &AppState, caller: &Caller, f: Filter) -> AppResult<Board> {
    let caller = caller.clone();
    let lang = crate::kernel::ctx().lang;
    let now = now_ms();
    read(state, move |c| -> AppResult<Board> {
        let home = home_of(c, &caller)?;
        let worker = is_worker(&caller);
        if home.is_none() && !worker {
            return Err(forbidden(if caller.person_id.is_some() {
                "aid.err_not_verified"
            } else {
                "aid.err_residents_only"
            }));
        }
        let mut b = Board {
            resident: home.is_some(),
            community: home.as_ref().map(|h| h.community.name.clone()),
            building: home
                .as_ref()
                .and_then(|h| h.building.as_ref().map(|b| b.name.clone())),
            posts: Vec::new(),
            mine: Vec::new(),
            conversations: Vec::new(),
            unread: 0,
            worker,
            moderation: Vec::new(),
        };
        if let Some(h) = &home {
            let mut mine = store::of_person(c, h.person, now, LIST_LIMIT)?;
            let blocked = store::blocks_around(c, h.person)?;
            let mut posts: Vec<Post> = store::open_in(c, h.community.id, now, LIST_LIMIT * 3)?
                .into_iter()
                .filter(|p| p.poster_person != h.person && !blocked.contains(&p.poster_person))
                .filter(|p| f.direction.is_none_or(|d| d == p.direction))
                .filter(|p| f.kind.is_none_or(|k| k == p.kind))
                .collect();
            let own = mine.clone();
            dress(c, lang, &caller, Some(h), &mut posts, &own)?;
            posts.sort_by(|a, z| {
                z.fits
                    .cmp(&a.fits)
                    .then(
                        a.distance_m
                            .unwrap_or(i64::MAX)
                            .cmp(&z.distance_m.unwrap_or(i64::MAX)),
                    )
                    .then(z.created_at.cmp(&a.created_at))
            });
            posts.truncate(LIST_LIMIT as usize);
            dress(c, lang, &caller, Some(h), &mut mine, &[])?;
            b.posts = posts;
            b.mine = mine;
            b.conversations = store::conversations_for(c, h.person, LIST_LIMIT)?;
            b.unread = b.conversations.iter().map(|v| v.unread).sum();
        }
        if worker {
            let mut m = store::in_places(c, &caller.scope.registry, now, LIST_LIMIT)?;
            dress(c, lang, &caller, None, &mut m, &[])?;
            b.moderation = m;
        }
        Ok(b)
    })
    .await
}

/// A conversation with its messages.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = AidThread)]
pub struct Thread {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    /// Either party blocked the other: no more messages.
    pub blocked: bool,
    /// The reader blocked the other party.
    pub blocked_by_me: bool,
}

/// A post as the caller sees it, with what she may do.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = AidPostView)]
pub struct PostView {
    pub post: Post,
    /// The caller posted it.
    pub poster: bool,
    /// The caller is its chosen responder.
    pub responder: bool,
    /// The caller keeps its community's records.
    pub worker: bool,
    /// The conversations the caller may open: all for the poster (and for workers once the
    /// post was reported or hidden), her own for a neighbour.
    pub conversations: Vec<Conversation>,
    /// The conversation open on the page.
    pub thread: Option<Thread>,
    /// What the caller may do now.
    pub actions: Vec<Act>,
    /// The reports' reasons (workers only).
    pub report_reasons: Vec<String>,
    /// The caller already said it is done.
    pub done_by_me: bool,
    /// The caller reported it (she may take the report back).
    pub reported_by_me: bool,
}

fn actions_for(state: State, a: Actor) -> Vec<Act> {
    [
        Act::Message,
        Act::Match,
        Act::Done,
        Act::Withdraw,
        Act::Report,
        Act::Hide,
        Act::Restore,
        Act::Unreport,
    ]
    .into_iter()
    .filter(|x| model::rule(*x, state, a).is_ok())
    .collect()
}

/// A worker's reading of a conversation to audit: its id and both parties.
type Audited = (i64, Vec<i64>);

/// One post and a conversation of it (the one asked for, or the reader's latest).
pub async fn view(
    state: &AppState,
    caller: &Caller,
    id: i64,
    conversation: Option<i64>,
) -> AppResult<PostView> {
    let caller2 = caller.clone();
    let now = now_ms();
    let lang = crate::kernel::ctx().lang;
    let (v, audited) = state
        .db
        .write_tx(move |c| -> AppResult<(PostView, Option<Audited>)> {
            let caller = caller2;
            let home = home_of(c, &caller)?;
            if home.is_none() && !is_worker(&caller) {
                return Err(forbidden(if caller.person_id.is_some() {
                    "aid.err_not_verified"
                } else {
                    "aid.err_residents_only"
                }));
            }
            let mut p = store::get(c, id, now)?.ok_or_else(AppError::not_found)?;
            let a = actor(&caller, home.as_ref(), &p).ok_or_else(AppError::not_found)?;
            let me = home.as_ref().map(|h| h.person).unwrap_or(0);
            let mut convs = match a {
                Actor::Poster => store::conversations_of_post(c, id, me)?,
                Actor::Staff => {
                    if p.reports > 0 || p.state == State::Hidden {
                        store::conversations_of_post(c, id, -1)?
                    } else {
                        Vec::new()
                    }
                }
                Actor::Responder | Actor::Neighbour => {
                    let mine = store::conversation_of(c, id, me)?;
                    let mut v: Vec<Conversation> = mine.into_iter().collect();
                    store::fill_unread(c, &mut v, me)?;
                    v
                }
            };
            if a == Actor::Neighbour {
                // A neighbour sees an open post, and one she wrote about; not a hidden one,
                // nor one of a resident she blocked or who blocked her.
                let open = p.state == State::Open;
                if p.state == State::Hidden
                    || (!open && convs.is_empty())
                    || store::blocked_between(c, me, p.poster_person)?
                {
                    return Err(AppError::not_found());
                }
            }
            let pick = match conversation {
                Some(cid) => Some(
                    convs
                        .iter()
                        .find(|v| v.id == cid)
                        .cloned()
                        .ok_or_else(AppError::not_found)?,
                ),
                None if a == Actor::Staff => None,
                None => convs.first().cloned(),
            };
            let mut audited = None;
            let thread = match pick {
                Some(v) => {
                    let messages = store::messages(c, &v, &p.poster, me)?;
                    if a == Actor::Staff {
                        audited = Some((v.id, vec![p.poster_person, v.responder_person]));
                    } else {
                        store::mark_read(c, v.id, me, now)?;
                        if let Some(x) = convs.iter_mut().find(|x| x.id == v.id) {
                            x.unread = 0;
                        }
                    }
                    let other = if me == p.poster_person {
                        v.responder_person
                    } else {
                        p.poster_person
                    };
                    let blocked = a != Actor::Staff && store::blocked_between(c, me, other)?;
                    let blocked_by_me = a != Actor::Staff && store::has_blocked(c, me, other)?;
                    Some(Thread {
                        conversation: v,
                        messages,
                        blocked,
                        blocked_by_me,
                    })
                }
                None => None,
            };
            let own = match &home {
                Some(h) => store::of_person(c, h.person, now, LIST_LIMIT)?,
                None => Vec::new(),
            };
            dress(
                c,
                lang,
                &caller,
                home.as_ref(),
                std::slice::from_mut(&mut p),
                &own,
            )?;
            let report_reasons = if a == Actor::Staff {
                store::report_reasons(c, id)?
                    .into_iter()
                    .map(|(r, _)| r)
                    .collect()
            } else {
                Vec::new()
            };
            let done_by_me = match a {
                Actor::Poster => p.poster_done,
                Actor::Responder => p.responder_done,
                _ => false,
            };
            let reported_by_me =
                matches!(a, Actor::Neighbour | Actor::Responder) && store::reported_by(c, id, me)?;
            let mut actions = actions_for(p.state, a);
            if done_by_me {
                actions.retain(|x| *x != Act::Done);
            }
            actions.retain(|x| match x {
                Act::Report => !reported_by_me,
                Act::Unreport => reported_by_me,
                _ => true,
            });
            if a == Actor::Poster && convs.is_empty() {
                actions.retain(|x| *x != Act::Match);
            }
            Ok((
                PostView {
                    poster: a == Actor::Poster,
                    responder: a == Actor::Responder,
                    worker: a == Actor::Staff,
                    post: p,
                    conversations: convs,
                    thread,
                    actions,
                    report_reasons,
                    done_by_me,
                    reported_by_me,
                },
                audited,
            ))
        })
        .await?;
    if let Some((cid, persons)) = audited {
        audit(
            state,
            caller,
            v.post.street_id,
            Action::Read,
            persons,
            "conversation",
            cid,
        )
        .await?;
    }
    Ok(v)
}

/// Loads a post for a change with the caller's standing: 404 when she may not see it.
fn for_change(
    c: &mut dyn Conn,
    caller: &Caller,
    id: i64,
    now: i64,
) -> AppResult<(Post, Option<Home>, Actor)> {
    let home = home_of(c, caller)?;
    if home.is_none() && !is_worker(caller) {
        return Err(forbidden("aid.err_not_verified"));
    }
    let p = store::get_for_change(c, id, now)?.ok_or_else(AppError::not_found)?;
    let a = actor(caller, home.as_ref(), &p).ok_or_else(AppError::not_found)?;
    if a == Actor::Neighbour {
        // What she may not see, she may not act on; a blocked one is told why.
        if p.state == State::Hidden {
            return Err(AppError::not_found());
        }
        let me = home.as_ref().map(|h| h.person).unwrap_or(0);
        if store::blocked_between(c, me, p.poster_person)? {
            return Err(forbidden("aid.err_blocked"));
        }
    }
    Ok((p, home, a))
}

/// A message in a post's conversation. A neighbour's first message opens her conversation;
/// the poster answers in the conversation she names. Refused (403) between residents of
/// whom one blocked the other.
pub async fn send(
    state: &AppState,
    caller: &Caller,
    id: i64,
    conversation: Option<i64>,
    body: &str,
) -> AppResult<Message> {
    let body = model::text(
        body,
        model::MAX_MESSAGE,
        Some("aid.err_message"),
        "aid.err_message_long",
        true,
    )?;
    let body = crate::privacy::mask::free_text(&body);
    let caller2 = caller.clone();
    let now = now_ms();
    let (street, persons, msg) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, Vec<i64>, Message)> {
            let (p, home, a) = for_change(c, &caller2, id, now)?;
            if a == Actor::Staff {
                return Err(forbidden("aid.err_not_party"));
            }
            let h = home.ok_or_else(AppError::not_found)?;
            model::rule(Act::Message, p.state, a).map_err(refused)?;
            let v = match a {
                Actor::Poster => {
                    let cid =
                        conversation.ok_or_else(|| AppError::invalid("aid.err_conversation"))?;
                    store::conversation(c, cid, h.person)?
                        .filter(|v| v.post_id == id)
                        .ok_or_else(AppError::not_found)?
                }
                _ => match store::conversation_of(c, id, h.person)? {
                    Some(v) => v,
                    None => {
                        if store::blocked_between(c, h.person, p.poster_person)? {
                            return Err(forbidden("aid.err_blocked"));
                        }
                        let cid = store::insert_conversation(
                            c,
                            p.street_id,
                            id,
                            (h.person, Some(caller2.user_id), &h.label),
                            now,
                        )?;
                        store::conversation(c, cid, h.person)?.ok_or_else(AppError::not_found)?
                    }
                },
            };
            let (other, other_user) = if a == Actor::Poster {
                (v.responder_person, v.responder_user)
            } else {
                (p.poster_person, p.poster_user)
            };
            if store::blocked_between(c, h.person, other)? {
                return Err(forbidden("aid.err_blocked"));
            }
            let mid = store::insert_message(c, p.street_id, v.id, h.person, &body, now)?;
            tell(
                c,
                &p,
                other_user,
                "aid.msg_new",
                format!("/aid/{id}?conversation={}", v.id),
                format!("aid:msg:{mid}"),
            )?;
            Ok((
                p.street_id,
                vec![h.person, other],
                Message {
                    id: mid,
                    sender_person: h.person,
                    mine: true,
                    from: h.label.clone(),
                    body: body.clone(),
                    created_at: now,
                },
            ))
        })
        .await?;
    audit(
        state,
        caller,
        street,
        Action::Change,
        persons,
        "message",
        id,
    )
    .await?;
    Ok(msg)
}

/// Runs a step of the table on a post in one transaction; `f` does the step's writes and
/// gives the persons it concerns.
async fn step<F>(
    state: &AppState,
    caller: &Caller,
    id: i64,
    act: Act,
    what: &str,
    f: F,
) -> AppResult<Post>
where
    F: FnOnce(&mut dyn Conn, &Post, Option<&Home>, Actor, i64) -> AppResult<Vec<i64>>
        + Send
        + 'static,
{
    let caller2 = caller.clone();
    let now = now_ms();
    let (street, persons) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, Vec<i64>)> {
            let (p, home, a) = for_change(c, &caller2, id, now)?;
            model::rule(act, p.state, a).map_err(refused)?;
            let persons = f(c, &p, home.as_ref(), a, now)?;
            Ok((p.street_id, persons))
        })
        .await?;
    audit(state, caller, street, Action::Change, persons, what, id).await?;
    Ok(view(state, caller, id, None).await?.post)
}

/// The poster chooses the responder of one of the post's conversations.
pub async fn choose(
    state: &AppState,
    caller: &Caller,
    id: i64,
    conversation: i64,
) -> AppResult<Post> {
    step(
        state,
        caller,
        id,
        Act::Match,
        "matched",
        move |c, p, h, _, now| {
            let me = h.map(|h| h.person).unwrap_or(0);
            let v = store::conversation(c, conversation, me)?
                .filter(|v| v.post_id == p.id)
                .ok_or_else(|| AppError::invalid("aid.err_conversation"))?;
            if store::blocked_between(c, me, v.responder_person)? {
                return Err(forbidden("aid.err_blocked"));
            }
            store::set_matched(c, p.id, &v, now)?;
            tell(
                c,
                p,
                v.responder_user,
                "aid.msg_matched",
                format!("/aid/{}", p.id),
                format!("aid:matched:{}", p.id),
            )?;
            Ok(vec![me, v.responder_person])
        },
    )
    .await
}

/// A party says it is done: the post is done when both have.
pub async fn done(state: &AppState, caller: &Caller, id: i64) -> AppResult<Post> {
    step(
        state,
        caller,
        id,
        Act::Done,
        "done",
        move |c, p, _, a, now| {
            let poster = a == Actor::Poster;
            if (poster && p.poster_done) || (!poster && p.responder_done) {
                return Err(conflict("aid.err_done_twice"));
            }
            store::mark_done(c, p.id, poster, now)?;
            let to = if poster {
                p.responder_user
            } else {
                p.poster_user
            };
            let who = if poster { "p" } else { "r" };
            tell(
                c,
                p,
                to,
                "aid.msg_done",
                format!("/aid/{}", p.id),
                format!("aid:done:{}:{who}", p.id),
            )?;
            Ok([Some(p.poster_person), p.responder_person]
                .into_iter()
                .flatten()
                .collect())
        },
    )
    .await
}

/// The poster takes her post down.
pub async fn withdraw(state: &AppState, caller: &Caller, id: i64) -> AppResult<Post> {
    step(
        state,
        caller,
        id,
        Act::Withdraw,
        "withdrawn",
        move |c, p, _, _, now| {
            store::set_state(c, p.id, State::Withdrawn, now)?;
            Ok(vec![p.poster_person])
        },
    )
    .await
}

/// A resident reports a post with a reason: the community's workers then see its
/// conversations.
pub async fn report(state: &AppState, caller: &Caller, id: i64, reason: &str) -> AppResult<Post> {
    let reason = model::text(
        reason,
        model::MAX_REASON,
        Some("aid.err_reason"),
        "aid.err_reason_long",
        false,
    )?;
    step(
        state,
        caller,
        id,
        Act::Report,
        "reported",
        move |c, p, h, _, now| {
            let me = h.map(|h| h.person).unwrap_or(0);
            if !store::report(c, p.street_id, p.id, me, &reason, now)? {
                return Err(conflict("aid.err_reported_twice"));
            }
            Ok(vec![me, p.poster_person])
        },
    )
    .await
}

/// A worker of the post's community hides it with a reason its poster reads.
pub async fn hide(state: &AppState, caller: &Caller, id: i64, reason: &str) -> AppResult<Post> {
    let reason = model::text(
        reason,
        model::MAX_REASON,
        Some("aid.err_reason"),
        "aid.err_reason_long",
        false,
    )?;
    let by = caller.user_id;
    step(
        state,
        caller,
        id,
        Act::Hide,
        "hidden",
        move |c, p, _, _, now| {
            store::hide(c, p.id, by, &reason, now)?;
            tell(
                c,
                p,
                p.poster_user,
                "aid.msg_hidden",
                format!("/aid/{}", p.id),
                format!("aid:hidden:{}:{now}", p.id),
            )?;
            Ok(vec![p.poster_person])
        },
    )
    .await
}

/// A worker of the post's community puts a hidden post back as it was, with a reason (its
/// poster is told).
pub async fn restore(state: &AppState, caller: &Caller, id: i64, reason: &str) -> AppResult<Post> {
    let reason = model::text(
        reason,
        model::MAX_REASON,
        Some("aid.err_reason"),
        "aid.err_reason_long",
        false,
    )?;
    let by = caller.user_id;
    step(
        state,
        caller,
        id,
        Act::Restore,
        "restored",
        move |c, p, _, _, now| {
            if !store::restore(c, p.id, by, &reason, now)? {
                return Err(conflict("aid.err_state"));
            }
            tell(
                c,
                p,
                p.poster_user,
                "aid.msg_restored",
                format!("/aid/{}", p.id),
                format!("aid:restored:{}:{now}", p.id),
            )?;
            Ok(vec![p.poster_person])
        },
    )
    .await
}

/// A reporter takes her report of a post back (409 when she made none).
pub async fn unreport(state: &AppState, caller: &Caller, id: i64) -> AppResult<Post> {
    step(
        state,
        caller,
        id,
        Act::Unreport,
        "unreported",
        move |c, p, h, _, _| {
            let me = h.map(|h| h.person).unwrap_or(0);
            if !store::unreport(c, p.id, me)? {
                return Err(conflict("aid.err_not_reported"));
            }
            Ok(vec![me, p.poster_person])
        },
    )
    .await
}

/// Open posts past their time marked expired, each poster told once (aid's `expire` job).
/// Safe to run on two instances against one database: a post is marked by one of them.
pub async fn expire_due(state: &AppState) -> AppResult<usize> {
    let now = now_ms();
    state
        .db
        .write_tx(move |c| -> AppResult<usize> {
            let mut n = 0;
            for id in store::due_to_expire(c, now, 500)? {
                let Some(first) = store::mark_expired(c, id, now)? else {
                    continue;
                };
                n += 1;
                if first && let Some(p) = store::get(c, id, now)? {
                    tell(
                        c,
                        &p,
                        p.poster_user,
                        "aid.msg_expired",
                        format!("/aid/{id}"),
                        format!("aid:expired:{id}"),
                    )?;
                }
            }
            Ok(n)
        })
        .await
}

/// The two parties of a conversation the caller is one of: (street, her person, the other
/// person, the post); 404 when she is not a party.
fn parties(
    c: &mut dyn Conn,
    caller: &Caller,
    conversation: i64,
    now: i64,
) -> AppResult<(i64, i64, i64, i64)> {
    let h = resident(c, caller)?;
    let v = store::conversation(c, conversation, h.person)?.ok_or_else(AppError::not_found)?;
    let p = store::get(c, v.post_id, now)?.ok_or_else(AppError::not_found)?;
    let other = if p.poster_person == h.person {
        v.responder_person
    } else if v.responder_person == h.person {
        p.poster_person
    } else {
        return Err(AppError::not_found());
    };
    Ok((v.street_id, h.person, other, p.id))
}

/// Blocks (`on`) or unblocks the other party of a conversation, audited under both.
async fn set_block(
    state: &AppState,
    caller: &Caller,
    conversation: i64,
    on: bool,
) -> AppResult<i64> {
    let caller2 = caller.clone();
    let now = now_ms();
    let (street, me, other, post) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64, i64, i64)> {
            let (street, me, other, post) = parties(c, &caller2, conversation, now)?;
            if on {
                store::block(c, street, me, other, now)?;
            } else if !store::unblock(c, me, other)? {
                return Err(conflict("aid.err_not_blocked"));
            }
            Ok((street, me, other, post))
        })
        .await?;
    let what = if on { "blocked" } else { "unblocked" };
    audit(
        state,
        caller,
        street,
        Action::Change,
        vec![me, other],
        what,
        post,
    )
    .await?;
    Ok(post)
}

/// A party of a conversation blocks the other: messages refused both ways, the other's
/// posts no longer shown to her.
pub async fn block(state: &AppState, caller: &Caller, conversation: i64) -> AppResult<i64> {
    set_block(state, caller, conversation, true).await
}

/// A party of a conversation lifts her block of the other (409 when she had none; a block by
/// the other stays).
pub async fn unblock(state: &AppState, caller: &Caller, conversation: i64) -> AppResult<i64> {
    set_block(state, caller, conversation, false).await
}

/// The post of a conversation the caller is a party of (404 otherwise).
pub async fn post_of_conversation(
    state: &AppState,
    caller: &Caller,
    conversation: i64,
) -> AppResult<i64> {
    let caller = caller.clone();
    read(state, move |c| -> AppResult<i64> {
        let h = resident(c, &caller)?;
        let v = store::conversation(c, conversation, h.person)?.ok_or_else(AppError::not_found)?;
        let p = store::get(c, v.post_id, now_ms())?.ok_or_else(AppError::not_found)?;
        if p.poster_person == h.person || v.responder_person == h.person {
            Ok(p.id)
        } else {
            Err(AppError::not_found())
        }
    })
    .await
}

/// Messages waiting for the caller (the home card).
pub async fn unread(state: &AppState, caller: &Caller) -> AppResult<i64> {
    let caller = caller.clone();
    read(state, move |c| -> AppResult<i64> {
        match home_of(c, &caller)? {
            Some(h) => Ok(store::unread_for(c, h.person)?),
            None => Ok(0),
        }
    })
    .await
}
