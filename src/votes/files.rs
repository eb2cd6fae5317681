//! The scan of a paper ballot and the evidence of a proxy (委托书): checked by content as case
//! photos are (`cases::photos`: the type sniffed from the bytes, a name or declared type never
//! trusted, the declared pixels bounded before anything is decoded, EXIF and text chunks
//! removed), a PDF by its signature; kept under the data folder, readable by linli's user only.

use std::path::Path;

use crate::cases::photos;
use crate::kernel::AppError;

/// The most bytes of one file.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// A checked file, ready to keep.
pub struct Checked {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub ext: &'static str,
}

/// Checks an uploaded scan or evidence: JPEG, PNG or PDF by content, at most [`MAX_BYTES`].
pub fn check(raw: &[u8]) -> Result<Checked, AppError> {
    if raw.is_empty() {
        return Err(AppError::invalid("votes.err_file_empty"));
    }
    if raw.len() > MAX_BYTES {
        return Err(AppError::invalid("votes.err_file_size"));
    }
    if photos::is_heif(raw) {
        return Err(AppError::invalid("upload.heic"));
    }
    if raw.starts_with(b"%PDF-") {
        return Ok(Checked {
            bytes: raw.to_vec(),
            mime: "application/pdf",
            ext: "pdf",
        });
    }
    let kind = photos::sniff(raw).ok_or_else(|| AppError::invalid("votes.err_file_type"))?;
    let (w, h) = photos::dimensions(raw).ok_or_else(|| AppError::invalid("votes.err_file_type"))?;
    if u64::from(w) * u64::from(h) > photos::MAX_PIXELS {
        return Err(AppError::invalid("votes.err_file_type"));
    }
    Ok(match kind {
        photos::Kind::Jpeg => Checked {
            bytes: photos::strip_exif(raw),
            mime: "image/jpeg",
            ext: "jpg",
        },
        photos::Kind::Png => Checked {
            bytes: photos::strip_png_metadata(raw),
            mime: "image/png",
            ext: "png",
        },
    })
}

/// Writes a checked file under `votes/<street>/<vote>/` and syncs it; its path relative to the
/// data folder. Blocking file I/O.
pub fn write(
    data_dir: &Path,
    street_id: i64,
    vote_id: i64,
    f: &Checked,
) -> std::io::Result<String> {
    use std::io::Write;
    let dir = format!("votes/{street_id}/{vote_id}");
    crate::store::files::create_dir_all(&data_dir.join(&dir))?;
    let name = crate::org::auth::random_token("")[..16].to_string();
    let rel = format!("{dir}/{name}.{}", f.ext);
    let mut file = crate::store::files::create_new(&data_dir.join(&rel))?;
    file.write_all(&f.bytes)?;
    file.sync_all()?;
    Ok(rel)
}

/// Removes a file whose ballot was not recorded.
pub fn remove(data_dir: &Path, rel: &str) {
    let _ = std::fs::remove_file(data_dir.join(rel));
}
