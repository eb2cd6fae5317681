//! A campaign's answers as an XLSX sheet: one row per door (grid, building, unit, state,
//! nobody-home visits, when answered, then one column per question), headed in the reader's
//! language. No names and no ID numbers: the door is its unit.

use super::model::{Campaign, QuestionKind};
use super::store::ExportRow;
use crate::kernel::ctx;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::Tr;
use crate::kernel::time::local_time;

pub fn write(camp: &Campaign, rows: &[ExportRow]) -> AppResult<Vec<u8>> {
    let t = Tr(ctx().lang);
    let fail = |e: rust_xlsxwriter::XlsxError| AppError::internal("sweeps: xlsx", e);
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("排摸").map_err(fail)?;
    let mut head: Vec<String> = [
        "sweeps.col_household",
        "sweeps.col_grid",
        "sweeps.col_building",
        "sweeps.col_unit",
        "sweeps.col_state",
        "sweeps.col_attempts",
        "sweeps.col_answered_at",
    ]
    .iter()
    .map(|k| t.s(k).to_string())
    .collect();
    head.extend(camp.questions.iter().map(|q| q.label.clone()));
    for (j, h) in head.iter().enumerate() {
        ws.write_string_with_format(0, j as u16, h, &bold)
            .map_err(fail)?;
    }
    let fixed = 7u16;
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_number(row, 0, r.household_id as f64)
            .map_err(fail)?;
        ws.write_string(row, 1, &r.grid).map_err(fail)?;
        ws.write_string(row, 2, &r.building).map_err(fail)?;
        ws.write_string(row, 3, &r.unit).map_err(fail)?;
        ws.write_string(row, 4, t.s(&format!("sweeps.door.{}", r.state)))
            .map_err(fail)?;
        ws.write_number(row, 5, r.attempts as f64).map_err(fail)?;
        if let Some(at) = r.answered_at {
            ws.write_string(row, 6, local_time(at)).map_err(fail)?;
        }
        let Some(a) = &r.answers else { continue };
        for (k, q) in camp.questions.iter().enumerate() {
            let col = fixed + k as u16;
            match (q.kind, a.get(&q.key)) {
                (_, None) => {}
                (QuestionKind::YesNo, Some(v)) => {
                    let key = if v.as_bool() == Some(true) {
                        "sweeps.yes"
                    } else {
                        "sweeps.no"
                    };
                    ws.write_string(row, col, t.s(key)).map_err(fail)?;
                }
                (QuestionKind::Number, Some(v)) => {
                    ws.write_number(row, col, v.as_f64().unwrap_or(0.0))
                        .map_err(fail)?;
                }
                (_, Some(v)) => {
                    ws.write_string(row, col, v.as_str().unwrap_or_default())
                        .map_err(fail)?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0).map_err(fail)?;
    wb.save_to_buffer().map_err(fail)
}
