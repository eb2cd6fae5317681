//! Name tables for the demo street generator: surnames with frequency
//! weights, given-name characters by sex and generation, Pudong street and
//! road names, estate (小区) names, organisation names and ID region codes.
//!
//! Everything here is plain static data; the generator (`crate::demo::gen`)
//! decides how to combine it.

/// `(surname, national weight, Shanghai weight)`; weights are roughly
/// "per ten thousand people". The Shanghai column bumps the surnames that are
/// especially common among registered Shanghai residents (陈 徐 沈 陆 顾 朱 张 王).
pub const SURNAMES: &[(&str, u32, u32)] = &[
    ("王", 710, 780),
    ("李", 700, 600),
    ("张", 680, 820),
    ("刘", 540, 400),
    ("陈", 460, 740),
    ("杨", 310, 280),
    ("黄", 250, 300),
    ("赵", 230, 160),
    ("吴", 200, 300),
    ("周", 190, 320),
    ("徐", 150, 380),
    ("孙", 150, 160),
    ("马", 130, 110),
    ("朱", 130, 300),
    ("胡", 130, 150),
    ("郭", 120, 70),
    ("何", 120, 110),
    ("林", 110, 110),
    ("高", 110, 100),
    ("罗", 100, 70),
    ("郑", 95, 90),
    ("梁", 90, 50),
    ("谢", 85, 80),
    ("宋", 80, 70),
    ("唐", 75, 110),
    ("许", 70, 120),
    ("韩", 65, 50),
    ("冯", 65, 80),
    ("邓", 65, 40),
    ("曹", 60, 90),
    ("彭", 55, 40),
    ("曾", 55, 30),
    ("肖", 50, 30),
    ("田", 50, 30),
    ("董", 50, 50),
    ("潘", 45, 90),
    ("袁", 45, 60),
    ("蔡", 45, 90),
    ("蒋", 45, 90),
    ("余", 40, 40),
    ("于", 40, 30),
    ("杜", 40, 40),
    ("叶", 40, 80),
    ("程", 40, 40),
    ("魏", 40, 30),
    ("苏", 35, 40),
    ("吕", 35, 40),
    ("丁", 35, 70),
    ("任", 35, 30),
    ("卢", 35, 30),
    ("姚", 35, 80),
    ("沈", 35, 330),
    ("钟", 30, 30),
    ("姜", 30, 40),
    ("崔", 30, 20),
    ("谭", 30, 20),
    ("陆", 30, 320),
    ("范", 30, 60),
    ("汪", 30, 50),
    ("廖", 25, 10),
    ("石", 25, 30),
    ("金", 25, 90),
    ("贾", 25, 20),
    ("韦", 25, 10),
    ("夏", 25, 50),
    ("付", 25, 20),
    ("方", 25, 50),
    ("邹", 22, 30),
    ("熊", 22, 20),
    ("白", 22, 20),
    ("孟", 20, 20),
    ("秦", 20, 30),
    ("邱", 20, 30),
    ("侯", 20, 20),
    ("江", 20, 30),
    ("尹", 18, 20),
    ("薛", 18, 30),
    ("闫", 18, 10),
    ("段", 18, 10),
    ("雷", 18, 10),
    ("龙", 15, 10),
    ("黎", 15, 10),
    ("史", 15, 30),
    ("陶", 15, 50),
    ("贺", 15, 20),
    ("毛", 15, 40),
    ("郝", 15, 10),
    ("顾", 12, 300),
    ("龚", 12, 70),
    ("邵", 12, 50),
    ("万", 12, 20),
    ("覃", 12, 5),
    ("武", 12, 10),
    ("钱", 12, 110),
    ("戴", 12, 50),
    ("严", 12, 60),
    ("莫", 10, 20),
    ("孔", 10, 20),
    ("向", 10, 10),
    ("常", 10, 10),
    ("汤", 10, 60),
    ("康", 10, 10),
    ("易", 10, 10),
    ("乔", 10, 20),
    ("赖", 10, 5),
    ("文", 10, 10),
    ("施", 10, 90),
    ("洪", 10, 20),
    ("辛", 8, 5),
    ("柯", 8, 5),
    ("庄", 8, 40),
];

