//! Redemption (积分兑换): a community's catalogue of items offered by its committee or by a
//! shop (an organisation of the street, which has an account of its own in the ledger), each
//! with a stock. A participant redeems an item when her balance covers it and a piece is left
//! — both checked inside the one write transaction, so two redemptions of the last piece give
//! one winner on either backend — and gets a code; the committee's worker or the shop's
//! confirms the code when she collects it. An organiser restocks an item; each restock is
//! logged (vol_restocks) in the same transaction.

use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{self, may_join, organiser, participant};
use super::ledger::{self, Txn};
use super::service::{conflict, line, purpose, record};
use super::store::{self, Item, NewItem, Redemption};
use crate::audit::{self, Action};
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::time::now_ms;
use crate::org::{Caller, Scope};
use crate::state::AppState;

pub const OFFERS: [&str; 2] = ["committee", "shop"];
pub const MAX_COST: i64 = 100_000;
pub const MAX_STOCK: i64 = 100_000;
pub const MAX_NOTE: usize = 200;
/// Redemption codes: no 0/O, 1/I/L, to be read aloud at a counter.
const CODE_CHARS: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// An item as typed.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = VolunteeringItemRequest)]
pub struct Typed {
    /// A community of the organiser's places.
    pub community_id: i64,
    /// `committee` or `shop`.
    pub offer: String,
    /// The shop: an organisation of the street (with `shop`).
    #[serde(default)]
    pub org_id: Option<i64>,
    pub title: String,
    #[serde(default)]
    pub note: String,
    pub cost: i64,
    pub stock: i64,
}

/// Puts an item in a community's catalogue.
pub async fn create(state: &AppState, caller: &Caller, t: Typed) -> AppResult<Item> {
    let paths = organiser(caller)?;
    let title = line(
        &t.title,
        40,
        "volunteering.err_item_title",
        "volunteering.err_title_long",
    )?;
    let note = t.note.trim().to_string();
    if note.chars().count() > MAX_NOTE {
        return Err(AppError::invalid("volunteering.err_reason_long"));
    }
    crate::kernel::text::check_line(&note).map_err(AppError::invalid)?;
    let offer = OFFERS
        .iter()
        .find(|o| **o == t.offer.trim())
        .copied()
        .ok_or_else(|| AppError::invalid("volunteering.err_offer"))?;
    if !(1..=MAX_COST).contains(&t.cost) {
        return Err(AppError::invalid("volunteering.err_cost"));
    }
    if !(0..=MAX_STOCK).contains(&t.stock) {
        return Err(AppError::invalid("volunteering.err_stock"));
    }
    let me = caller.user_id;
    let now = now_ms();
    let (id, street) = state
        .db
        .write_tx(move |c| -> AppResult<(i64, i64)> {
            let community = crate::org::places::get(c, &paths, t.community_id)?
                .filter(|p| p.kind == "community")
                .ok_or_else(|| AppError::invalid("volunteering.err_community"))?;
            let street = community
                .street_id
                .ok_or_else(|| AppError::invalid("volunteering.err_community"))?;
            let org_id = if offer == "shop" {
                let o = t
                    .org_id
                    .ok_or_else(|| AppError::invalid("volunteering.err_shop"))?;
                if !crate::org::orgs::is_active(c, street, o)? {
                    return Err(AppError::invalid("volunteering.err_shop"));
                }
                Some(o)
            } else {
                None
            };
            let id = store::insert_item(
                c,
                &NewItem {
                    street_id: street,
                    community_id: community.id,
                    community_path: &community.path,
                    offer,
                    org_id,
                    title: &title,
                    note: &note,
                    cost: t.cost,
                    stock: t.stock,
                    created_by: me,
                },
                now,
            )?;
            Ok((id, street))
        })
        .await?;
    record(
        state,
        caller,
        Action::Change,
        street,
        Vec::new(),
        purpose("item", id),
    )
    .await?;
    state
        .db
        .read(move |c| store::item_by_id(c, id))
        .await?
        .ok_or_else(AppError::not_found)
}

/// A restock as typed.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[schema(as = VolunteeringRestockRequest)]
pub struct RestockTyped {
    /// Pieces added (1 to 100,000; the stock stays within 100,000).
    pub added: i64,
    #[serde(default)]
    pub note: String,
}

