//! The votes' types and the count of Civil Code art. 278, in exact integer arithmetic.
//!
//! **The count.** Every matter needs the owners taking part to hold at least two thirds of the
//! exclusive area *and* to be at least two thirds of the owners (参与表决 "三分之二以上"):
//! `area_part × 3 ≥ area_total × 2` and `heads_part × 3 ≥ heads_total × 2`. Items 6–8 then need
//! at least three quarters of the participating area and owners to approve ("四分之三以上":
//! `area_for × 4 ≥ area_part × 3` and `heads_for × 4 ≥ heads_part × 3`); the other items need
//! more than half of each ("过半数": `area_for × 2 > area_part` and `heads_for × 2 > heads_part`).
//! "以上" includes the threshold and "过半数" does not (Civil Code art. 1259). Abstentions take
//! part and do not approve. Areas are whole square centimetres, products are `i128`: no
//! floating point anywhere. An empty electorate, or a vote nobody took part in, never passes;
//! a figure over an empty whole (units with no area on record) is met, so the heads decide.

use serde::Serialize;

/// The nine items of Civil Code art. 278, by stable code `item1` … `item9`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VoteMatter)]
pub enum Matter {
    /// 制定和修改业主大会议事规则
    Item1,
    /// 制定和修改管理规约
    Item2,
    /// 选举业主委员会或者更换业主委员会成员
    Item3,
    /// 选聘和解聘物业服务企业或者其他管理人
    Item4,
    /// 使用建筑物及其附属设施的维修资金
    Item5,
    /// 筹集建筑物及其附属设施的维修资金
    Item6,
    /// 改建、重建建筑物及其附属设施
    Item7,
    /// 改变共有部分的用途或者利用共有部分从事经营活动
    Item8,
    /// 有关共有和共同管理权利的其他重大事项
    Item9,
}

impl Matter {
    pub const ALL: [Matter; 9] = [
        Matter::Item1,
        Matter::Item2,
        Matter::Item3,
        Matter::Item4,
        Matter::Item5,
        Matter::Item6,
        Matter::Item7,
        Matter::Item8,
        Matter::Item9,
    ];

    /// Its item number in art. 278 (1–9).
    pub fn number(self) -> u8 {
        Matter::ALL
            .iter()
            .position(|m| *m == self)
            .map(|i| i as u8 + 1)
            .unwrap_or(9)
    }

    pub fn code(self) -> &'static str {
        [
            "item1", "item2", "item3", "item4", "item5", "item6", "item7", "item8", "item9",
        ][self.number() as usize - 1]
    }

    pub fn parse(s: &str) -> Option<Matter> {
        Matter::ALL.into_iter().find(|m| m.code() == s)
    }

    /// Items 6–8 need three quarters of those taking part; the others more than half.
    pub fn needs_three_quarters(self) -> bool {
        matches!(self, Matter::Item6 | Matter::Item7 | Matter::Item8)
    }

    /// The catalogue key of its name.
    pub fn label_key(self) -> String {
        format!("votes.matter.{}", self.code())
    }
}

/// What a vote is held in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VoteScopeKind)]
pub enum ScopeKind {
    /// One stairwell (单元) of a building.
    Stairwell,
    Building,
    /// The buildings of the street that share an estate's name (小区).
    Estate,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Stairwell => "stairwell",
            ScopeKind::Building => "building",
            ScopeKind::Estate => "estate",
        }
    }
    pub fn parse(s: &str) -> Option<ScopeKind> {
        [ScopeKind::Stairwell, ScopeKind::Building, ScopeKind::Estate]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A ballot's choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VoteChoice)]
pub enum Choice {
    For,
    Against,
    Abstain,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Choice::For, Choice::Against, Choice::Abstain];
    pub fn as_str(self) -> &'static str {
        match self {
            Choice::For => "for",
            Choice::Against => "against",
            Choice::Abstain => "abstain",
        }
    }
    pub fn parse(s: &str) -> Option<Choice> {
        Choice::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How a ballot came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VoteChannel)]
pub enum Channel {
    /// Cast by a verified owner signed in.
    Online,
    /// A paper ballot entered by a worker, with its scan.
    Paper,
    /// Cast by a proxy (委托), entered by a worker with the proxy's evidence.
    Proxy,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Paper => "paper",
            Channel::Proxy => "proxy",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::Online, Channel::Paper, Channel::Proxy]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// The frozen electorate's totals: exclusive area in square centimetres and owners by head.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = VoteTotals)]
pub struct Totals {
    pub area_cm2: i64,
    pub heads: i64,
}

/// The ballots counted, by choice (area in square centimetres, owners by head).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = VoteTally)]
pub struct Tally {
    pub for_area: i64,
    pub for_heads: i64,
    pub against_area: i64,
    pub against_heads: i64,
    pub abstain_area: i64,
    pub abstain_heads: i64,
}

impl Tally {
    /// Adds one elector's ballot.
    pub fn add(&mut self, choice: Choice, area_cm2: i64) {
        match choice {
            Choice::For => {
                self.for_area += area_cm2;
                self.for_heads += 1;
            }
            Choice::Against => {
                self.against_area += area_cm2;
                self.against_heads += 1;
            }
            Choice::Abstain => {
                self.abstain_area += area_cm2;
                self.abstain_heads += 1;
            }
        }
    }
    /// The area that took part (abstentions included).
    pub fn area_part(&self) -> i64 {
        self.for_area + self.against_area + self.abstain_area
    }
    pub fn heads_part(&self) -> i64 {
        self.for_heads + self.against_heads + self.abstain_heads
    }
}

