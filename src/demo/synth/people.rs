//! The generator's state and the people it draws: names, ages, birth dates, ID numbers, phones.

use super::*;

#[derive(Clone, Copy)]
pub(super) struct Member {
    pub(super) rel: &'static str,
    pub(super) age: u32,
    pub(super) sex: Sex,
    /// Index into names::SURNAMES.
    pub(super) surname: usize,
}

pub(super) struct Gen {
    pub(super) rng: StdRng,
    pub(super) today: NaiveDate,
    pub(super) street_no: usize,
    pub(super) streets_total: usize,
    pub(super) ids: HashSet<u64>,
    pub(super) phones: HashSet<u64>,
    pub(super) surname_sh: WeightedIndex<u32>,
    pub(super) surname_cn: WeightedIndex<u32>,
    pub(super) region_sh: WeightedIndex<u32>,
    pub(super) region_other: WeightedIndex<u32>,
    pub(super) mobile: WeightedIndex<u32>,
    pub(super) places: Vec<PlaceSeed>,
    pub(super) households: Vec<HouseholdSeed>,
    pub(super) persons: Vec<PersonSeed>,
}

pub(super) fn weights<T>(t: &[(T, u32)]) -> WeightedIndex<u32> {
    WeightedIndex::new(t.iter().map(|x| x.1)).expect("non-empty weights")
}

pub(super) fn add_years(d: NaiveDate, years: i32) -> NaiveDate {
    let y = d.year() + years;
    d.with_year(y)
        .or_else(|| NaiveDate::from_ymd_opt(y, d.month(), 28))
        .expect("valid date")
}

impl Gen {
    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.gen_range(0..items.len())]
    }

    /// Index by weights.
    pub(super) fn weighted(&mut self, w: &[u32]) -> usize {
        let total: u32 = w.iter().sum();
        let mut x = self.rng.gen_range(0..total);
        for (i, &wi) in w.iter().enumerate() {
            if x < wi {
                return i;
            }
            x -= wi;
        }
        w.len() - 1
    }

    pub(super) fn max_age(&self) -> u32 {
        (self.today.year() - 1901).clamp(0, 100) as u32
    }

    /// Age skewed towards the lower end (older ages are rarer).
    pub(super) fn old_age(&mut self, lo: u32, hi: u32) -> u32 {
        let a: f64 = self.rng.r#gen();
        let b: f64 = self.rng.r#gen();
        let span = (hi - lo + 1) as f64;
        (lo + (a.min(b) * span) as u32).min(hi)
    }

    pub(super) fn birth_for_age(&mut self, age: u32) -> NaiveDate {
        let anchor = add_years(self.today, -(age as i32));
        // birth in (today - (age+1) years, today - age years]
        let back = self.rng.gen_range(0..365);
        let b = anchor - Duration::days(back);
        if add_years(b, age as i32 + 1) <= self.today {
            b + Duration::days(1)
        } else {
            b
        }
    }

    pub(super) fn surname(&mut self, shanghai: bool) -> usize {
        if shanghai {
            self.surname_sh.sample(&mut self.rng)
        } else {
            self.surname_cn.sample(&mut self.rng)
        }
    }

    pub(super) fn given_name(&mut self, sex: Sex, birth_year: i32) -> String {
        let table = match (sex, birth_year) {
            (Sex::Female, y) if y < 1960 => names::GIVEN_F_OLD,
            (Sex::Male, y) if y < 1960 => names::GIVEN_M_OLD,
            (Sex::Female, y) if y < 1990 => names::GIVEN_F_MID,
            (Sex::Male, y) if y < 1990 => names::GIVEN_M_MID,
            (Sex::Female, _) => names::GIVEN_F_YOUNG,
            (Sex::Male, _) => names::GIVEN_M_YOUNG,
        };
        let a = self.rng.gen_range(0..table.len());
        if self.chance(0.2) {
            return table[a].to_string();
        }
        let mut b = self.rng.gen_range(0..table.len() - 1);
        if b >= a {
            b += 1;
        }
        format!("{}{}", table[a], table[b])
    }

    pub(super) fn region(
        &mut self,
        registered: bool,
        shanghai_bias: f64,
        birth_year: i32,
    ) -> &'static str {
        if registered {
            if birth_year >= 2002 || self.chance(0.8) {
                "310115"
            } else {
                names::SHANGHAI_REGIONS[self.region_sh.sample(&mut self.rng)].0
            }
        } else if self.chance(shanghai_bias) {
            names::SHANGHAI_REGIONS[self.region_sh.sample(&mut self.rng)].0
        } else {
            names::OTHER_REGIONS[self.region_other.sample(&mut self.rng)].0
        }
    }

    /// A unique ID: the sequence number space is partitioned between the
    /// streets of a district (slot ≡ street_no mod streets), and its parity
    /// encodes the sex. On the (practically impossible) exhaustion of a
    /// birth date's slots the birth date moves one day earlier.
    pub(super) fn id_number(
        &mut self,
        region: &str,
        mut birth: NaiveDate,
        sex: Sex,
    ) -> (IdNumber, NaiveDate) {
        let per_street = 500 / self.streets_total;
        let male = u16::from(sex == Sex::Male);
        let key = |id: &IdNumber| -> u64 { id.as_str()[..17].parse().expect("digits") };
        loop {
            let start = self.rng.gen_range(0..per_street);
            for k in 0..per_street {
                let j = (start + k) % per_street;
                let slot = j * self.streets_total + self.street_no;
                let id = IdNumber::build(region, birth, 2 * slot as u16 + male);
                if self.ids.insert(key(&id)) {
                    return (id, birth);
                }
            }
            birth -= Duration::days(1);
        }
    }

    pub(super) fn phone(&mut self, age: u32) -> Option<String> {
        let p = match age {
            0..=9 => 0.0,
            10..=15 => 0.3,
            16..=17 => 0.75,
            18..=69 => 0.97,
            70..=79 => 0.8,
            _ => 0.45,
        };
        if !self.chance(p) {
            return None;
        }
        loop {
            let prefix = names::MOBILE_PREFIXES[self.mobile.sample(&mut self.rng)].0;
            // the last eight digits are ≡ street_no (mod streets), so numbers
            // are unique across the streets of a district as well
            let n = self.streets_total as u32;
            let rest: u32 = self.rng.gen_range(0..100_000_000 / n) * n + self.street_no as u32;
            let s = format!("{prefix}{rest:08}");
            if self.phones.insert(s.parse().expect("digits")) {
                return Some(s);
            }
        }
    }
}
