//! PDF: the document rewritten without its Info dictionary (author, creator, producer, subject,
//! keywords, dates) and without any XMP `Metadata` stream or application `PieceInfo`, on the
//! catalog, pages or images; objects nothing refers to any more (earlier revisions' Info among
//! them) are left out of the rewritten file. Encrypted PDFs cannot be read to be cleaned.

use lopdf::{Document, Object};

use super::Refused;

/// Keys that carry metadata wherever a dictionary has them.
const METADATA_KEYS: [&[u8]; 2] = [b"Metadata", b"PieceInfo"];

pub fn clean(raw: &[u8]) -> Result<Vec<u8>, Refused> {
    let mut doc = Document::load_mem(raw).map_err(|e| Refused::new(format!("the PDF cannot be read: {e}")))?;
    if doc.is_encrypted() || doc.trailer.has(b"Encrypt") {
        return Err(Refused::new("an encrypted PDF cannot be cleaned of its metadata: send it without a password"));
    }
    doc.trailer.remove(b"Info");
    for object in doc.objects.values_mut() {
        let dict = match object {
            Object::Dictionary(d) => d,
            Object::Stream(s) => &mut s.dict,
            _ => continue,
        };
        for key in METADATA_KEYS {
            dict.remove(key);
        }
    }
    doc.prune_objects();
    let mut out = Vec::with_capacity(raw.len());
    doc.save_to(&mut out).map_err(|e| Refused::new(format!("the PDF cannot be written again: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{MARKERS, carries, fixture};
    use super::*;

    #[test]
    fn a_pdf_loses_its_info_and_xmp_and_keeps_its_pages() {
        let raw = fixture("report.pdf");
        assert!(carries(&raw, "HUAWEI") && carries(&raw, "xmpmeta"), "the sample carries Info and XMP");
        let cleaned = clean(&raw).unwrap();
        for m in MARKERS {
            assert!(!carries(&cleaned, m), "report.pdf still carries {m}");
        }
        assert!(!carries(&cleaned, "xmpmeta") && !carries(&cleaned, "/Author"));
        let doc = Document::load_mem(&cleaned).unwrap();
        assert_eq!(doc.get_pages().len(), 1, "the page is still there");
        assert!(doc.trailer.get(b"Info").is_err());
        let text = doc.extract_text(&[1]).unwrap();
        assert!(text.contains("Internship report"), "and its text: {text:?}");
    }
}
