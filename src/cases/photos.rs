//! Photos of a case (the reporter's, the handler's proof of work): stored as files in the data
//! folder, at most [`MAX_BYTES`], their type sniffed from the content (JPEG or PNG; a name or
//! a declared type is never trusted), with a thumbnail. A photo's EXIF location is kept only
//! when the uploader agrees; otherwise the EXIF block is removed from the stored file.

use std::path::Path;

use serde::Serialize;

use super::{Case, CaseError};
use crate::params;
use crate::store::Conn;

pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// The longer side of a thumbnail, in pixels.
pub const THUMB_PX: u32 = 320;
/// At most this many photos per case.
pub const MAX_PER_CASE: i64 = 12;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
}

impl Kind {
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
        }
    }
}

/// The type by magic bytes.
pub fn sniff(b: &[u8]) -> Option<Kind> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(Kind::Png)
    } else {
        None
    }
}

/// The GPS position in a JPEG's EXIF block, if any.
pub fn gps(b: &[u8]) -> Option<(f64, f64)> {
    use exif::{In, Tag, Value};
    let ex = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(b))
        .ok()?;
    let deg = |tag: Tag, rtag: Tag, neg: &str| -> Option<f64> {
        let f = ex.get_field(tag, In::PRIMARY)?;
        let Value::Rational(v) = &f.value else {
            return None;
        };
        if v.len() < 3 {
            return None;
        }
        let d = v[0].to_f64() + v[1].to_f64() / 60.0 + v[2].to_f64() / 3600.0;
        let r = ex.get_field(rtag, In::PRIMARY)?.display_value().to_string();
        Some(if r.contains(neg) { -d } else { d })
    };
    let lat = deg(Tag::GPSLatitude, Tag::GPSLatitudeRef, "S")?;
    let lon = deg(Tag::GPSLongitude, Tag::GPSLongitudeRef, "W")?;
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
}

/// A JPEG without its APP1 segments (EXIF and XMP: location, device, time).
pub fn strip_exif(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..2]);
    let mut i = 2;
    while i + 4 <= b.len() && b[i] == 0xFF {
        let marker = b[i + 1];
        // Start of scan: the rest is image data.
        if marker == 0xDA {
            break;
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        let end = (i + 2 + len).min(b.len());
        if marker != 0xE1 {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    out.extend_from_slice(&b[i.min(b.len())..]);
    out
}

/// A PNG without its metadata chunks (`eXIf`, and the text chunks that may carry XMP with a
/// location): the image chunks are copied as they are.
pub fn strip_png_metadata(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..8.min(b.len())]);
    let mut i = 8;
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as usize;
        let end = (i + 12 + len).min(b.len());
        let kind = &b[i + 4..i + 8];
        if !matches!(kind, b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt") {
            out.extend_from_slice(&b[i..end]);
        }
        i = end;
    }
    out
}

/// A JPEG thumbnail whose longer side is [`THUMB_PX`].
pub fn thumbnail(b: &[u8]) -> Result<Vec<u8>, String> {
    let img = image::load_from_memory(b).map_err(|e| e.to_string())?;
    let t = img.thumbnail(THUMB_PX, THUMB_PX).to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    t.write_to(&mut out, image::ImageFormat::Jpeg)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// A photo as the API lists it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Photo {
    pub id: i64,
    pub content_type: String,
    pub bytes: i64,
    /// Where it was taken, only when the uploader shared it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    pub created_at: i64,
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub thumb: String,
}

pub fn of_case(c: &mut dyn Conn, case_id: i64) -> crate::store::Result<Vec<Photo>> {
    Ok(c
        .query(
            "SELECT id, content_type, bytes, lat, lon, created_at, file, thumb FROM case_photos WHERE case_id = $1 ORDER BY id",
            params![case_id],
        )?
        .into_iter()
        .map(|r| Photo {
            id: r.i64(0),
            content_type: r.str(1),
            bytes: r.i64(2),
            lat: r.opt_f64(3),
            lon: r.opt_f64(4),
            created_at: r.i64(5),
            file: r.str(6),
            thumb: r.str(7),
        })
        .collect())
}

