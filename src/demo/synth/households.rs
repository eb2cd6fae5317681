//! Households: who lives together, owners and renters, and the members they draw.

use super::*;

impl Gen {
    pub(super) fn member(
        &mut self,
        rel: &'static str,
        age: u32,
        sex: Sex,
        shanghai: bool,
    ) -> Member {
        Member {
            rel,
            age: age.min(self.max_age()),
            sex,
            surname: self.surname(shanghai),
        }
    }

    pub(super) fn spouse_of(&mut self, m: &Member, shanghai: bool) -> Member {
        // husband typically 0–4 years older than the wife
        let diff: i32 = self.rng.gen_range(-2..=5);
        let age = match m.sex {
            Sex::Male => m.age as i32 - diff,
            Sex::Female => m.age as i32 + diff,
        };
        let age = age.clamp(18, self.max_age() as i32) as u32;
        let sex = match m.sex {
            Sex::Male => Sex::Female,
            Sex::Female => Sex::Male,
        };
        self.member("spouse", age, sex, shanghai)
    }

    /// A child of `parents` (head first, maybe spouse) aged within
    /// `lo..=hi`; 21–38 years younger than each parent. Takes the father's
    /// surname nine times out of ten.
    pub(super) fn child_of(
        &mut self,
        rel: &'static str,
        parents: &[Member],
        lo: u32,
        hi: u32,
        shanghai: bool,
    ) -> Option<Member> {
        let mut a = lo as i32;
        let mut b = hi as i32;
        for p in parents {
            a = a.max(p.age as i32 - 38);
            b = b.min(p.age as i32 - 21);
        }
        if a > b || b < 0 {
            return None;
        }
        let age = self.rng.gen_range(a.max(0)..=b) as u32;
        let sex = if self.chance(0.51) {
            Sex::Male
        } else {
            Sex::Female
        };
        let father = parents.iter().find(|p| p.sex == Sex::Male);
        let mother = parents.iter().find(|p| p.sex == Sex::Female);
        let surname = match (father, mother) {
            (Some(f), Some(m)) => {
                if self.chance(0.9) {
                    f.surname
                } else {
                    m.surname
                }
            }
            (Some(p), None) | (None, Some(p)) => p.surname,
            (None, None) => self.surname(shanghai),
        };
        Some(Member {
            rel,
            age,
            sex,
            surname,
        })
    }

    /// A parent of `m`, 22–36 years older, at most the maximum age.
    pub(super) fn parent_of(&mut self, m: &Member, sex: Sex, shanghai: bool) -> Option<Member> {
        let lo = m.age + 22;
        let hi = (m.age + 36).min(self.max_age());
        if lo > hi {
            return None;
        }
        let age = self.old_age(lo, hi);
        let mut p = self.member("parent", age, sex, shanghai);
        if sex == Sex::Male && m.sex == Sex::Male && self.chance(0.9) {
            p.surname = m.surname;
        }
        Some(p)
    }

    pub(super) fn head(&mut self, age: u32, male_p: f64, shanghai: bool) -> Member {
        let sex = if self.chance(male_p) {
            Sex::Male
        } else {
            Sex::Female
        };
        self.member("head", age, sex, shanghai)
    }