/// Given-name characters for women born before 1960.
pub const GIVEN_F_OLD: &[&str] = &[
    "秀", "英", "兰", "珍", "芳", "凤", "玉", "桂", "淑", "华", "梅", "琴", "娟", "萍", "菊", "美",
    "莲", "妹", "宝", "娣", "金", "翠", "云", "月",
];
/// Given-name characters for men born before 1960.
pub const GIVEN_M_OLD: &[&str] = &[
    "建", "国", "华", "明", "德", "文", "军", "伟", "根", "林", "荣", "福", "宝", "生", "金", "海",
    "忠", "民", "强", "庆", "祥", "富", "昌", "云", "新", "兴",
];
/// Given-name characters for women born 1960–1989.
pub const GIVEN_F_MID: &[&str] = &[
    "丽", "静", "敏", "燕", "艳", "红", "霞", "玲", "娟", "萍", "洁", "婷", "雪", "琳", "颖", "慧",
    "倩", "莉", "芳", "蓉", "晓", "佳", "雯", "华", "英", "君",
];
/// Given-name characters for men born 1960–1989.
pub const GIVEN_M_MID: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞",
    "峰", "俊", "晓", "东", "海", "亮", "健", "波", "卫", "红",
];
/// Given-name characters for women born 1990 or later.
pub const GIVEN_F_YOUNG: &[&str] = &[
    "欣", "怡", "思", "涵", "雨", "佳", "诺", "梓", "可", "馨", "萱", "琪", "悦", "彤", "晨", "一",
    "子", "妍", "雅", "语", "嘉", "心",
];
/// Given-name characters for men born 1990 or later.
pub const GIVEN_M_YOUNG: &[&str] = &[
    "浩", "宇", "子", "轩", "梓", "睿", "晨", "一", "诺", "博", "泽", "辰", "俊", "宸", "逸", "航",
    "铭", "杰", "哲", "嘉", "佳", "思",
];

/// Pudong streets and towns with their real 9-digit division codes.
pub const STREETS: &[(&str, &str)] = &[
    ("潍坊新村街道", "310115004"),
    ("陆家嘴街道", "310115005"),
    ("塘桥街道", "310115008"),
    ("洋泾街道", "310115013"),
    ("花木街道", "310115016"),
    ("周家渡街道", "310115007"),
    ("上钢新村街道", "310115009"),
    ("南码头路街道", "310115010"),
    ("沪东新村街道", "310115011"),
    ("金杨新村街道", "310115012"),
    ("浦兴路街道", "310115014"),
    ("东明路街道", "310115015"),
    ("高行镇", "310115121"),
    ("高桥镇", "310115104"),
    ("北蔡镇", "310115105"),
    ("川沙新镇", "310115103"),
    ("合庆镇", "310115110"),
    ("唐镇", "310115114"),
    ("曹路镇", "310115117"),
    ("金桥镇", "310115120"),
    ("高东镇", "310115123"),
    ("张江镇", "310115125"),
    ("三林镇", "310115130"),
    ("惠南镇", "310115131"),
    ("周浦镇", "310115132"),
    ("新场镇", "310115133"),
    ("大团镇", "310115134"),
    ("康桥镇", "310115136"),
    ("航头镇", "310115137"),
    ("祝桥镇", "310115139"),
    ("泥城镇", "310115140"),
    ("宣桥镇", "310115141"),
    ("书院镇", "310115142"),
    ("万祥镇", "310115143"),
    ("老港镇", "310115144"),
    ("南汇新城镇", "310115145"),
];

/// Road names (without the trailing 路) found around Pudong's older
/// neighbourhoods.
pub const ROADS: &[&str] = &[
    "潍坊",
    "崂山",
    "南泉",
    "浦东南",
    "东方",
    "源深",
    "张杨",
    "福山",
    "峨山",
    "松林",
    "乳山",
    "桃林",
    "浦电",
    "沈家弄",
    "文登",
    "南码头",
    "临沂",
    "昌里",
    "上南",
    "德州",
    "杨高南",
    "浦建",
    "东明",
    "三林",
    "金杨",
    "博山",
    "栖霞",
    "即墨",
    "灵山",
    "罗山",
    "崮山",
    "羽山",
    "歧山",
    "五莲",
    "莱阳",
    "枣庄",
    "云台",
    "浦三",
    "南浦大",
    "塘桥新",
    "蓝村",
    "兰村",
    "苗圃",
    "商城",
    "民生",
    "荣成",
    "长岛",
    "巨野",
    "金桥",
    "利津",
    "长清",
    "齐河",
    "浦兴",
    "胶东",
    "凌河",
    "黄山",
    "德平",
    "浦城",
    "竹林",
    "峨眉",
    "泾东",
    "钱仓",
    "雪野",
    "高青",
];

