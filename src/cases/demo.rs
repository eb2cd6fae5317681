//! The demo street's service catalogue, working calendar, Open311 integration key and a set
//! of cases in every part of their life.

use serde_json::json;

use super::calendar::{self, HOUR_MS};
use super::lifecycle::{self, Action, Actor, ActorRef, Step};
use super::{CaseError, Channel, Contact, FieldDef, FieldType, NewCase, NewCategory};
use crate::params;
use crate::store::keys::FieldKeys;
use crate::store::{Conn, StoreError};

fn field(
    key: &str,
    kind: FieldType,
    zh: &str,
    en: &str,
    required: bool,
    options: &[&str],
) -> FieldDef {
    FieldDef {
        key: key.into(),
        kind,
        label_zh: zh.into(),
        label_en: en.into(),
        required,
        options: options.iter().map(|s| s.to_string()).collect(),
    }
}

/// The catalogue: category, and the department (by the suffix of its name) responsible
/// street-wide; `property` means the estate's property company where there is one.
pub(crate) fn catalogue() -> Vec<(NewCategory, &'static str, bool)> {
    let cat = |code: &str,
               zh: &str,
               en: &str,
               group: &str,
               accept: i64,
               resolve: i64,
               priority: i64,
               radius: i64,
               verify: bool,
               public: bool,
               fields: Vec<FieldDef>| NewCategory {
        code: code.into(),
        name_zh: zh.into(),
        name_en: en.into(),
        group: group.into(),
        fields,
        accept_hours: accept,
        resolve_hours: resolve,
        priority,
        dup_radius_m: radius,
        verify_required: verify,
        public,
        // 群租 and the care of an elderly person are about people: never published.
        about_people: Some(matches!(
            code,
            "group_rental" | "elderly_care" | "neighbour_dispute"
        )),
        // Left to the residents' own bodies (留白, issue 26): no clock, no escalation.
        governed_by: Some(
            match code {
                "stairwell_clutter" => "building_leader",
                "neighbour_dispute" => "residents_council",
                _ => "",
            }
            .into(),
        ),
    };
    vec![
        (
            cat(
                "city_appearance",
                "市容环境",
                "Street cleanliness",
                "environment",
                2,
                24,
                2,
                100,
                true,
                true,
                vec![field(
                    "kind",
                    FieldType::Single,
                    "问题类型",
                    "Kind of problem",
                    true,
                    &["垃圾堆放", "乱张贴", "占道经营", "其他"],
                )],
            ),
            "城管执法中队",
            false,
        ),
        (
            cat(
                "waste_sorting",
                "垃圾分类",
                "Waste sorting",
                "environment",
                4,
                24,
                3,
                100,
                true,
                true,
                vec![],
            ),
            "绿化市容所",
            false,
        ),
        (
            cat(
                "greenery",
                "绿化养护",
                "Greenery upkeep",
                "environment",
                4,
                40,
                3,
                100,
                true,
                true,
                vec![],
            ),
            "绿化市容所",
            false,
        ),
        (
            cat(
                "facility_repair",
                "设施维修",
                "Facility repair",
                "facilities",
                2,
                40,
                2,
                50,
                true,
                true,
                vec![field(
                    "facility",
                    FieldType::Single,
                    "设施",
                    "Facility",
                    true,
                    &["路灯", "道路", "井盖", "健身器材", "其他"],
                )],
            ),
            "房管办事处",
            true,
        ),
        (
            cat(
                "water_leak",
                "漏水渗水",
                "Water leak",
                "facilities",
                2,
                24,
                2,
                30,
                true,
                true,
                vec![field(
                    "floor",
                    FieldType::Number,
                    "楼层",
                    "Floor",
                    false,
                    &[],
                )],
            ),
            "房管办事处",
            true,
        ),
        (
            cat(
                "illegal_parking",
                "违章停车",
                "Illegal parking",
                "order",
                1,
                4,
                1,
                50,
                false,
                true,
                vec![field(
                    "plate",
                    FieldType::Text,
                    "车牌号",
                    "Number plate",
                    false,
                    &[],
                )],
            ),
            "城管执法中队",
            false,
        ),
        (
            cat(
                "noise",
                "噪音扰民",
                "Noise nuisance",
                "order",
                1,
                8,
                2,
                100,
                true,
                true,
                vec![
                    field(
                        "source",
                        FieldType::Single,
                        "噪音来源",
                        "Source",
                        false,
                        &["装修", "娱乐", "施工", "商铺", "其他"],
                    ),
                    field("since", FieldType::Date, "开始日期", "Since", false, &[]),
                ],
            ),
            "派出所",
            false,
        ),
        (
            cat(
                "group_rental",
                "群租",
                "Overcrowded rental (群租)",
                "housing",
                4,
                80,
                2,
                30,
                true,
                true,
                vec![field("room", FieldType::Text, "房号", "Flat", false, &[])],
            ),
            "房管办事处",
            false,
        ),
        (
            cat(
                "elevator",
                "电梯故障",
                "Elevator fault",
                "safety",
                1,
                8,
                1,
                20,
                true,
                true,
                vec![
                    field(
                        "stairwell",
                        FieldType::Number,
                        "单元号",
                        "Stairwell",
                        false,
                        &[],
                    ),
                    field(
                        "trapped",
                        FieldType::Single,
                        "是否有人被困",
                        "Anyone trapped",
                        true,
                        &["是", "否"],
                    ),
                ],
            ),
            "市场监管所",
            true,
        ),
        (
            cat(
                "fire_hazard",
                "消防隐患",
                "Fire hazard",
                "safety",
                1,
                16,
                1,
                50,
                true,
                true,
                vec![field(
                    "hazards",
                    FieldType::Multi,
                    "隐患",
                    "Hazards",
                    true,
                    &[
                        "楼道堆物",
                        "电动车楼内充电",
                        "消防通道占用",
                        "灭火器失效",
                        "其他",
                    ],
                )],
            ),
            "消防救援站",
            false,
        ),
        (
            cat(
                "elderly_care",
                "独居老人关怀",
                "Care for an elderly person living alone",
                "care",
                2,
                16,
                1,
                0,
                true,
                false,
                vec![],
            ),
            "社区卫生服务中心",
            false,
        ),
        // Self-governed matters (留白): the building leader clears a stairwell, the residents'
        // council mediates between neighbours; the deadlines below apply only if a worker
        // moves such a case into the state's hands.
        (
            cat(
                "stairwell_clutter",
                "楼道堆物",
                "Clutter in the stairwell",
                "environment",
                4,
                48,
                3,
                30,
                false,
                true,
                vec![],
            ),
            "绿化市容所",
            true,
        ),
        (
            cat(
                "neighbour_dispute",
                "邻里纠纷",
                "Dispute between neighbours",
                "order",
                4,
                80,
                3,
                0,
                false,
                false,
                vec![],
            ),
            "派出所",
            false,
        ),
    ]
}

