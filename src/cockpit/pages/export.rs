//! A measure's data as XLSX: its value per grid now, and its daily values over 90 days. Counts
//! and rates only, no person: the export is not an access to anyone's record.

use std::sync::Arc;

use crate::http::area::Measure;
use crate::kernel::error::{AppError, AppResult};
use crate::kernel::i18n::{Lang, Tr};
use crate::state::AppState;

use super::super::service::{self, Viewer};

pub async fn xlsx(
    state: &Arc<AppState>,
    v: &Viewer,
    m: &'static Measure,
    lang: Lang,
) -> AppResult<Vec<u8>> {
    let t = Tr(lang);
    let board = service::board(state, v).await?;
    let f = board
        .figures
        .iter()
        .find(|f| f.measure.id == m.id)
        .ok_or_else(AppError::not_found)?;
    let trend = service::trend(state, v, m, 90).await?;
    let err = |e: rust_xlsxwriter::XlsxError| AppError::internal("cockpit: xlsx", e);
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(t.s("cockpit.x.grids")).map_err(err)?;
    ws.write_string_with_format(0, 0, t.s("cockpit.x.grid"), &bold)
        .map_err(err)?;
    ws.write_string_with_format(0, 1, t.s(m.label), &bold)
        .map_err(err)?;
    ws.write_string(0, 2, super::as_of_text(board.as_of, lang))
        .map_err(err)?;
    let mut r = 1u32;
    for (g, val) in board.grids.iter().zip(&f.grids) {
        ws.write_string(r, 0, &g.name).map_err(err)?;
        if let Some(x) = val {
            ws.write_number(r, 1, *x).map_err(err)?;
        }
        r += 1;
    }
    ws.write_string_with_format(r, 0, t.s("cockpit.total"), &bold)
        .map_err(err)?;
    if let Some(x) = f.total {
        ws.write_number(r, 1, x).map_err(err)?;
    }
    let ws = wb.add_worksheet();
    ws.set_name(t.s("cockpit.x.trend")).map_err(err)?;
    ws.write_string_with_format(0, 0, t.s("cockpit.x.day"), &bold)
        .map_err(err)?;
    ws.write_string_with_format(0, 1, t.s(m.label), &bold)
        .map_err(err)?;
    for (i, (day, val)) in trend.iter().enumerate() {
        ws.write_string(i as u32 + 1, 0, day).map_err(err)?;
        if let Some(x) = val {
            ws.write_number(i as u32 + 1, 1, *x).map_err(err)?;
        }
    }
    wb.save_to_buffer().map_err(err)
}