/// Estate stems for older walk-up compounds (新村); combined with
/// [`ESTATE_SUFFIX_OLD`] into names like 梅园一村, 潍坊四村, 竹园新村.
pub const ESTATE_STEMS: &[&str] = &[
    "梅园",
    "竹园",
    "潍坊",
    "松山",
    "崂山",
    "福山",
    "南泉",
    "桃林",
    "峨山",
    "乳山",
    "锦华",
    "东昌",
    "源深",
    "张杨",
    "歧山",
    "浦三",
    "上南",
    "昌里",
    "林山",
    "德州",
    "临沂",
    "由由",
    "东明",
    "金杨",
    "沪东",
    "栖山",
    "羽山",
    "泾东",
    "东园",
    "塘桥",
    "蓝村",
    "杨家宅",
    "南码头",
    "崮山",
    "菊园",
    "兰园",
    "桂园",
    "梅花",
    "博山",
    "灵山",
    "云台",
    "莱阳",
    "民生",
    "荣成",
    "三林",
    "钱家弄",
    "金桥",
    "浦兴",
    "胶东",
    "长岛",
    "五莲",
    "雪野",
    "齐河",
    "洪山",
    "浦电",
    "陆家嘴",
    "芳华",
    "海防",
    "凌兆",
    "明华",
];

/// Suffixes for walk-up estates.
pub const ESTATE_SUFFIX_OLD: &[&str] = &[
    "一村", "二村", "三村", "四村", "五村", "六村", "七村", "八村", "新村", "小区",
];

/// Suffixes for newer estates with towers.
pub const ESTATE_SUFFIX_NEW: &[&str] = &["小区", "苑", "公寓", "花园", "名苑"];

/// Community name stems (used as `<stem>社区`, `<stem>第N网格`).
pub const COMMUNITY_STEMS: &[&str] = &[
    "梅园",
    "竹园",
    "潍坊",
    "松山",
    "崂山",
    "福山",
    "南泉",
    "桃林",
    "峨山",
    "乳山",
    "锦华",
    "源深",
    "张杨",
    "歧山",
    "浦三",
    "上南",
    "昌里",
    "林山",
    "德州",
    "临沂",
    "东明",
    "金杨",
    "沪东",
    "栖山",
    "羽山",
    "泾东",
    "东园",
    "塘桥",
    "蓝村",
    "南码头",
    "菊园",
    "兰园",
    "桂园",
    "博山",
    "灵山",
    "云台",
    "莱阳",
    "民生",
    "荣成",
    "三林",
    "金桥",
    "浦兴",
    "胶东",
    "长岛",
    "洪山",
    "浦电",
    "芳华",
    "凌兆",
];

/// Street-level government departments and public service units; the
/// generator prefixes them with the street's short name.
pub const DEPARTMENTS: &[&str] = &[
    "城管执法中队",
    "房管办事处",
    "派出所",
    "市场监管所",
    "绿化市容所",
    "消防救援站",
    "社区卫生服务中心",
];

/// First part of property-management company names, used as
/// `上海<A><B>物业管理有限公司`.
pub const PROPERTY_A: &[&str] = &[
    "陆家嘴",
    "东方",
    "明华",
    "金杨",
    "华诚",
    "东湖",
    "浦江",
    "永升",
    "古北",
    "科瑞",
    "锦江",
    "高桥",
    "新上房",
    "百联",
    "中建",
    "浦发",
    "长城",
    "盛大",
    "万邦",
    "东昌",
];

/// Optional second part of property-management company names.
pub const PROPERTY_B: &[&str] = &["", "城市", "置业", "房产", "安居", "悦居", "联合", "物联"];

/// Social organisation name patterns; the generator prefixes the street's
/// short name.
pub const SOCIAL_ORGS: &[&str] = &[
    "社区志愿者协会",
    "乐龄睦邻中心",
    "社区公益服务社",
    "邻里互助社",
    "社区老年协会",
];

/// Shanghai district codes other than Pudong (310115) with weights, for
/// people whose ID was issued elsewhere in the city. 310225 (former Nanhui)
/// and 310230 (former Chongming county) appear on older IDs.
pub const SHANGHAI_REGIONS: &[(&str, u32)] = &[
    ("310101", 10),
    ("310104", 8),
    ("310105", 5),
    ("310106", 8),
    ("310107", 6),
    ("310109", 7),
    ("310110", 8),
    ("310112", 5),
    ("310113", 4),
    ("310114", 2),
    ("310116", 2),
    ("310117", 2),
    ("310118", 2),
    ("310120", 2),
    ("310225", 9),
    ("310230", 4),
];

