//! A resident's own data, readable (PIPL art. 45): her record and household, what each area
//! keeps about her (her cases, and whatever later areas add), and who looked at her data; as a
//! page, a workbook and JSON. Privacy sits below the areas that keep such things, so each of them
//! registers a section ([`provide`], wired in `app`), and privacy asks them all.

use std::sync::RwLock;

use crate::kernel::i18n::Lang;
use crate::store::{Conn, StoreError};

/// One area's part of a resident's data: a titled table in the reader's language.
#[derive(Clone, Debug)]
pub struct Section {
    /// A catalogue key (the page and workbook show it in the reader's language).
    pub title_key: &'static str,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// What an area gives: her section, read for the account `user_id` of the street.
pub type Provider = fn(&mut dyn Conn, i64, i64, Lang) -> Result<Section, StoreError>;

static PROVIDERS: RwLock<Vec<Provider>> = RwLock::new(Vec::new());

/// Registers an area's section (once: registering again is ignored).
pub fn provide(p: Provider) {
    let mut all = PROVIDERS.write().unwrap_or_else(|e| e.into_inner());
    if !all.iter().any(|q| std::ptr::fn_addr_eq(*q, p)) {
        all.push(p);
    }
}

/// Every area's section, in the order they were wired.
pub fn sections(
    c: &mut dyn Conn,
    user_id: i64,
    street_id: i64,
    lang: Lang,
) -> Result<Vec<Section>, StoreError> {
    let all = PROVIDERS.read().unwrap_or_else(|e| e.into_inner()).clone();
    all.into_iter()
        .map(|p| p(c, user_id, street_id, lang))
        .collect()
}

/// The workbook: one sheet per part, the reader's language in headers and values.
pub fn workbook(
    t: crate::kernel::i18n::Tr,
    record: &[(String, String)],
    household: &Section,
    sections: &[Section],
    access: &Section,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(sheet_name(t.s("mydata.record")))?;
    for (i, (k, v)) in record.iter().enumerate() {
        ws.write_string_with_format(i as u32, 0, k, &bold)?;
        ws.write_string(i as u32, 1, v)?;
    }
    ws.set_column_width(0, 18)?;
    ws.set_column_width(1, 40)?;
    for s in std::iter::once(household)
        .chain(sections.iter())
        .chain(std::iter::once(access))
    {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&s.title))?;
        for (j, c) in s.columns.iter().enumerate() {
            ws.write_string_with_format(0, j as u16, c, &bold)?;
            ws.set_column_width(j as u16, 16)?;
        }
        for (i, row) in s.rows.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                ws.write_string(i as u32 + 1, j as u16, v)?;
            }
        }
    }
    wb.save_to_buffer()
}

/// A sheet name Excel takes: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(s: &str) -> String {
    s.chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sheet_names_are_what_excel_takes() {
        assert_eq!(super::sheet_name("a/b:c"), "abc");
        assert_eq!(super::sheet_name(&"长".repeat(40)).chars().count(), 31);
    }
}
