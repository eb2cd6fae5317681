//! A notice's attachments: a PDF or a picture, at most [`MAX_BYTES`], at most [`MAX_FILES`] a
//! notice, the type told by the content (a name or a declared type is never trusted): a PDF
//! starts `%PDF-` and ends with its `%%EOF` marker; a JPEG or PNG declares a size within
//! [`MAX_PIXELS`]. Stored under the data folder, 0600, synced before the row is written.

use std::path::Path;

use crate::kernel::error::{AppError, AppResult};

pub const MAX_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_FILES: usize = 5;
/// The most pixels an attached picture may declare (as a case photo).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The longest file name kept, in characters.
const NAME_MAX: usize = 100;

/// An attachment checked: its type, the extension it is stored with, its shown name.
#[derive(Debug, PartialEq)]
pub struct Checked {
    pub mime: &'static str,
    pub ext: &'static str,
    pub name: String,
}

/// The type by content, or why not.
pub fn check(name: &str, b: &[u8]) -> AppResult<Checked> {
    if b.is_empty() {
        return Err(AppError::invalid("notices.err_file_empty"));
    }
    if b.len() > MAX_BYTES {
        return Err(AppError::invalid("notices.err_file_size"));
    }
    let (mime, ext) = if b.starts_with(b"%PDF-") {
        // The end-of-file marker sits in the last kilobyte of a whole PDF.
        let tail = &b[b.len().saturating_sub(1024)..];
        if !tail.windows(5).any(|w| w == b"%%EOF") {
            return Err(AppError::invalid("notices.err_file_broken"));
        }
        ("application/pdf", "pdf")
    } else if b.starts_with(&[0xFF, 0xD8, 0xFF])
        || b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A])
    {
        let png = b[0] == 0x89;
        // A PNG's size is its first chunk's (IHDR) first eight bytes; a JPEG's is read by the
        // decoder from its frame header. Neither decodes a pixel.
        let dims = if png {
            (b.len() >= 24 && &b[12..16] == b"IHDR").then(|| {
                let n = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
                (n(16), n(20))
            })
        } else {
            image::ImageReader::new(std::io::Cursor::new(b))
                .with_guessed_format()
                .ok()
                .and_then(|r| r.into_dimensions().ok())
        };
        match dims {
            None => return Err(AppError::invalid("notices.err_file_broken")),
            Some((w, h)) if u64::from(w) * u64::from(h) > MAX_PIXELS || w == 0 || h == 0 => {
                return Err(AppError::invalid("notices.err_file_pixels"));
            }
            Some(_) => {}
        }
        if png {
            ("image/png", "png")
        } else {
            ("image/jpeg", "jpg")
        }
    } else {
        return Err(AppError::invalid("notices.err_file_type"));
    };
    Ok(Checked {
        mime,
        ext,
        name: shown_name(name, ext),
    })
}

/// The name a file is shown with: its last path part, without control or bidi characters,
/// within [`NAME_MAX`] characters, ending with the extension its content has.
fn shown_name(name: &str, ext: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| !crate::kernel::text::refused_char(*c, false) && *c != '"')
        .collect();
    let stem = match clean.rsplit_once('.') {
        Some((s, _)) => s.trim().to_string(),
        None => clean.trim().to_string(),
    };
    let stem: String = stem.chars().take(NAME_MAX).collect();
    let stem = if stem.is_empty() {
        "attachment".to_string()
    } else {
        stem
    };
    format!("{stem}.{ext}")
}

/// Writes an attachment under a fresh name and syncs it and its folder; the name relative to
/// the data folder. Blocking file I/O.
pub fn write(
    data_dir: &Path,
    street: i64,
    notice: i64,
    ext: &str,
    b: &[u8],
) -> std::io::Result<String> {
    let dir = format!("notices/{street}/{notice}");
    crate::store::files::create_dir_all(&data_dir.join(&dir))?;
    let name = format!("{dir}/{}.{ext}", &crate::org::auth::random_token("")[..16]);
    crate::store::files::write_synced(&data_dir.join(&name), b)?;
    std::fs::File::open(data_dir.join(&dir))?.sync_all()?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides() {
        let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n";
        let c = check("C:\\通知\\停水.PDF", pdf).unwrap();
        assert_eq!((c.mime, c.name.as_str()), ("application/pdf", "停水.pdf"));
        assert_eq!(
            check("a.pdf", b"%PDF-1.4 cut").unwrap_err().key,
            "notices.err_file_broken"
        );
        assert_eq!(
            check("a.pdf", b"MZ\x90\x00").unwrap_err().key,
            "notices.err_file_type"
        );
        assert_eq!(
            check("a.pdf", b"").unwrap_err().key,
            "notices.err_file_empty"
        );
        // A PNG header that declares 8,000 × 6,000 pixels.
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&8_000u32.to_be_bytes());
        png.extend_from_slice(&6_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0]);
        let crc = crc32fast::hash(&png[12..29]);
        png.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(
            check("big.png", &png).unwrap_err().key,
            "notices.err_file_pixels"
        );
        assert_eq!(shown_name("../../\u{202E}gpj.exe", "pdf"), "gpj.pdf");
        assert_eq!(shown_name("", "png"), "attachment.png");
    }
}