/// Region codes (county level) of other provinces, weighted roughly by their
/// share of Shanghai's migrant population (Anhui, Jiangsu, Henan, Sichuan,
/// Zhejiang, Jiangxi, Hubei, Shandong, …).
pub const OTHER_REGIONS: &[(&str, u32)] = &[
    ("340102", 4),
    ("340822", 5),
    ("341221", 6),
    ("341222", 4),
    ("342423", 4),
    ("340323", 3),
    ("320102", 3),
    ("320583", 2),
    ("320382", 3),
    ("321323", 4),
    ("320923", 3),
    ("410102", 2),
    ("411522", 5),
    ("411623", 4),
    ("412825", 3),
    ("510104", 2),
    ("511323", 4),
    ("513030", 2),
    ("511028", 2),
    ("330102", 2),
    ("330302", 3),
    ("330681", 2),
    ("360121", 3),
    ("362330", 3),
    ("420102", 2),
    ("421023", 3),
    ("422201", 2),
    ("370102", 2),
    ("371326", 2),
    ("430102", 1),
    ("431023", 2),
    ("350102", 1),
    ("350583", 1),
    ("230102", 1),
    ("500101", 2),
    ("500235", 2),
    ("452122", 1),
    ("522121", 1),
    ("610102", 1),
    ("140105", 1),
    ("130102", 1),
];

/// Mobile number prefixes (first three digits) with weights.
pub const MOBILE_PREFIXES: &[(&str, u32)] = &[
    ("130", 4),
    ("131", 4),
    ("132", 3),
    ("133", 4),
    ("134", 3),
    ("135", 7),
    ("136", 7),
    ("137", 6),
    ("138", 8),
    ("139", 8),
    ("150", 5),
    ("151", 4),
    ("152", 4),
    ("153", 3),
    ("155", 3),
    ("156", 3),
    ("157", 2),
    ("158", 4),
    ("159", 4),
    ("166", 2),
    ("170", 1),
    ("173", 1),
    ("176", 1),
    ("177", 1),
    ("178", 1),
    ("180", 3),
    ("181", 3),
    ("182", 3),
    ("183", 3),
    ("184", 1),
    ("185", 3),
    ("186", 4),
    ("187", 3),
    ("188", 3),
    ("189", 4),
    ("198", 2),
    ("199", 2),
];

/// Short form of a street name for composing organisation names:
/// "潍坊新村街道" → "潍坊新村", "高行镇" → "高行".
pub fn street_short(name: &str) -> &str {
    name.strip_suffix("街道")
        .or_else(|| name.strip_suffix("镇"))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn tables_are_sane() {
        let s: HashSet<_> = SURNAMES.iter().map(|t| t.0).collect();
        assert_eq!(s.len(), SURNAMES.len(), "duplicate surname");
        assert!(SURNAMES.len() >= 100);
        let codes: HashSet<_> = STREETS.iter().map(|t| t.1).collect();
        assert_eq!(codes.len(), STREETS.len());
        assert!(STREETS.len() >= 30);
        for (_, c) in STREETS {
            assert!(c.len() == 9 && c.starts_with("310115"));
        }
        for (r, _) in SHANGHAI_REGIONS.iter().chain(OTHER_REGIONS) {
            assert!(r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()), "{r}");
        }
        for (p, _) in MOBILE_PREFIXES {
            assert!(p.len() == 3 && p.starts_with('1'));
        }
        let roads: HashSet<_> = ROADS.iter().collect();
        assert_eq!(roads.len(), ROADS.len(), "duplicate road");
        let c: HashSet<_> = COMMUNITY_STEMS.iter().collect();
        assert_eq!(c.len(), COMMUNITY_STEMS.len(), "duplicate community stem");
        assert!(COMMUNITY_STEMS.len() >= 12);
        let e: HashSet<_> = ESTATE_STEMS.iter().collect();
        assert_eq!(e.len(), ESTATE_STEMS.len(), "duplicate estate stem");
        assert!(PROPERTY_A.len() * PROPERTY_B.len() >= 30 * 4);
        assert_eq!(street_short("潍坊新村街道"), "潍坊新村");
        assert_eq!(street_short("高行镇"), "高行");
    }
}