/// Seeds every street: catalogue, routes, the 2026 calendar.
pub fn seed_catalogue(c: &mut dyn Conn, now: i64) -> Result<(), CaseError> {
    let streets: Vec<i64> = c
        .query(
            "SELECT id FROM places WHERE kind = 'street' ORDER BY id",
            &[],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    let _ = now;
    for street in streets {
        calendar::set_year(c, street, 2026, &calendar::china_2026())?;
        let mut orgs = crate::org::orgs::of_street(c, street)?;
        orgs.sort_by_key(|o| o.id);
        // The places each property company serves: (organisation, place), in id order.
        let mut served: Vec<(i64, i64)> = Vec::new();
        for o in orgs.iter().filter(|o| o.kind == "property") {
            let mut places: Vec<i64> = crate::org::orgs::places_of(c, o.id)?
                .into_iter()
                .map(|p| p.0)
                .collect();
            places.sort_unstable();
            served.extend(places.into_iter().map(|p| (o.id, p)));
        }
        for (k, dept, property) in catalogue() {
            let id = super::save_category(c, street, &k)?;
            if let Some(org) = orgs
                .iter()
                .filter(|o| o.kind == "department" && o.name.ends_with(dept))
                .map(|o| o.id)
                .min()
            {
                super::set_route(c, id, street, org)?;
            }
            if property {
                for (org, place) in &served {
                    super::set_route(c, id, *place, *org)?;
                }
            }
        }
    }
    Ok(())
}

/// Replaces the demo's Open311 integration key with a new one and returns it (only its hash
/// is stored, so it is shown once, when `linli demo` starts).
pub fn integration_key(c: &mut dyn Conn) -> Result<Option<String>, StoreError> {
    let Some(street) = who(c, "admin")?.and_then(|w| w.street) else {
        return Ok(None);
    };
    c.exec("DELETE FROM open311_keys WHERE name = 'demo'", &[])?;
    let key = super::open311::create_key(c, street, "demo")?;
    Ok(Some(key))
}

/// A demo account as org knows it.
struct Who {
    id: i64,
    name: String,
    street: Option<i64>,
    person: Option<i64>,
    orgs: Vec<i64>,
    /// The paths of the places her grants name.
    places: Vec<String>,
}

fn who(c: &mut dyn Conn, username: &str) -> Result<Option<Who>, StoreError> {
    let Some(u) = crate::org::users::by_username(c, username)?.map(|u| u.user) else {
        return Ok(None);
    };
    Ok(Some(Who {
        id: u.id,
        name: u.display_name,
        street: u.street_id,
        person: u.person_id,
        orgs: u
            .grants
            .iter()
            .filter_map(|g| g.org.as_ref().map(|o| o.id))
            .collect(),
        places: u
            .grants
            .iter()
            .filter_map(|g| g.place.as_ref().map(|p| p.path.clone()))
            .collect(),
    }))
}

fn actor(w: &Who, actors: &[Actor]) -> ActorRef {
    ActorRef {
        user_id: Some(w.id),
        name: w.name.clone(),
        actors: actors.to_vec(),
        orgs: w.orgs.clone(),
    }
}

/// Sample cases in the demo accounts' street, in many states, at times before `now`.
pub fn seed_cases(c: &mut dyn Conn, keys: &FieldKeys, now: i64) -> Result<(), CaseError> {
    let (Some(admin), Some(wangge), Some(jumin), Some(bumen), Some(wuye)) = (
        who(c, "admin")?,
        who(c, "wangge")?,
        who(c, "jumin")?,
        who(c, "bumen")?,
        who(c, "wuye")?,
    ) else {
        return Ok(());
    };
    let Some(street) = admin.street else {
        return Ok(());
    };
    // The grid worker's work phone (a made-up number), so that a resident's report offers the
    // tap to call her (issue 19 item 16).
    crate::org::users::set_work_phone(c, wangge.id, Some("021-5081 0001"))?;
    let Some(grid_path) = wangge.places.first().cloned() else {
        return Ok(());
    };
    let mut p = Vec::new();
    let cond = crate::store::under_paths("path", std::slice::from_ref(&grid_path), 1, &mut p);
    let buildings: Vec<i64> = c
        .query(
            &format!(
                "SELECT id FROM places WHERE kind = 'building' AND {cond} ORDER BY id LIMIT 6"
            ),
            &p,
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    if buildings.is_empty() {
        return Ok(());
    }
    let jumin_unit = match jumin.person {
        Some(p) => crate::registry::persons::home_unit(c, p)?,
        None => None,
    };
    let b = |i: usize| buildings[i % buildings.len()];
    let dispatcher = actor(&admin, &[Actor::Dispatcher, Actor::Verifier]);
    let grid = actor(&wangge, &[Actor::Verifier]);
    let reporter = actor(&jumin, &[Actor::Reporter]);
    let bumen_h = actor(&bumen, &[Actor::Handler]);
    let wuye_h = actor(&wuye, &[Actor::Handler]);
    let hour = HOUR_MS;

    // (category, channel, reporter?, place, description, extra, hours ago, steps)
    type Steps<'a> = Vec<(&'a ActorRef, Step, i64)>;
    type Seed<'a> = (
        &'a str,
        Channel,
        bool,
        i64,
        &'a str,
        serde_json::Value,
        i64,
        Steps<'a>,
    );
    let step = |a: Action, note: &str| Step::new(a, note);
    let rate = |r: i64, note: &str| {
        let mut s = Step::new(Action::Rate, note);
        s.rating = Some(r);
        s
    };
    let to = |org: &Who| {
        let mut s = Step::new(Action::Dispatch, "");
        s.org_id = org.orgs.first().copied();
        s
    };
    let ext = |h: i64, note: &str| {
        let mut s = Step::new(Action::RequestExtension, note);
        s.hours = Some(h);
        s
    };
    let cases: Vec<Seed> = vec![
        (
            "facility_repair",
            Channel::Resident,
            true,
            jumin_unit.unwrap_or(b(0)),
            "楼下路灯一直不亮，晚上出门很黑，老人容易摔倒",
            json!({"facility": "路灯"}),
            74,
            vec![
                (&dispatcher, step(Action::Accept, ""), 73),
                (&dispatcher, to(&wuye), 72),
                (&wuye_h, step(Action::SignFor, ""), 70),
                (&wuye_h, step(Action::Start, "已联系电工"), 50),
            ],
        ),
        (
            "illegal_parking",
            Channel::Patrol,
            false,
            b(1),
            "小区东门消防通道有私家车长期停放",
            json!({"plate": "沪A·12345"}),
            2,
            vec![],
        ),
        (
            "noise",
            Channel::Resident,
            true,
            b(2),
            "楼上装修每天早上七点就开始电钻，影响休息",
            json!({"source": "装修"}),
            240,
            vec![
                (&dispatcher, step(Action::Accept, ""), 239),
                (&dispatcher, to(&bumen), 238),
                (&bumen_h, step(Action::SignFor, ""), 236),
                (&bumen_h, step(Action::Start, ""), 230),
                (
                    &bumen_h,
                    step(
                        Action::Resolve,
                        "已上门告知装修时间规定，业主承诺八点后施工",
                    ),
                    200,
                ),
                (&grid, step(Action::Verify, "回访确认已按规定时间施工"), 190),
                (&dispatcher, step(Action::Close, ""), 189),
                (&reporter, rate(4, "处理及时"), 180),
            ],
        ),
        (
            "elevator",
            Channel::Patrol,
            false,
            b(3),
            "3号楼电梯门关不上，运行时异响",
            json!({"trapped": "否", "stairwell": 1}),
            150,
            vec![
                (&dispatcher, step(Action::Accept, ""), 149),
                (&dispatcher, to(&wuye), 148),
                (&wuye_h, step(Action::SignFor, ""), 147),
            ],
        ),
        (
            "city_appearance",
            Channel::Resident,
            true,
            b(4),
            "垃圾箱旁边堆了很多装修垃圾，好几天没人清运",
            json!({"kind": "垃圾堆放"}),
            30,
            vec![
                (&dispatcher, step(Action::Accept, ""), 29),
                (&dispatcher, to(&bumen), 28),
            ],
        ),
        (
            "city_appearance",
            Channel::Patrol,
            false,
            b(4),
            "垃圾箱旁装修垃圾堆放未清运",
            json!({"kind": "垃圾堆放"}),
            6,
            vec![],
        ),
        (
            "group_rental",
            Channel::Hotline,
            false,
            b(5),
            "隔壁一套房子住了十几个人，进出很乱",
            json!({}),
            100,
            vec![
                (&dispatcher, step(Action::Accept, ""), 99),
                (&dispatcher, to(&bumen), 98),
                (
                    &bumen_h,
                    step(Action::Return, "不属于城管职责，应派房管办"),
                    97,
                ),
            ],
        ),
        (
            "elderly_care",
            Channel::Patrol,
            false,
            b(0),
            "独居老人王阿姨近两天没有下楼取牛奶",
            json!({}),
            20,
            vec![
                (&dispatcher, step(Action::Accept, ""), 19),
                (
                    &dispatcher,
                    step(Action::Hold, "老人由子女接走暂住，待返回后上门"),
                    18,
                ),
            ],
        ),
        (
            "waste_sorting",
            Channel::Resident,
            true,
            b(1),
            "测试一下能不能提交",
            json!({}),
            48,
            vec![(
                &dispatcher,
                step(Action::Reject, "非实际问题，不予受理"),
                47,
            )],
        ),
        (
            "fire_hazard",
            Channel::Patrol,
            false,
            b(2),
            "楼道里有电动车充电，拉了飞线",
            json!({"hazards": ["电动车楼内充电"]}),
            12,
            vec![
                (&dispatcher, step(Action::Accept, ""), 11),
                (&dispatcher, step(Action::Dispatch, ""), 10),
            ],
        ),
        (
            "illegal_parking",
            Channel::Hotline,
            false,
            b(1),
            "东门口有车挡住了消防通道",
            json!({}),
            26,
            vec![
                (&dispatcher, step(Action::Accept, ""), 25),
                (&dispatcher, to(&bumen), 25),
                (&bumen_h, step(Action::SignFor, ""), 24),
                (&bumen_h, step(Action::Start, ""), 24),
                (&bumen_h, ext(8, "车主联系不上，需要交警配合拖车"), 23),
            ],
        ),
    ];
    let mut ids = Vec::new();
    for (cat, channel, by_resident, place, desc, extra, ago, steps) in cases {
        let t0 = now - ago * hour;
        let (reporter_id, reporter_name) = match channel {
            Channel::Hotline => (None, "王先生".to_string()),
            Channel::Patrol => (Some(wangge.id), wangge.name.clone()),
            _ if by_resident => (Some(jumin.id), jumin.name.clone()),
            _ => (None, String::new()),
        };
        let id = super::create(
            c,
            street,
            channel,
            &NewCase {
                category: cat.into(),
                description: desc.into(),
                place_id: Some(place),
                extra: extra.as_object().cloned().unwrap_or_default(),
                reporter_id,
                reporter_name,
                reporter_contact: if channel == Channel::Hotline {
                    Contact::seal(keys, "13800001234")?
                } else {
                    Contact::default()
                },
                ..NewCase::default()
            },
            t0,
        )?;
        for (who, s, ago) in steps {
            let at = now - ago * hour;
            let case = super::get(c, id.0, at)?.ok_or(CaseError::NotFound)?;
            lifecycle::apply(c, &case, who, &s, at)?;
        }
        ids.push(id.0);
    }
    // The second report of the rubbish is a duplicate of the first.
    let (master, dup) = (ids[4], ids[5]);
    let case = super::get(c, dup, now - hour)?.ok_or(CaseError::NotFound)?;
    let mut m = Step::new(Action::Merge, "同一处装修垃圾");
    m.master_id = Some(master);
    lifecycle::apply(c, &case, &dispatcher, &m, now - hour)?;
    // Bring the deadlines up to date: warnings and escalations of the late ones.
    super::escalation::sweep(c, now)?;
    Ok(())
}

