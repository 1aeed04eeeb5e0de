//! ZIP archives, Office Open XML files (.docx, .xlsx, .pptx) among them: rewritten entry by entry
//! with fixed times and no comments or extra fields (which carry owners and times), the document
//! properties (`docProps/core.xml` author and editor, `app.xml` company and manager, `custom.xml`)
//! replaced by empty ones of the same part, and every JPEG or PNG inside (photos pasted into a
//! document keep their EXIF position) re-encoded from its pixels. Encrypted entries, and archives
//! that would unpack past the limits (a ZIP bomb), are refused.

use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::Refused;
use crate::files::clean_image;

/// At most this many entries, and this many bytes once unpacked.
const MAX_ENTRIES: usize = 10_000;
const MAX_UNPACKED: u64 = 256 * 1024 * 1024;

/// The properties parts, each replaced by the same part with nothing in it.
const PROPERTIES: [(&str, &str); 3] = [
    (
        "docProps/core.xml",
        r#"<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>"#,
    ),
    (
        "docProps/app.xml",
        r#"<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"/>"#,
    ),
    (
        "docProps/custom.xml",
        r#"<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties"/>"#,
    ),
];

pub fn clean(raw: &[u8]) -> Result<Vec<u8>, Refused> {
    let unreadable = |e: zip::result::ZipError| Refused::new(format!("the archive cannot be read: {e}"));
    let mut archive = ZipArchive::new(Cursor::new(raw)).map_err(unreadable)?;
    if archive.len() > MAX_ENTRIES {
        return Err(Refused::new(format!("an archive may hold at most {MAX_ENTRIES} files")));
    }
    let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(raw.len())));
    let mut unpacked = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(zip::result::ZipError::PASSWORD_REQUIRED) => {
                Refused::new("an archive with encrypted files cannot be cleaned: send it without a password")
            }
            e => unreadable(e),
        })?;
        let name = entry.name().map_err(unreadable)?.into_owned();
        let options = SimpleFileOptions::default()
            .compression_method(if entry.compression() == CompressionMethod::Stored {
                CompressionMethod::Stored
            } else {
                CompressionMethod::Deflated
            })
            .large_file(entry.size() >= u64::from(u32::MAX));
        if entry.is_dir() {
            out.add_directory(name, options).map_err(unreadable)?;
            continue;
        }
        let mut bytes = Vec::new();
        let budget = MAX_UNPACKED - unpacked;
        (&mut entry).take(budget + 1).read_to_end(&mut bytes).map_err(|e| unreadable(e.into()))?;
        unpacked += bytes.len() as u64;
        if unpacked > MAX_UNPACKED {
            return Err(Refused::new(format!("an archive may unpack to at most {MAX_UNPACKED} bytes")));
        }
        drop(entry);
        let bytes = match PROPERTIES.iter().find(|(part, _)| *part == name) {
            Some((_, empty)) => {
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n{empty}").into_bytes()
            }
            None => cleaned_image(bytes)?,
        };
        out.start_file(name, options).map_err(unreadable)?;
        out.write_all(&bytes).map_err(|e| unreadable(e.into()))?;
    }
    Ok(out.finish().map_err(unreadable)?.into_inner())
}

/// A JPEG or PNG inside an archive, re-encoded in its own format; anything else as it was.
fn cleaned_image(bytes: Vec<u8>) -> Result<Vec<u8>, Refused> {
    let is = |magic: &[u8]| bytes.starts_with(magic);
    if !(is(&[0xFF, 0xD8, 0xFF]) || is(b"\x89PNG\r\n\x1a\n")) {
        return Ok(bytes);
    }
    clean_image(&bytes)
        .map(|c| c.bytes.to_vec())
        .map_err(|e| Refused::new(format!("a picture in the archive cannot be cleaned: {}", e.message())))
}

#[cfg(test)]
mod tests {
    use super::super::{MARKERS, carries, fixture};
    use super::*;

    fn entries(raw: &[u8]) -> Vec<(String, Vec<u8>)> {
        let mut a = ZipArchive::new(Cursor::new(raw)).unwrap();
        (0..a.len())
            .map(|i| {
                let mut e = a.by_index(i).unwrap();
                let mut b = Vec::new();
                e.read_to_end(&mut b).unwrap();
                (e.name().unwrap().into_owned(), b)
            })
            .collect()
    }

    #[test]
    fn office_files_lose_their_properties_and_their_pictures_exif() {
        for name in ["report.docx", "hours.xlsx"] {
            let raw = fixture(name);
            let before = entries(&raw);
            assert!(before.iter().any(|(_, b)| carries(b, "张三")), "{name} names its author");
            let cleaned = clean(&raw).unwrap();
            let after = entries(&cleaned);
            assert_eq!(
                after.iter().map(|e| &e.0).collect::<Vec<_>>(),
                before.iter().map(|e| &e.0).collect::<Vec<_>>(),
                "{name}: every part is still there"
            );
            for (part, bytes) in &after {
                for m in MARKERS {
                    assert!(!carries(bytes, m), "{name}: {part} still carries {m}");
                }
                let original = &before.iter().find(|e| &e.0 == part).unwrap().1;
                if !part.starts_with("docProps/") && !part.contains("media/") {
                    assert_eq!(bytes, original, "{name}: {part} is unchanged");
                }
            }
        }
        let photo = fixture("photo.jpg");
        assert!(carries(&photo, "HUAWEI"), "the photo pasted into report.docx carries EXIF");
    }

    #[test]
    fn encrypted_and_broken_archives_are_refused() {
        assert!(clean(b"PK\x03\x04 not really").is_err());
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file("a.txt", SimpleFileOptions::default()).unwrap();
        w.write_all(b"hello").unwrap();
        let mut raw = w.finish().unwrap().into_inner();
        // Marked encrypted (general purpose bit 0) in its local and central headers.
        let local = raw.windows(4).position(|w| w == b"PK\x03\x04").unwrap();
        let central = raw.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        raw[local + 6] |= 1;
        raw[central + 8] |= 1;
        let why = clean(&raw).unwrap_err().0;
        assert!(why.contains("encrypted"), "{why}");
    }
}