    /// Members of an owner-occupied household (head first).
    pub(super) fn owner_household(&mut self) -> Vec<Member> {
        let sh = true;
        let size = 1 + self.weighted(&[27, 33, 25, 10, 5]);
        let mut ms: Vec<Member> = Vec::with_capacity(size);
        match size {
            1 => {
                let r = self.weighted(&[22, 15, 63]);
                let (age, male_p) = match r {
                    0 => (self.old_age(65, 95), 0.35),
                    1 => (self.rng.gen_range(60..=64), 0.5),
                    _ => (self.rng.gen_range(22..=59), 0.55),
                };
                ms.push(self.head(age, male_p, sh));
            }
            2 => match self.weighted(&[60, 18, 9, 9, 4]) {
                r @ 0..=2 => {
                    // elderly, empty-nest and young couples
                    let age = match r {
                        0 => self.old_age(60, 92),
                        1 => self.rng.gen_range(45..=59),
                        _ => self.rng.gen_range(24..=44),
                    };
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                }
                3 => {
                    let age = self.old_age(50, 90);
                    let h = self.head(age, 0.4, sh);
                    ms.push(h);
                    if let Some(c) = self.child_of("child", &[h], 18, 60, sh) {
                        ms.push(c);
                    }
                }
                _ => {
                    let age = self.rng.gen_range(30..=50);
                    let h = self.head(age, 0.25, sh);
                    ms.push(h);
                    if let Some(c) = self.child_of("child", &[h], 0, 17, sh) {
                        ms.push(c);
                    }
                }
            },
            3 => match self.weighted(&[43, 16, 13, 28]) {
                0 => {
                    let age = self.rng.gen_range(28..=60);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 0, 32, sh) {
                        ms.push(c);
                    }
                }
                1 => {
                    let age = self.rng.gen_range(30..=58);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    let psex = if self.chance(0.65) {
                        Sex::Female
                    } else {
                        Sex::Male
                    };
                    if let Some(p) = self.parent_of(&h, psex, sh) {
                        ms.push(p);
                    }
                }
                2 => {
                    // grandparents raising a grandchild (隔代抚养)
                    let age = self.rng.gen_range(56..=75);
                    let h = self.head(age, 0.6, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    let lo = age.saturating_sub(75);
                    let hi = (age - 45).min(17);
                    if lo <= hi {
                        let gage = self.rng.gen_range(lo..=hi);
                        let gsex = if self.chance(0.51) {
                            Sex::Male
                        } else {
                            Sex::Female
                        };
                        let mut g = self.member("grandchild", gage, gsex, sh);
                        if self.chance(0.6) {
                            g.surname = if h.sex == Sex::Male {
                                h.surname
                            } else {
                                s.surname
                            };
                        }
                        ms.push(g);
                    }
                }
                _ => {
                    let age = self.old_age(58, 88);
                    let h = self.head(age, 0.65, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 18, 60, sh) {
                        ms.push(c);
                    }
                }
            },
            4 => match self.weighted(&[25, 35, 40]) {
                0 => {
                    let age = self.rng.gen_range(30..=52);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    for _ in 0..2 {
                        if let Some(c) = self.child_of("child", &[h, s], 0, 22, sh) {
                            ms.push(c);
                        }
                    }
                }
                1 => {
                    let age = self.rng.gen_range(32..=55);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 0, 20, sh) {
                        ms.push(c);
                    }
                    let psex = if self.chance(0.6) {
                        Sex::Female
                    } else {
                        Sex::Male
                    };
                    if let Some(p) = self.parent_of(&h, psex, sh) {
                        ms.push(p);
                    }
                }
                _ => {
                    let age = self.old_age(55, 85);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 22, 60, sh) {
                        ms.push(c);
                        let mut cs = self.spouse_of(&c, sh);
                        cs.rel = "other";
                        ms.push(cs);
                    }
                }
            },
            _ => {
                if self.chance(0.7) {
                    // three generations: grandparents, child + spouse, grandchild
                    let age = self.rng.gen_range(52..=80);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 22, 50, sh) {
                        let mut cs = self.spouse_of(&c, sh);
                        cs.rel = "other";
                        ms.extend([c, cs]);
                        if let Some(g) = self.child_of("grandchild", &[c, cs], 0, 17, sh) {
                            ms.push(g);
                        }
                    }
                } else {
                    let age = self.rng.gen_range(32..=50);
                    let h = self.head(age, 0.7, sh);
                    let s = self.spouse_of(&h, sh);
                    ms.extend([h, s]);
                    if let Some(c) = self.child_of("child", &[h, s], 0, 25, sh) {
                        ms.push(c);
                    }
                    if let Some(f) = self.parent_of(&h, Sex::Male, sh) {
                        ms.push(f);
                        let mut m = self.spouse_of(&f, sh);
                        m.rel = "parent";
                        m.age = m.age.max(h.age + 21);
                        ms.push(m);
                    }
                }
            }
        }
        if ms.len() == 1 && self.chance(0.04) {
            // an adult sibling sharing the flat
            let h = ms[0];
            let age = (h.age as i32 + self.rng.gen_range(-8..=8)).clamp(18, self.max_age() as i32);
            let mut sib = self.member("sibling", age as u32, h.sex, sh);
            sib.surname = h.surname;
            ms.push(sib);
        }
        ms
    }

    /// Members of a rented household: young migrant workers, couples,
    /// families and shared flats.
    pub(super) fn renter_household(&mut self) -> Vec<Member> {
        let sh = false;
        let size = 1 + self.weighted(&[45, 30, 17, 8]);
        let mut ms: Vec<Member> = Vec::with_capacity(size);
        let head_age = |g: &mut Gen| {
            if g.chance(0.85) {
                g.rng.gen_range(20..=45)
            } else {
                g.rng.gen_range(46..=68)
            }
        };
        match size {
            1 => {
                let age = head_age(self);
                ms.push(self.head(age, 0.55, sh));
            }
            2 if self.chance(0.55) => {
                let age = head_age(self);
                let h = self.head(age, 0.7, sh);
                let s = self.spouse_of(&h, sh);
                ms.extend([h, s]);
            }
            3 if self.chance(0.7) => {
                let age = self.rng.gen_range(26..=48);
                let h = self.head(age, 0.7, sh);
                let s = self.spouse_of(&h, sh);
                ms.extend([h, s]);
                if let Some(c) = self.child_of("child", &[h, s], 0, 17, sh) {
                    ms.push(c);
                }
            }
            n => {
                // unrelated people sharing a flat (合租)
                let age = self.rng.gen_range(20..=40);
                let sex = if self.chance(0.6) {
                    Sex::Male
                } else {
                    Sex::Female
                };
                let h = self.member("head", age, sex, sh);
                ms.push(h);
                for _ in 1..n {
                    let age = self.rng.gen_range(19..=45);
                    let s = if self.chance(0.8) {
                        sex
                    } else if sex == Sex::Male {
                        Sex::Female
                    } else {
                        Sex::Male
                    };
                    ms.push(self.member("tenant", age, s, sh));
                }
            }
        }
        ms
    }

    pub(super) fn household(&mut self, unit: usize, rented: bool) {
        let ms = if rented {
            self.renter_household()
        } else {
            self.owner_household()
        };
        let hh_idx = self.households.len();
        let head_idx = self.persons.len();
        let alone = ms.len() == 1;
        let mut head_registered = false;
        let mut head_region = "310115";
        for (k, m) in ms.iter().enumerate() {
            let birth = self.birth_for_age(m.age);
            // hukou and residence
            let minor_kid = m.age < 18 && matches!(m.rel, "child" | "grandchild");
            let registered = if k > 0 && minor_kid {
                // minors are registered with their family
                self.chance(if head_registered { 0.97 } else { 0.1 })
            } else if rented {
                self.chance(0.03)
            } else {
                let p = match m.rel {
                    "head" => 0.9,
                    "spouse" => 0.84,
                    "child" | "grandchild" => 0.9,
                    "parent" => 0.8,
                    _ => 0.6,
                };
                self.chance(p)
            };
            let left = registered
                && k > 0
                && (20..=45).contains(&m.age)
                && m.rel == "child"
                && self.chance(0.12);
            let shanghai_bias = if rented { 0.18 } else { 0.5 };
            let region = if !registered
                && k > 0
                && !head_region.starts_with("31")
                && (minor_kid || (m.rel == "spouse" && self.chance(0.6)))
            {
                // family members from the same home county as the head
                head_region
            } else {
                self.region(registered, shanghai_bias, birth.year())
            };
            let (residence, presence) = if left {
                ("left", "registered_here_lives_elsewhere")
            } else if registered {
                ("permanent", "both")
            } else if !rented && region.starts_with("31") {
                ("permanent", "registered_elsewhere_lives_here")
            } else {
                ("temporary", "registered_elsewhere_lives_here")
            };
            let (id, birth) = self.id_number(region, birth, m.sex);
            let age = m.age;
            let name = format!(
                "{}{}",
                names::SURNAMES[m.surname].0,
                self.given_name(m.sex, birth.year())
            );
            let phone = self.phone(age);
            // tags
            let mut tags: Vec<&'static str> = Vec::new();
            let elderly_alone = alone && age >= 65;
            if elderly_alone {
                tags.push("elderly_alone");
            }
            let p_dis = match age {
                0..=17 => 0.005,
                18..=59 => 0.015,
                60..=79 => 0.04,
                _ => 0.08,
            };
            let disabled = self.chance(p_dis);
            if disabled {
                tags.push("disabled");
            }
            let p_party = match age {
                0..=17 => 0.0,
                18..=35 => 0.05,
                36..=59 => 0.065,
                _ => 0.09,
            };
            if self.chance(if rented { p_party * 0.6 } else { p_party }) {
                tags.push("party_member");
            }
            let p_vol = match age {
                0..=15 => 0.0,
                16..=54 => 0.025,
                55..=70 => 0.1,
                71..=79 => 0.03,
                _ => 0.0,
            };
            if self.chance(p_vol) {
                tags.push("volunteer");
            }
            if rented {
                tags.push("renter");
            }
            let p_key = if elderly_alone && disabled {
                0.5
            } else if (elderly_alone && age >= 80) || disabled {
                0.1
            } else {
                0.006
            };
            if self.chance(p_key) {
                tags.push("key_care");
            }
            if k == 0 {
                head_registered = registered;
                head_region = region;
            }
            let idx = self.persons.len();
            self.persons.push(PersonSeed {
                idx,
                household: hh_idx,
                name,
                id_number: id,
                sex: m.sex,
                birth_date: birth,
                phone,
                relation: m.rel,
                hukou_registered: registered,
                residence,
                presence,
                tags,
            });
        }
        self.households.push(HouseholdSeed {
            idx: hh_idx,
            unit,
            head: head_idx,
            registered: head_registered,
        });
    }
}