/// An organiser of the item's community adds pieces to its stock; the restock is logged
/// (how many, the stock after, who, when, a note) in the same transaction. 403 for one who
/// does not organise, 404 for an item outside her places.
pub async fn restock(
    state: &AppState,
    caller: &Caller,
    item_id: i64,
    t: RestockTyped,
) -> AppResult<Item> {
    let paths = organiser(caller)?;
    if !(1..=MAX_STOCK).contains(&t.added) {
        return Err(AppError::invalid("volunteering.err_restock"));
    }
    let note = t.note.trim().to_string();
    if note.chars().count() > MAX_NOTE {
        return Err(AppError::invalid("volunteering.err_reason_long"));
    }
    crate::kernel::text::check_line(&note).map_err(AppError::invalid)?;
    let (me, name) = (caller.user_id, caller.display_name.clone());
    let now = now_ms();
    let item = state
        .db
        .write_tx(move |c| -> AppResult<Item> {
            let item = store::item_by_id(c, item_id)?
                .filter(|i| Scope::covers(&paths, &i.community_path))
                .ok_or_else(AppError::not_found)?;
            let after = store::restock(c, item_id, t.added, MAX_STOCK)?
                .ok_or_else(|| AppError::invalid("volunteering.err_restock_max"))?;
            store::insert_restock(
                c,
                &store::NewRestock {
                    street_id: item.street_id,
                    item_id,
                    added: t.added,
                    stock_after: after,
                    note: &note,
                    by_user: me,
                    by_name: &name,
                },
                now,
            )?;
            store::item_by_id(c, item_id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    record(
        state,
        caller,
        Action::Change,
        item.street_id,
        Vec::new(),
        purpose("restocked", item.id),
    )
    .await?;
    Ok(item)
}

/// An item's restocks, newest first (an organiser of its community; 404 otherwise).
pub async fn restocks(
    state: &AppState,
    caller: &Caller,
    item_id: i64,
) -> AppResult<Vec<store::Restock>> {
    let paths = organiser(caller)?;
    state
        .db
        .read(move |c| {
            store::item_by_id(c, item_id)?
                .filter(|i| Scope::covers(&paths, &i.community_path))
                .map(|_| store::restocks(c, item_id, 20))
                .transpose()
        })
        .await?
        .ok_or_else(AppError::not_found)
}

/// An item in the catalogue, with who offers it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringCatalogueItem)]
pub struct Offered {
    pub item: Item,
    /// The shop's name, or the community's.
    pub by: String,
}

/// The catalogue: an organiser's communities', or those the caller may join.
pub async fn list(state: &AppState, caller: &Caller) -> AppResult<Vec<Offered>> {
    let org = organiser(caller).ok();
    if org.is_none() {
        participant(caller)?;
    }
    let street = caller.street_id.unwrap_or_default();
    let who = caller.clone();
    Ok(state
        .db
        .read(move |c| {
            let list: Vec<Item> = match org {
                Some(paths) => store::items_under(c, &paths, 300)?,
                None => {
                    let s = store::settings(c, street)?;
                    let top = access::street_path(c, street)?;
                    store::items_under(c, &[top], 300)?
                        .into_iter()
                        .filter(|i| may_join(&who, &i.community_path, &s))
                        .collect()
                }
            };
            let orgs = crate::org::orgs::names(c, list.iter().filter_map(|i| i.org_id))?;
            let mut out = Vec::new();
            for i in list {
                let by = match i.org_id {
                    Some(o) => orgs.get(&o).cloned().unwrap_or_default(),
                    None => crate::org::places::by_id_unscoped(c, i.community_id)?
                        .map(|p| p.name)
                        .unwrap_or_default(),
                };
                out.push(Offered { item: i, by });
            }
            Ok(out)
        })
        .await?)
}

fn new_code() -> String {
    let mut r = rand::thread_rng();
    (0..8)
        .map(|_| CODE_CHARS[r.gen_range(0..CODE_CHARS.len())] as char)
        .collect()
}

/// Redeems one piece of an item: the balance and the stock checked in the write transaction
/// (see the module's note); a code to show when collecting it.
pub async fn redeem(state: &AppState, caller: &Caller, item_id: i64) -> AppResult<Redemption> {
    let street = participant(caller)?;
    let me = caller.user_id;
    let home = access::home_path(caller);
    let who = caller.clone();
    let now = now_ms();
    let r = state
        .db
        .write_tx(move |c| -> AppResult<Redemption> {
            let s = store::settings(c, street)?;
            let item = store::item_by_id(c, item_id)?
                .filter(|i| i.street_id == street && may_join(&who, &i.community_path, &s))
                .ok_or_else(AppError::not_found)?;
            if !store::take_one(c, item_id)? {
                return Err(conflict("volunteering.err_stock_out"));
            }
            let person = ledger::account(c, street, "person", me, &home, now)?;
            let to = match item.org_id {
                Some(o) => ledger::account(c, street, "shop", o, "", now)?,
                None => ledger::account(
                    c,
                    street,
                    "committee",
                    item.community_id,
                    &item.community_path,
                    now,
                )?,
            };
            let reason = format!("{} #{}", item.title, item.id);
            let txn = ledger::spend(
                c,
                &Txn {
                    street_id: street,
                    kind: "spend",
                    community_path: &item.community_path,
                    reverses: None,
                    reason: &reason,
                    by: me,
                },
                person,
                to,
                item.cost,
                now,
            )?;
            let mut code = new_code();
            while store::redemption_by_code(c, street, &code)?.is_some() {
                code = new_code();
            }
            let id = store::insert_redemption(c, street, item_id, me, &code, item.cost, txn, now)?;
            store::redemption_by_id(c, id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    record(
        state,
        caller,
        Action::Change,
        street,
        vec![audit::user(me)],
        purpose("redeemed", r.id),
    )
    .await?;
    Ok(r)
}

/// A redemption with its item, as its holder or the confirming worker sees it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = VolunteeringRedemptionView)]
pub struct RedemptionView {
    pub redemption: Redemption,
    pub item: String,
    /// The holder's name (the confirming worker's view; empty in her own).
    pub holder: String,
}

/// The caller's own redemptions, newest first.
pub async fn mine(state: &AppState, caller: &Caller) -> AppResult<Vec<RedemptionView>> {
    participant(caller)?;
    let me = caller.user_id;
    Ok(state
        .db
        .read(move |c| {
            let mut out = Vec::new();
            for r in store::redemptions_of(c, me, 50)? {
                let item = store::item_by_id(c, r.item_id)?
                    .map(|i| i.title)
                    .unwrap_or_default();
                out.push(RedemptionView {
                    redemption: r,
                    item,
                    holder: String::new(),
                });
            }
            Ok(out)
        })
        .await?)
}

/// Whether the caller may confirm codes at all (an organiser or an organisation's worker).
pub fn confirms(caller: &Caller) -> bool {
    caller.street_id.is_some() && (access::organises(caller) || !access::orgs(caller).is_empty())
}

/// Confirms a redemption code: by the committee's worker (an organiser of the item's
/// community) or the shop's (a worker of its organisation); 404 for a code she may not see.
pub async fn confirm(state: &AppState, caller: &Caller, code: &str) -> AppResult<RedemptionView> {
    if !confirms(caller) {
        return Err(AppError::forbidden());
    }
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 8 || !code.bytes().all(|b| CODE_CHARS.contains(&b)) {
        return Err(AppError::invalid("volunteering.err_redeem_code"));
    }
    let street = caller.street_id.unwrap_or_default();
    let paths = organiser(caller).unwrap_or_default();
    let orgs = access::orgs(caller);
    let me = caller.user_id;
    let now = now_ms();
    let v = state
        .db
        .write_tx(move |c| -> AppResult<RedemptionView> {
            let r = store::redemption_by_code(c, street, &code)?.ok_or_else(AppError::not_found)?;
            let item = store::item_by_id(c, r.item_id)?.ok_or_else(AppError::not_found)?;
            let mine = match item.org_id {
                Some(o) => orgs.contains(&o),
                None => Scope::covers(&paths, &item.community_path),
            };
            if !mine {
                return Err(AppError::not_found());
            }
            match r.state.as_str() {
                "confirmed" => return Err(conflict("volunteering.err_confirmed")),
                "reversed" => return Err(conflict("volunteering.err_withdrawn")),
                _ => {}
            }
            if !store::confirm(c, r.id, me, now)? {
                return Err(conflict("volunteering.err_confirmed"));
            }
            let holder = crate::org::users::display_names(c, [r.user_id])?
                .remove(&r.user_id)
                .unwrap_or_default();
            Ok(RedemptionView {
                redemption: store::redemption_by_id(c, r.id)?.ok_or_else(AppError::not_found)?,
                item: item.title,
                holder,
            })
        })
        .await?;
    record(
        state,
        caller,
        Action::Change,
        street,
        vec![audit::user(v.redemption.user_id)],
        purpose("confirmed", v.redemption.id),
    )
    .await?;
    Ok(v)
}

/// The organisations of the street a shop's item may name, as `(id, name)`.
pub async fn shops(state: &AppState, caller: &Caller) -> AppResult<Vec<(i64, String)>> {
    organiser(caller)?;
    let street = caller.street_id.unwrap_or_default();
    Ok(state
        .db
        .read(move |c| {
            Ok(crate::org::orgs::of_street(c, street)?
                .into_iter()
                .filter(|o| o.retired_at.is_none())
                .map(|o| (o.id, o.name))
                .collect())
        })
        .await?)
}
