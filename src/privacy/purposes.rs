//! The purposes written in the audit log are stable English words for machines and auditors
//! ("emergency: 联系不上", "correction requested", "api: phone, notes"); a resident reading who
//! looked at her data reads them in her own language.

use crate::kernel::i18n::{Lang, Tr};

/// A stored purpose in the reader's words. The reason typed by a worker stays as she wrote it.
pub fn describe(purpose: &str, t: Tr) -> String {
    let colon = if t.0 == Lang::En { ": " } else { "：" };
    let with = |label: String, rest: &str| {
        if rest.trim().is_empty() {
            label
        } else {
            format!("{label}{colon}{}", rest.trim())
        }
    };
    let (head, rest) = match purpose.split_once(": ") {
        Some((h, r)) => (h, r),
        None => (purpose, ""),
    };
    // A reveal's purpose (one of the five a worker picks) and her note.
    if [
        "home_visit",
        "service",
        "emergency",
        "verification",
        "other",
    ]
    .contains(&head)
    {
        return with(t.k("purpose", head).to_string(), rest);
    }
    // A record changed through a channel: the fields named in the reader's words.
    if ["api", "form", "import", "cli"].contains(&head) && !rest.is_empty() {
        let fields: Vec<String> = rest
            .split(", ")
            .map(|f| t.k_or("change", f.trim()))
            .collect();
        return with(
            t.k_or("purpose_log.changed_by", head),
            &fields.join(if t.0 == Lang::En { ", " } else { "、" }),
        );
    }
    if let Some(state) = head
        .strip_prefix("requested (")
        .and_then(|s| s.strip_suffix(')'))
    {
        return with(
            t.fill(
                "purpose_log.export_requested",
                &[("state", &t.k_or("export_state", state))],
            ),
            rest,
        );
    }
    if let Some(st) = head.strip_prefix("correction ") {
        return match st {
            "requested" => t.s("purpose_log.correction_requested").to_string(),
            other => t.fill(
                "purpose_log.correction_closed",
                &[("state", &t.k_or("correction_state", other))],
            ),
        };
    }
    match head {
        "unmasked" => with(t.s("purpose_log.unmasked").to_string(), rest),
        // "device readings: door DS-0001": the device's type in the reader's words, its serial.
        "device readings" => {
            let (kind, serial) = rest.split_once(' ').unwrap_or((rest, ""));
            with(
                t.s("purpose_log.device_readings").to_string(),
                &format!("{} {serial}", t.k_or("sensing", &format!("type_{kind}"))),
            )
        }
        "approved" => with(t.s("purpose_log.approved").to_string(), rest),
        "rejected" => with(t.s("purpose_log.rejected").to_string(), rest),
        // A building leader's list of who has not opened a notice (names masked), and her mark
        // that she told one of them.
        "notice unread list" => with(t.s("purpose_log.notice_unread").to_string(), rest),
        "notice told" => with(t.s("purpose_log.notice_told").to_string(), rest),
        "search" | "duplicates" | "case" | "locked" | "inactive" => {
            with(t.k("purpose_log", head).to_string(), rest)
        }
        _ if head.starts_with("import check") => t.s("purpose_log.import_check").to_string(),
        // A purpose kept in both languages ("中文 / English", `i18n::both`): the reader's half.
        // Anything else is a reason typed by a person: as written.
        _ => crate::kernel::i18n::pick(purpose, t.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_read_in_the_readers_language() {
        let zh = Tr(Lang::Zh);
        let en = Tr(Lang::En);
        assert_eq!(describe("emergency: 联系不上", zh), "紧急联系：联系不上");
        assert_eq!(
            describe("emergency: 联系不上", en),
            "Emergency contact: 联系不上"
        );
        assert_eq!(describe("correction requested", zh), "居民申请更正信息");
        assert_eq!(
            describe("api: notes, phone", zh),
            "通过接口修改：备注、联系电话"
        );
        assert_eq!(describe("发放补贴", zh), "发放补贴");
        assert_eq!(
            describe("notice unread list: #12", zh),
            "查看通知未读名单（姓名已遮挡）：#12"
        );
        assert_eq!(
            describe("notice told: #12", en),
            "Marked as told of a notice: #12"
        );
        assert!(describe("device readings: door_magnet DS-1", zh).starts_with("查看设备读数："));
        for p in [
            "search",
            "unmasked: 核对",
            "requested (pending): 核对",
            "correction done",
        ] {
            let d = describe(p, zh);
            assert!(!d.chars().any(|c| c.is_ascii_alphabetic()), "{p} → {d}");
        }
    }
}