/// A checked upload, ready to store: the bytes to keep, the thumbnail and the location.
pub struct Prepared {
    pub kind: Kind,
    pub bytes: Vec<u8>,
    pub thumb: Vec<u8>,
    pub location: Option<(f64, f64)>,
}

/// Checks an upload and prepares what is stored (CPU work: call off the async threads).
pub fn prepare(raw: &[u8], share_location: bool) -> Result<Prepared, CaseError> {
    if raw.is_empty() {
        return Err(CaseError::Invalid("case.err_photo_empty"));
    }
    if raw.len() > MAX_BYTES {
        return Err(CaseError::Invalid("case.err_photo_size"));
    }
    let kind = sniff(raw).ok_or(CaseError::Invalid("case.err_photo_type"))?;
    let thumb = thumbnail(raw).map_err(|_| CaseError::Invalid("case.err_photo_type"))?;
    let (bytes, location) = match kind {
        Kind::Jpeg if share_location => (raw.to_vec(), gps(raw)),
        Kind::Jpeg => (strip_exif(raw), None),
        // A PNG's location is not read; without consent its metadata chunks are dropped.
        Kind::Png if share_location => (raw.to_vec(), None),
        Kind::Png => (strip_png_metadata(raw), None),
    };
    Ok(Prepared {
        kind,
        bytes,
        thumb,
        location,
    })
}

/// Stores a prepared photo of a case: the row, then the files (a failed write rolls the row
/// back with the transaction).
pub fn store(
    c: &mut dyn Conn,
    data_dir: &Path,
    case: &Case,
    uploader: i64,
    p: &Prepared,
    now: i64,
) -> Result<Photo, CaseError> {
    let n = c.query_i64(
        "SELECT COUNT(*) FROM case_photos WHERE case_id = $1",
        params![case.id.0],
    )?;
    if n >= MAX_PER_CASE {
        return Err(CaseError::Invalid("case.err_photo_count"));
    }
    let dir = format!("photos/{}/{}", case.street_id, case.id.0);
    let (lat, lon) = (p.location.map(|l| l.0), p.location.map(|l| l.1));
    let id = c.query_i64(
        "INSERT INTO case_photos (street_id, case_id, file, thumb, content_type, bytes, lat, lon, uploaded_by, created_at) \
         VALUES ($1, $2, '', '', $3, $4, $5, $6, $7, $8) RETURNING id",
        params![case.street_id, case.id.0, p.kind.mime(), p.bytes.len(), lat, lon, uploader, now],
    )?;
    let file = format!("{dir}/{id}.{}", p.kind.ext());
    let thumb = format!("{dir}/{id}.thumb.jpg");
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir.join(&dir))?;
        std::fs::write(data_dir.join(&file), &p.bytes)?;
        std::fs::write(data_dir.join(&thumb), &p.thumb)
    };
    write().map_err(|e| crate::store::StoreError::Db(format!("writing a photo: {e}")))?;
    c.exec(
        "UPDATE case_photos SET file = $2, thumb = $3 WHERE id = $1",
        params![id, file.clone(), thumb.clone()],
    )?;
    Ok(Photo {
        id,
        content_type: p.kind.mime().to_string(),
        bytes: p.bytes.len() as i64,
        lat,
        lon,
        created_at: now,
        file,
        thumb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_sniffed_and_exif_is_stripped() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Kind::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Kind::Png));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<svg"), None);
        // SOI, APP1 (4 bytes of payload), APP0 (2 bytes), SOS and data.
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x06, 1, 2, 3, 4, 0xFF, 0xE0, 0x00, 0x04, 9, 9, 0xFF,
            0xDA, 0x00, 0x02, 7, 7,
        ];
        assert_eq!(
            strip_exif(&jpeg),
            vec![
                0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 9, 9, 0xFF, 0xDA, 0x00, 0x02, 7, 7
            ]
        );
    }
}
