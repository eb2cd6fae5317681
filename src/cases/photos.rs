//! Photos of a case (the reporter's, the handler's proof of work): stored as files in the data
//! folder, at most [`MAX_BYTES`], their type sniffed from the content (JPEG or PNG; a name or
//! a declared type is never trusted), with a thumbnail. A photo's EXIF location is kept only
//! when the uploader agrees; otherwise the EXIF block is removed from the stored file.
//!
//! Decoding is bounded: a picture's size is read from its header and one over
//! [`MAX_PIXELS`] is refused before any pixel is decoded (a 388 KB PNG can declare
//! 20,000 × 20,000 pixels, 1.6 GB once decoded); decoding itself runs under a memory limit;
//! and at most [`IMAGE_WORK`]'s permits of pictures are decoded at once.

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
/// The most pixels a photo may have: 40 megapixels, more than any phone camera takes
/// (8000 × 5000).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The memory a decoder may hold for one picture: a 40-megapixel RGBA picture (160 MB) and
/// some room.
const MAX_DECODE_BYTES: u64 = 192 * 1024 * 1024;
/// Pictures decoded at once, whatever the number of uploads in flight: with
/// [`MAX_DECODE_BYTES`] each, the most decoding can hold is bounded.
pub static IMAGE_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

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

/// Whether the bytes are a HEIF/HEIC picture (an ISO-BMFF `ftyp` box of an image brand), what
/// an iPhone takes by default: refused with its own message, not "not a photo".
pub fn is_heif(b: &[u8]) -> bool {
    const BRANDS: [&[u8; 4]; 7] = [
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1",
    ];
    b.len() >= 12 && &b[4..8] == b"ftyp" && BRANDS.iter().any(|br| &b[8..12] == *br)
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

/// A picture's width and height as its header declares them, without decoding it.
pub fn dimensions(b: &[u8]) -> Option<(u32, u32)> {
    image::ImageReader::new(std::io::Cursor::new(b))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

/// Why a picture could not be made a thumbnail of.
#[derive(Debug)]
pub enum ThumbError {
    /// Decoding it would take more memory than allowed.
    TooLarge,
    Unreadable(String),
}

/// A JPEG thumbnail whose longer side is [`THUMB_PX`], the picture decoded within
/// [`MAX_DECODE_BYTES`].
pub fn thumbnail(b: &[u8]) -> Result<Vec<u8>, ThumbError> {
    let unreadable = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => ThumbError::TooLarge,
        e => ThumbError::Unreadable(e.to_string()),
    };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(b))
        .with_guessed_format()
        .map_err(|e| ThumbError::Unreadable(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let img = reader.decode().map_err(unreadable)?;
    let t = img.thumbnail(THUMB_PX, THUMB_PX).to_rgb8();
    drop(img);
    let mut out = std::io::Cursor::new(Vec::new());
    t.write_to(&mut out, image::ImageFormat::Jpeg)
        .map_err(unreadable)?;
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
    /// Its uploader (the reporter) allows it on the public page.
    pub public_ok: bool,
    /// A worker approved it for the public page (faces and plates checked).
    pub approved: bool,
    #[serde(skip)]
    pub file: String,
    #[serde(skip)]
    pub thumb: String,
}

pub fn of_case(c: &mut dyn Conn, case_id: i64) -> crate::store::Result<Vec<Photo>> {
    Ok(c
        .query(
            "SELECT id, content_type, bytes, lat, lon, created_at, file, thumb, public_ok, approved_at FROM case_photos WHERE case_id = $1 ORDER BY id",
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
            public_ok: r.i64(8) == 1,
            approved: r.opt_i64(9).is_some(),
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
    if is_heif(raw) {
        return Err(CaseError::Invalid("upload.heic"));
    }
    let kind = sniff(raw).ok_or(CaseError::Invalid("case.err_photo_type"))?;
    // The header first: a picture declaring too many pixels is refused undecoded.
    let (w, h) = dimensions(raw).ok_or(CaseError::Invalid("case.err_photo_type"))?;
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(CaseError::Invalid("case.err_photo_pixels"));
    }
    let thumb = thumbnail(raw).map_err(|e| match e {
        ThumbError::TooLarge => CaseError::Invalid("case.err_photo_pixels"),
        ThumbError::Unreadable(_) => CaseError::Invalid("case.err_photo_type"),
    })?;
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

/// Where a photo's files go, relative to the data folder.
pub struct Files {
    pub file: String,
    pub thumb: String,
}

impl Files {
    /// Removes both files (a photo whose row was not stored).
    pub fn remove(&self, data_dir: &Path) {
        for f in [&self.file, &self.thumb] {
            let _ = std::fs::remove_file(data_dir.join(f));
        }
    }
}

// Photos show residents and their homes: readable by linli's user only.
use crate::store::files::write_synced;

/// Writes a prepared photo's files under a fresh name and syncs them to disk, before its row
/// is stored: a row never points at a file that is not there, and the writer does no file
/// work. Should storing the row fail, the caller removes them with [`Files::remove`]; files
/// left by a crash in between are removed by [`sweep_orphans`]. Blocking file I/O.
pub fn write_files(data_dir: &Path, case: &Case, p: &Prepared) -> std::io::Result<Files> {
    let dir = format!("photos/{}/{}", case.street_id, case.id.0);
    crate::store::files::create_dir_all(&data_dir.join(&dir))?;
    let name = crate::org::auth::random_token("")[..16].to_string();
    let files = Files {
        file: format!("{dir}/{name}.{}", p.kind.ext()),
        thumb: format!("{dir}/{name}.thumb.jpg"),
    };
    let written = write_synced(&data_dir.join(&files.file), &p.bytes)
        .and_then(|()| write_synced(&data_dir.join(&files.thumb), &p.thumb))
        .and_then(|()| std::fs::File::open(data_dir.join(&dir))?.sync_all());
    if let Err(e) = written {
        files.remove(data_dir);
        return Err(e);
    }
    Ok(files)
}

/// Stores the row of a photo whose files [`write_files`] wrote.
pub fn store(
    c: &mut dyn Conn,
    case: &Case,
    uploader: i64,
    p: &Prepared,
    files: &Files,
    now: i64,
) -> Result<Photo, CaseError> {
    let n = c.query_i64(
        "SELECT COUNT(*) FROM case_photos WHERE case_id = $1",
        params![case.id.0],
    )?;
    if n >= MAX_PER_CASE {
        return Err(CaseError::Invalid("case.err_photo_count"));
    }
    let (lat, lon) = (p.location.map(|l| l.0), p.location.map(|l| l.1));
    let id = c.query_i64(
        "INSERT INTO case_photos (street_id, case_id, file, thumb, content_type, bytes, lat, lon, uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        params![
            case.street_id,
            case.id.0,
            files.file.clone(),
            files.thumb.clone(),
            p.kind.mime(),
            p.bytes.len(),
            lat,
            lon,
            uploader,
            now
        ],
    )?;
    Ok(Photo {
        id,
        content_type: p.kind.mime().to_string(),
        bytes: p.bytes.len() as i64,
        lat,
        lon,
        created_at: now,
        public_ok: false,
        approved: false,
        file: files.file.clone(),
        thumb: files.thumb.clone(),
    })
}

/// Files in the photo folders older than this with no row are orphans.
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes photo files that no row points at and that are older than an hour: files of an
/// upload whose process died between writing them and storing the row. Returns how many
/// went. Blocking; run at start, off the async threads.
pub fn sweep_orphans(db: &crate::store::Db, data_dir: &Path) -> Result<usize, CaseError> {
    let root = data_dir.join("photos");
    let mut removed = 0;
    let Ok(streets) = std::fs::read_dir(&root) else {
        return Ok(0);
    };
    for street in streets.flatten() {
        let Ok(cases) = std::fs::read_dir(street.path()) else {
            continue;
        };
        for case in cases.flatten() {
            let Some(case_id) = case
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            let known: std::collections::HashSet<String> = db
                .read_blocking(|c| {
                    c.query(
                        "SELECT file, thumb FROM case_photos WHERE case_id = $1",
                        params![case_id],
                    )
                })?
                .iter()
                .flat_map(|r| [r.str(0), r.str(1)])
                .collect();
            let Ok(files) = std::fs::read_dir(case.path()) else {
                continue;
            };
            for f in files.flatten() {
                let old = f
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > ORPHAN_AGE);
                let rel = format!(
                    "photos/{}/{}/{}",
                    street.file_name().to_string_lossy(),
                    case_id,
                    f.file_name().to_string_lossy()
                );
                if old && !known.contains(&rel) && std::fs::remove_file(f.path()).is_ok() {
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}

/// A PNG whose header declares `w` × `h` 8-bit grey pixels, with a few bytes of image data and
/// the end: what a decompression bomb looks like before its pixels are inflated (a 20,000 ×
/// 20,000 picture, 400 MB once inflated, in 60 bytes). For tests of the pixel limit.
#[doc(hidden)]
pub fn header_only_png(w: u32, h: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        // PNG's CRC-32 covers the chunk's type and data.
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x63, 0x00, 0x00]);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_pixels_are_refused_from_the_header() {
        let bomb = header_only_png(20_000, 20_000);
        assert_eq!(dimensions(&bomb), Some((20_000, 20_000)));
        assert!(matches!(
            prepare(&bomb, false),
            Err(CaseError::Invalid("case.err_photo_pixels"))
        ));
        // Just under the limit the header passes; these bytes are no picture, and say so.
        let big = header_only_png(8_000, 5_000);
        assert!(matches!(
            prepare(&big, false),
            Err(CaseError::Invalid("case.err_photo_type"))
        ));
    }

    #[test]
    fn types_are_sniffed_and_exif_is_stripped() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Kind::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some(Kind::Png));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<svg"), None);
        assert!(is_heif(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"));
        assert!(!is_heif(b"\0\0\0\x18ftypisom\0\0\0\0"));
        assert!(!is_heif(b"\xFF\xD8\xFF\xE0"));
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