/// What residents, callers and grid workers write, by category (the demo's earlier cases).
fn texts(code: &str) -> &'static [&'static str] {
    match code {
        "city_appearance" => &[
            "小区门口垃圾箱满了溢出来，味道很大",
            "人行道上有人乱贴小广告",
            "楼下绿化带里堆了建筑垃圾",
            "沿街商铺把货物堆到人行道上",
        ],
        "waste_sorting" => &[
            "垃圾投放点湿垃圾桶破了，汁水流了一地",
            "有人把大件家具扔在垃圾房门口",
            "定时投放点晚上没人值守，垃圾混投",
        ],
        "greenery" => &[
            "树枝长到三楼窗口，刮风时敲玻璃",
            "绿化带里的树倒了一半，压着自行车棚",
            "草坪好久没修剪，蚊子很多",
        ],
        "facility_repair" => &[
            "楼道灯坏了，晚上上下楼看不见",
            "小区路灯不亮，已经好几天了",
            "单元门禁坏了，门关不上",
            "健身器材的螺丝松了，老人锻炼不安全",
            "井盖松动，走上去会响",
        ],
        "water_leak" => &[
            "楼上渗水，卫生间天花板一直滴水",
            "小区里的自来水管爆了，路面积水",
            "地下室进水，电表箱旁边有积水",
        ],
        "illegal_parking" => &[
            "消防通道被私家车堵住",
            "有车长期停在小区门口的人行道上",
            "非机动车乱停，盲道被占",
        ],
        "noise" => &[
            "楼下广场舞音响太大，晚上九点还在跳",
            "隔壁装修周末一早就开始电钻",
            "沿街饭店后厨排风扇噪音很大",
        ],
        "group_rental" => &[
            "楼下一套房子住了十几个人，进出很乱",
            "有一户把客厅隔成好几间出租",
        ],
        "elevator" => &[
            "电梯按钮失灵，按了没反应",
            "电梯运行时有异响，晃得厉害",
            "电梯停在两层之间，幸好没有人被困",
        ],
        "fire_hazard" => &[
            "楼道里堆满纸箱和旧家具",
            "有人把电动车推进电梯上楼充电",
            "消防栓箱门坏了，里面的水带不见了",
        ],
        "elderly_care" => &[
            "独居的李老伯几天没出门了，敲门没人应",
            "楼上的老阿姨腿脚不便，想申请助餐服务",
            "独居老人家里的煤气灶开关老化，担心有危险",
        ],
        _ => &["需要处理的问题，详见现场"],
    }
}