/// A fraction a figure is held against: `num/den`, reached with `inclusive` ("以上") or only
/// when exceeded ("过半数").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = VoteThreshold)]
pub struct Threshold {
    pub num: i64,
    pub den: i64,
    pub inclusive: bool,
}

impl Threshold {
    const TWO_THIRDS: Threshold = Threshold {
        num: 2,
        den: 3,
        inclusive: true,
    };
    const THREE_QUARTERS: Threshold = Threshold {
        num: 3,
        den: 4,
        inclusive: true,
    };
    const HALF: Threshold = Threshold {
        num: 1,
        den: 2,
        inclusive: false,
    };

    /// Whether `part` of `whole` reaches the threshold, in integers: `part × den ≥ whole × num`
    /// (or `>`); met when `whole` is 0.
    pub fn met(self, part: i64, whole: i64) -> bool {
        // A share of nothing (no area on record) is not held against the vote: the other
        // figure decides; an empty electorate or no one taking part never passes (`count`).
        if whole == 0 {
            return true;
        }
        let l = i128::from(part) * i128::from(self.den);
        let r = i128::from(whole) * i128::from(self.num);
        if self.inclusive { l >= r } else { l > r }
    }

    /// The catalogue key of its words ("三分之二以上", "过半数").
    pub fn label_key(self) -> &'static str {
        match (self.num, self.den, self.inclusive) {
            (2, 3, true) => "votes.threshold.two_thirds",
            (3, 4, true) => "votes.threshold.three_quarters",
            _ => "votes.threshold.half",
        }
    }
}

/// One of the four figures: `part` of `whole` against its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = VoteFigure)]
pub struct Figure {
    pub part: i64,
    pub whole: i64,
    pub threshold: Threshold,
    pub met: bool,
}

impl Figure {
    fn new(part: i64, whole: i64, threshold: Threshold) -> Figure {
        Figure {
            part,
            whole,
            threshold,
            met: threshold.met(part, whole),
        }
    }
    /// The share in per mille, rounded down, for showing only (never for deciding).
    pub fn permille(&self) -> i64 {
        if self.whole <= 0 {
            return 0;
        }
        (i128::from(self.part) * 1000 / i128::from(self.whole)) as i64
    }
    /// "66.6%" as shown: the share rounded down to a tenth of a percent.
    pub fn percent(&self) -> String {
        let p = self.permille();
        format!("{}.{}%", p / 10, p % 10)
    }
}

/// The outcome of the count: the four figures against their thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = VoteOutcome)]
pub struct Outcome {
    /// Area of those taking part, of the electorate's area (≥ 2/3).
    pub area_participation: Figure,
    /// Owners taking part, of all owners (≥ 2/3).
    pub heads_participation: Figure,
    /// Area approving, of the area taking part (≥ 3/4 for items 6–8, > 1/2 otherwise).
    pub area_approval: Figure,
    /// Owners approving, of those taking part.
    pub heads_approval: Figure,
    /// Both participation figures met.
    pub quorum: bool,
    /// Quorum and both approval figures met.
    pub approved: bool,
}

/// The count of art. 278 for a matter: pure, exact, integer.
pub fn count(matter: Matter, totals: &Totals, tally: &Tally) -> Outcome {
    let (area_part, heads_part) = (tally.area_part(), tally.heads_part());
    let approval = if matter.needs_three_quarters() {
        Threshold::THREE_QUARTERS
    } else {
        Threshold::HALF
    };
    let area_participation = Figure::new(area_part, totals.area_cm2, Threshold::TWO_THIRDS);
    let heads_participation = Figure::new(heads_part, totals.heads, Threshold::TWO_THIRDS);
    let area_approval = Figure::new(tally.for_area, area_part, approval);
    let heads_approval = Figure::new(tally.for_heads, heads_part, approval);
    let quorum = heads_part > 0 && area_participation.met && heads_participation.met;
    Outcome {
        area_participation,
        heads_participation,
        area_approval,
        heads_approval,
        quorum,
        approved: quorum && area_approval.met && heads_approval.met,
    }
}

/// Square centimetres of a floor area in square metres: `round(m² × 10,000)`.
pub fn cm2(area_m2: Option<f64>) -> i64 {
    match area_m2 {
        Some(a) if a.is_finite() && a > 0.0 => (a * 10_000.0).round() as i64,
        _ => 0,
    }
}

/// Square metres as shown, from square centimetres: `123.4567`, exact.
pub fn m2(cm2: i64) -> String {
    let s = if cm2 < 0 { "-" } else { "" };
    let a = cm2.unsigned_abs();
    let frac = a % 10_000;
    if frac == 0 {
        format!("{s}{}", a / 10_000)
    } else {
        let f = format!("{frac:04}");
        format!("{s}{}.{}", a / 10_000, f.trim_end_matches('0'))
    }
}

/// `张三丰` → `张**`: a name as shown by default.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_items_six_to_eight_need_three_quarters() {
        for m in Matter::ALL {
            assert_eq!(Matter::parse(m.code()), Some(m));
        }
        let three: Vec<u8> = Matter::ALL
            .iter()
            .filter(|m| m.needs_three_quarters())
            .map(|m| m.number())
            .collect();
        assert_eq!(three, vec![6, 7, 8]);
    }

    #[test]
    fn areas_in_square_centimetres() {
        assert_eq!(cm2(Some(89.5)), 895_000);
        assert_eq!(cm2(Some(0.00005)), 1);
        assert_eq!(cm2(None), 0);
        assert_eq!(m2(895_000), "89.5");
        assert_eq!(m2(10_001), "1.0001");
        assert_eq!(mask_name("张三丰"), "张**");
    }
}
