//! Her cases, for a resident's own data (`privacy::own`): every case she reported in the
//! street, with its state and what she wrote.

use crate::kernel::i18n::{Lang, tr};
use crate::kernel::time::local_time;
use crate::params;
use crate::privacy::own::Section;
use crate::store::{Conn, StoreError};

/// The section "我的上报" of a resident's data.
pub fn own_section(
    c: &mut dyn Conn,
    user_id: i64,
    street_id: i64,
    lang: Lang,
) -> Result<Section, StoreError> {
    let rows = c.query(
        "SELECT c.id, k.name_zh, k.name_en, c.state, c.created_at, c.address, c.description, c.rating \
         FROM cases c JOIN case_categories k ON k.id = c.category_id \
         WHERE c.street_id = $1 AND c.reporter_id = $2 ORDER BY c.id DESC",
        params![street_id, user_id],
    )?;
    let t = |k: &str| tr(lang, k).to_string();
    Ok(Section {
        title_key: "mydata.cases",
        title: t("mydata.cases"),
        columns: [
            "mydata.case_no",
            "mydata.case_category",
            "mydata.case_state",
            "mydata.case_reported",
            "mydata.case_address",
            "mydata.case_description",
            "mydata.case_rating",
        ]
        .iter()
        .map(|k| t(k))
        .collect(),
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    r.i64(0).to_string(),
                    if lang == Lang::En { r.str(2) } else { r.str(1) },
                    t(&format!("case.state.{}", r.str(3))),
                    local_time(r.i64(4)),
                    r.opt_str(5).unwrap_or_default(),
                    r.str(6),
                    // In words, as she rated it (满意 / 基本满意 / 不满意), not the score counted.
                    r.opt_i64(7)
                        .map(|n| {
                            let s = super::lifecycle::Satisfaction::of_score(n);
                            t(&format!("case.satisfaction.{}", s.as_str()))
                        })
                        .unwrap_or_default(),
                ]
            })
            .collect(),
    })
}