/// An extra field's value as a reporter would give it.
fn extra_value(f: &FieldDef, rng: &mut impl rand::Rng, day: &str) -> serde_json::Value {
    use rand::seq::SliceRandom;
    let pick = |rng: &mut _| f.options.choose(rng).cloned().unwrap_or_default();
    match f.kind {
        FieldType::Single => json!(pick(rng)),
        FieldType::Multi => json!([pick(rng)]),
        FieldType::Number => json!(rng.gen_range(1..6)),
        FieldType::Date => json!(day),
        FieldType::Text => json!("见描述"),
    }
}

/// Earlier cases across the whole demo street: `count` reports over the last 60 days, each
/// taken through its life as far as the time since allows (accepted, dispatched to the
/// organisation routing names, signed for, handled, resolved, verified on site by someone
/// else, closed, followed up by phone), so the queues, the map and the organisations' figures
/// look like a street's. Their notifications are marked read (old news). Deterministic for a
/// seed. Returns how many were stored.
pub fn seed_history(
    c: &mut dyn Conn,
    keys: &FieldKeys,
    now: i64,
    count: usize,
    seed: u64,
) -> Result<usize, CaseError> {
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    let Some(admin) = who(c, "admin")? else {
        return Ok(0);
    };
    let Some(street) = admin.street else {
        return Ok(0);
    };
    let buildings: Vec<i64> = c
        .query(
            "SELECT id FROM places WHERE street_id = $1 AND kind = 'building' ORDER BY id",
            params![street],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect();
    let cats: Vec<super::Category> = super::categories(c, street)?
        .into_iter()
        .filter(|k| k.active)
        .collect();
    if buildings.is_empty() || cats.is_empty() || count == 0 {
        return Ok(0);
    }
    let orgs: std::collections::HashMap<i64, String> = crate::org::orgs::of_street(c, street)?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    // How often each kind of problem comes in, most common first.
    let weight = |code: &str| match code {
        "city_appearance" | "facility_repair" => 20,
        "illegal_parking" | "noise" => 12,
        "waste_sorting" | "water_leak" | "greenery" => 8,
        "fire_hazard" | "elevator" | "elderly_care" => 5,
        _ => 3,
    };
    let pick_cat = rand::distributions::WeightedIndex::new(cats.iter().map(|k| weight(&k.code)))
        .map_err(|_| CaseError::Invalid("case.err_category"))?;
    let callers = [
        "王先生",
        "李女士",
        "张阿姨",
        "陈老伯",
        "刘先生",
        "赵女士",
        "周先生",
        "吴阿姨",
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x0CA5_E5ED);
    let dispatcher = actor(&admin, &[Actor::Dispatcher, Actor::Verifier]);
    let hour = HOUR_MS;
    // (when, case, step, the rating its reporter will give)
    let mut steps: Vec<(i64, i64, Planned, i64)> = Vec::new();
    for _ in 0..count {
        use rand::distributions::Distribution;
        let cat = &cats[pick_cat.sample(&mut rng)];
        // Reports spread over 60 days, more of them recent; in the daytime.
        let age_h = (rng.gen_range(0.0f64..1.0).powf(1.6) * 60.0 * 24.0) as i64 + 1;
        let t0 = now - age_h * hour - rng.gen_range(0..hour);
        let day = chrono::DateTime::from_timestamp_millis(t0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let mut extra = serde_json::Map::new();
        for f in &cat.fields {
            if f.required || rng.gen_bool(0.3) {
                extra.insert(f.key.clone(), extra_value(f, &mut rng, &day));
            }
        }
        let channel = *[Channel::Hotline, Channel::Patrol, Channel::Resident]
            .choose(&mut rng)
            .unwrap_or(&Channel::Hotline);
        let caller = callers.choose(&mut rng).copied().unwrap_or("王先生");
        let id = super::create(
            c,
            street,
            channel,
            &NewCase {
                category: cat.code.clone(),
                description: texts(&cat.code)
                    .choose(&mut rng)
                    .copied()
                    .unwrap_or_default()
                    .into(),
                place_id: buildings.choose(&mut rng).copied(),
                extra,
                reporter_name: match channel {
                    Channel::Patrol => "网格巡查".into(),
                    _ => caller.into(),
                },
                reporter_contact: if channel == Channel::Hotline {
                    Contact::seal(keys, &format!("1380000{:04}", rng.gen_range(0..10_000)))?
                } else {
                    Contact::default()
                },
                ..NewCase::default()
            },
            t0,
        )?;
        // Its life: each step some time after the last, as far as now.
        let budget = cat.resolve_hours.max(3);
        let resolve_h = if rng.gen_bool(0.88) {
            rng.gen_range(2..budget)
        } else {
            rng.gen_range(budget * 4..budget * 8)
        };
        let rating = *[5, 5, 5, 5, 5, 4, 4, 4, 3, 2, 1]
            .choose(&mut rng)
            .unwrap_or(&5);
        let plan: Vec<(i64, Action)> = if rng.gen_bool(0.04) {
            vec![(rng.gen_range(1..4) * hour, Action::Reject)]
        } else {
            vec![
                (rng.gen_range(0..2) * hour / 2 + 600_000, Action::Accept),
                (rng.gen_range(5..40) * 60_000, Action::Dispatch),
                (rng.gen_range(1..6) * hour / 2, Action::SignFor),
                (rng.gen_range(1..8) * hour / 2, Action::Start),
                (resolve_h * hour, Action::Resolve),
                (rng.gen_range(2..24) * hour, Action::Verify),
                (rng.gen_range(1..4) * hour, Action::Close),
                (rng.gen_range(2..48) * hour, Action::Rate),
            ]
        };
        // About one case in ten needs another organisation too (联合处置): after the
        // dispatch a co-handler is set a task — at a consultation for half of them — which
        // it accepts and completes before the lead resolves; now and then it declines and
        // the dispatcher releases the task.
        let joint = !cat.self_governed() && plan.len() > 2 && rng.gen_bool(0.1);
        let mut at = t0;
        let mut resolve_at = None;
        for (after, action) in &plan {
            at += after;
            if *action == Action::Resolve {
                resolve_at = Some(at);
            }
        }
        let mut at = t0;
        for (after, action) in plan {
            at += after;
            if at >= now {
                break;
            }
            steps.push((at, id.0, Planned::Case(action), rating));
            if joint && action == Action::Dispatch {
                let set = at + rng.gen_range(10..60) * 60_000;
                let accept = set + rng.gen_range(1..6) * hour / 2;
                let end = resolve_at.unwrap_or(now).min(now) - rng.gen_range(5..60) * 60_000;
                let consult = rng.gen_bool(0.5);
                steps.push((set, id.0, Planned::TaskSet(consult), rating));
                if rng.gen_bool(0.15) {
                    steps.push((accept, id.0, Planned::TaskDecline, rating));
                    steps.push((accept + hour, id.0, Planned::TaskRelease, rating));
                } else {
                    steps.push((accept, id.0, Planned::TaskAccept, rating));
                    steps.push((end.max(accept + 600_000), id.0, Planned::TaskDone, rating));
                }
            }
        }
    }
    // The steps in the order they happened, with the deadline watcher running every four
    // hours in between, so late cases were warned, supervised and escalated when they were.
    steps.sort_by_key(|s| s.0);
    let mut handlers: std::collections::HashMap<i64, ActorRef> = Default::default();
    let mut stalled = std::collections::HashSet::new();
    let mut tick = now - 61 * 24 * hour;
    let mut co_handlers: std::collections::HashMap<i64, (i64, ActorRef)> = Default::default();
    for (at, id, planned, rating) in steps {
        while tick + 4 * hour <= at {
            tick += 4 * hour;
            super::escalation::sweep(c, tick)?;
            super::tasks::sweep(c, tick)?;
        }
        if stalled.contains(&id) || at >= now {
            continue;
        }
        let case = super::get(c, id, at)?.ok_or(CaseError::NotFound)?;
        let action = match planned {
            Planned::Case(a) => a,
            task => {
                joint_step(
                    c,
                    &case,
                    task,
                    &dispatcher,
                    &orgs,
                    &mut co_handlers,
                    &mut rng,
                    at,
                )?;
                continue;
            }
        };
        if action == Action::Dispatch && case.suggested_org_id.is_none() {
            stalled.insert(id);
            continue;
        }
        let (who, step) = match action {
            Action::Reject => (&dispatcher, Step::new(action, "重复反映，已在处理中")),
            Action::SignFor | Action::Start | Action::Resolve => {
                let org = case.handler_org_id.unwrap_or_default();
                let h = handlers.entry(id).or_insert_with(|| ActorRef {
                    user_id: None,
                    name: orgs.get(&org).cloned().unwrap_or_default(),
                    actors: vec![Actor::Handler],
                    orgs: vec![org],
                });
                let note = if action == Action::Resolve {
                    "已到现场处理完毕"
                } else {
                    ""
                };
                (&*h, Step::new(action, note))
            }
            Action::Verify => (&dispatcher, Step::new(action, "现场核查，问题已解决")),
            Action::Rate => {
                let mut s = Step::new(action, "电话回访");
                s.rating = Some(rating);
                (&dispatcher, s)
            }
            _ => (&dispatcher, Step::new(action, "")),
        };
        // A step the case no longer allows (none should be) ends its story there.
        match lifecycle::apply(c, &case, who, &step, at) {
            Ok(_) => {}
            Err(CaseError::Store(e)) => return Err(CaseError::Store(e)),
            Err(_) => {
                stalled.insert(id);
            }
        }
    }
    // The watcher kept running after the last step, up to today: a case left late escalated
    // when its thresholds passed, not all at once when the demo's server starts.
    while tick + 4 * hour <= now {
        tick += 4 * hour;
        super::escalation::sweep(c, tick)?;
        super::tasks::sweep(c, tick)?;
    }
    // Old news: the history's notifications are read.
    c.exec(
        "UPDATE inbox SET read_at = $1 WHERE street_id = $2 AND read_at IS NULL AND created_at < $3",
        params![now, street, now - 24 * hour],
    )?;
    Ok(count)
}

/// A step of the demo's history: one of the case's own, or of its co-handler's task.
#[derive(Clone, Copy)]
enum Planned {
    Case(Action),
    /// A task set for a co-handler (at a consultation when true).
    TaskSet(bool),
    TaskAccept,
    TaskDone,
    TaskDecline,
    TaskRelease,
}

/// Takes one joint-handling step of the history; a step the case no longer allows (it was
/// rejected or stalled) is left out.
#[allow(clippy::too_many_arguments)]
fn joint_step(
    c: &mut dyn Conn,
    case: &super::Case,
    step: Planned,
    dispatcher: &ActorRef,
    orgs: &std::collections::HashMap<i64, String>,
    co_handlers: &mut std::collections::HashMap<i64, (i64, ActorRef)>,
    rng: &mut impl rand::Rng,
    at: i64,
) -> Result<(), CaseError> {
    use super::tasks::{self, NewConsultation, NewTask, TaskAction, TaskStep};
    use rand::seq::SliceRandom;
    let id = case.id.0;
    let result = match step {
        Planned::TaskSet(consult) => {
            // A co-handler other than the lead that serves the case's place.
            let mut ids: Vec<i64> = orgs
                .keys()
                .copied()
                .filter(|o| Some(*o) != case.handler_org_id)
                .collect();
            ids.sort();
            ids.shuffle(rng);
            let what = *[
                "配合现场劝离占道车辆",
                "核实房屋结构安全，出具意见",
                "协调业主开门查看渗漏点",
                "派人清运堆放杂物",
                "上门做好邻里调解",
            ]
            .choose(rng)
            .unwrap_or(&"配合现场处置");
            for o in ids {
                let new = NewTask {
                    org_id: o,
                    task: what.into(),
                    hours: None,
                };
                let set = if consult {
                    let minutes = NewConsultation {
                        participants: format!(
                            "街道城运中心、{}、{}",
                            case.handler_org_name.clone().unwrap_or_default(),
                            orgs.get(&o).cloned().unwrap_or_default()
                        ),
                        decision: format!("牵头单位负责主体处置，协办单位{what}"),
                        held_at: Some(at),
                        tasks: vec![new],
                    };
                    tasks::consult(c, case, dispatcher, &minutes, at).map(|(_, t)| t[0])
                } else {
                    tasks::add(c, case, dispatcher, &new, at)
                };
                match set {
                    Ok(task) => {
                        let who = ActorRef {
                            user_id: None,
                            name: orgs.get(&o).cloned().unwrap_or_default(),
                            actors: Vec::new(),
                            orgs: vec![o],
                        };
                        co_handlers.insert(id, (task, who));
                        return Ok(());
                    }
                    Err(CaseError::Store(e)) => return Err(CaseError::Store(e)),
                    Err(_) => continue,
                }
            }
            return Ok(());
        }
        Planned::Case(_) => return Ok(()),
        other => {
            let Some((task, who)) = co_handlers.get(&id) else {
                return Ok(());
            };
            let (action, note, by) = match other {
                Planned::TaskAccept => (TaskAction::Accept, "", who),
                Planned::TaskDone => (TaskAction::Done, "已按会商分工完成", who),
                Planned::TaskDecline => (TaskAction::Decline, "不属于本单位职责范围", who),
                _ => (TaskAction::Release, "已改由牵头单位自行处置", dispatcher),
            };
            let step = TaskStep {
                action,
                note: note.into(),
            };
            tasks::step(c, case, *task, by, &step, at).map(|_| ())
        }
    };
    match result {
        Err(CaseError::Store(e)) => Err(CaseError::Store(e)),
        _ => Ok(()),
    }
}
