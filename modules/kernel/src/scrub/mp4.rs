//! MP4 and QuickTime (video, M4A voice). Only the boxes that make the media are kept as they
//! are; every other box — `udta` and `meta` (Android's `©xyz` position, Apple's
//! `com.apple.quicktime.location.ISO6709`, make, model, author, iTunes-style tags), XMP in `uuid`,
//! Windows' `Xtra`, and whatever a vendor invents next — becomes a `free` box of the same size
//! with zeroed contents, so every chunk offset still points where it did. Creation and
//! modification times in `mvhd`, `tkhd` and `mdhd` are zeroed, and the samples of timed-metadata
//! tracks (handler `meta`: GoPro and DJI telemetry, Apple's `mebx` position) are zeroed in `mdat`.

use std::ops::Range;

use super::Refused;

/// Boxes that hold only boxes, walked for what they hold.
const CONTAINERS: [&[u8; 4]; 11] =
    [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"mvex", b"moof", b"traf", b"mfra"];
/// The other boxes that make the media (ISO/IEC 14496-12 and QuickTime's): kept. Anything not
/// here or in `CONTAINERS` is blanked.
const MEDIA: [&[u8; 4]; 49] = [
    // The file's top level.
    b"ftyp", b"mdat", b"free", b"skip", b"wide", b"styp", b"sidx", b"pdin",
    // Movie, track and media headers, references, QuickTime's apertures.
    b"mvhd", b"iods", b"tkhd", b"tref", b"tapt", b"load", b"elst", b"mdhd", b"hdlr",
    // Media information headers and data references.
    b"vmhd", b"smhd", b"hmhd", b"nmhd", b"sthd", b"gmhd", b"dref", // Sample tables.
    b"stsd", b"stts", b"ctts", b"cslg", b"stsc", b"stsz", b"stz2", b"stco", b"co64", b"stss", b"stps", b"sdtp",
    b"sbgp", b"sgpd", b"subs", b"saiz", b"saio", // Fragments and their random access.
    b"mehd", b"trex", b"mfhd", b"tfhd", b"tfdt", b"trun", b"tfra", b"mfro",
];
/// Full boxes that start with a creation and a modification time.
const TIMED: [&[u8; 4]; 3] = [b"mvhd", b"tkhd", b"mdhd"];
const MAX_DEPTH: usize = 12;

#[derive(Debug, Clone)]
struct Atom {
    kind: [u8; 4],
    /// The whole box, header included.
    range: Range<usize>,
    /// What follows the header.
    body: Range<usize>,
}

/// The boxes laid end to end in `range` of `buf`.
fn atoms(buf: &[u8], range: Range<usize>) -> Result<Vec<Atom>, Refused> {
    let mut found = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let left = range.end - at;
        if left < 8 {
            return Err(Refused::new("the file cannot be read: a box is cut short"));
        }
        let kind: [u8; 4] = buf[at + 4..at + 8].try_into().expect("four bytes");
        let (header, size) = match u32::from_be_bytes(buf[at..at + 4].try_into().expect("four bytes")) {
            0 => (8, left),
            1 if left >= 16 => {
                let large = u64::from_be_bytes(buf[at + 8..at + 16].try_into().expect("eight bytes"));
                (16, usize::try_from(large).unwrap_or(usize::MAX))
            }
            1 => return Err(Refused::new("the file cannot be read: a box is cut short")),
            n => (8, n as usize),
        };
        if size < header || size > left {
            let name = String::from_utf8_lossy(&kind).into_owned();
            return Err(Refused::new(format!("the file cannot be read: its {name} box runs past its end")));
        }
        found.push(Atom { kind, range: at..at + size, body: at + header..at + size });
        at += size;
    }
    Ok(found)
}

fn child<'a>(found: &'a [Atom], kind: &[u8; 4]) -> Option<&'a Atom> {
    found.iter().find(|a| &a.kind == kind)
}

/// The cleaned copy of an MP4 or QuickTime file.
pub fn clean(raw: &[u8]) -> Result<Vec<u8>, Refused> {
    let top = atoms(raw, 0..raw.len())?;
    if top.first().map(|a| &a.kind) != Some(b"ftyp") {
        return Err(Refused::new("the file cannot be read: it does not start with its ftyp box"));
    }
    let mut out = raw.to_vec();
    let mut zeroed = Vec::new();
    walk(raw, &top, &mut out, &mut zeroed, 0)?;
    for range in zeroed {
        out[range].fill(0);
    }
    Ok(out)
}

fn walk(
    raw: &[u8],
    found: &[Atom],
    out: &mut [u8],
    zeroed: &mut Vec<Range<usize>>,
    depth: usize,
) -> Result<(), Refused> {
    if depth > MAX_DEPTH {
        return Err(Refused::new("the file cannot be read: its boxes nest too deep"));
    }
    for atom in found {
        let kind = &atom.kind;
        if CONTAINERS.contains(&kind) {
            let inner = atoms(raw, atom.body.clone())?;
            if kind == b"trak" {
                zeroed.extend(metadata_samples(raw, &inner)?);
            }
            walk(raw, &inner, out, zeroed, depth + 1)?;
        } else if !MEDIA.contains(&kind) {
            out[atom.range.start + 4..atom.range.start + 8].copy_from_slice(b"free");
            zeroed.push(atom.body.clone());
        } else if TIMED.contains(&kind) {
            let times = match raw.get(atom.body.start) {
                Some(0) => 4..12,
                Some(1) => 4..20,
                _ => continue,
            };
            if atom.body.len() >= times.end {
                zeroed.push(atom.body.start + times.start..atom.body.start + times.end);
            }
        }
    }
    Ok(())
}

/// Where a timed-metadata track's samples lie in the file (empty for any other track).
fn metadata_samples(raw: &[u8], trak: &[Atom]) -> Result<Vec<Range<usize>>, Refused> {
    let unreadable = || Refused::new("the file cannot be read: a metadata track's sample tables are broken");
    let Some(mdia) = child(trak, b"mdia") else { return Ok(Vec::new()) };
    let mdia = atoms(raw, mdia.body.clone())?;
    let handler = child(&mdia, b"hdlr").and_then(|h| raw.get(h.body.start + 8..h.body.start + 12));
    if handler != Some(b"meta".as_slice()) {
        return Ok(Vec::new());
    }
    let minf = child(&mdia, b"minf").ok_or_else(unreadable)?;
    let minf = atoms(raw, minf.body.clone())?;
    let stbl = child(&minf, b"stbl").ok_or_else(unreadable)?;
    let stbl = atoms(raw, stbl.body.clone())?;
    let table = |kind: &[u8; 4]| child(&stbl, kind).map(|a| &raw[a.body.clone()]);
    let u32_at = |b: &[u8], i: usize| b.get(i..i + 4).map(|s| u32::from_be_bytes(s.try_into().expect("four")));
    let u64_at = |b: &[u8], i: usize| b.get(i..i + 8).map(|s| u64::from_be_bytes(s.try_into().expect("eight")));

    // Chunk offsets (stco, or co64 for large files).
    let chunks: Vec<u64> = if let Some(stco) = table(b"stco") {
        let n = u32_at(stco, 4).ok_or_else(unreadable)? as usize;
        (0..n).map(|i| u32_at(stco, 8 + 4 * i).map(u64::from)).collect::<Option<_>>().ok_or_else(unreadable)?
    } else if let Some(co64) = table(b"co64") {
        let n = u32_at(co64, 4).ok_or_else(unreadable)? as usize;
        (0..n).map(|i| u64_at(co64, 8 + 8 * i)).collect::<Option<_>>().ok_or_else(unreadable)?
    } else {
        return Err(unreadable());
    };
    // Sample sizes: one for all, or one each.
    let stsz = table(b"stsz").ok_or_else(unreadable)?;
    let (uniform, count) = (u32_at(stsz, 4).ok_or_else(unreadable)?, u32_at(stsz, 8).ok_or_else(unreadable)? as usize);
    let size = |i: usize| if uniform != 0 { Some(uniform) } else { u32_at(stsz, 12 + 4 * i) };
    // Samples per chunk, as runs starting at a (1-based) chunk.
    let stsc = table(b"stsc").ok_or_else(unreadable)?;
    let runs = u32_at(stsc, 4).ok_or_else(unreadable)? as usize;
    let runs: Vec<(usize, u32)> = (0..runs)
        .map(|i| Some((u32_at(stsc, 8 + 12 * i)? as usize, u32_at(stsc, 12 + 12 * i)?)))
        .collect::<Option<_>>()
        .ok_or_else(unreadable)?;

    let mut ranges = Vec::new();
    let mut sample = 0usize;
    for (index, &offset) in chunks.iter().enumerate() {
        let per_chunk = runs.iter().rev().find(|(first, _)| *first <= index + 1).map_or(0, |r| r.1);
        let mut at = usize::try_from(offset).map_err(|_| unreadable())?;
        for _ in 0..per_chunk {
            if sample >= count {
                break;
            }
            let len = size(sample).ok_or_else(unreadable)? as usize;
            let end = at.checked_add(len).filter(|&e| e <= raw.len()).ok_or_else(unreadable)?;
            ranges.push(at..end);
            at = end;
            sample += 1;
        }
    }
    Ok(ranges)
}

/// How many boxes of `kind` the file holds at any depth of its containers (the tests' check).
pub fn boxes_named(raw: &[u8], kind: &[u8; 4]) -> Result<usize, String> {
    fn count(raw: &[u8], range: Range<usize>, kind: &[u8; 4], depth: usize) -> Result<usize, String> {
        let mut n = 0;
        for atom in atoms(raw, range).map_err(|r| r.0)? {
            n += usize::from(&atom.kind == kind);
            if depth < MAX_DEPTH && CONTAINERS.contains(&&atom.kind) {
                n += count(raw, atom.body.clone(), kind, depth + 1)?;
            }
        }
        Ok(n)
    }
    count(raw, 0..raw.len(), kind, 0)
}

#[cfg(test)]
mod tests {
    use super::super::{MARKERS, carries, fixture};
    use super::*;

    #[test]
    fn phone_videos_and_m4a_voice_lose_position_device_and_author_and_stay_playable() {
        for name in ["android.mp4", "iphone.mov", "voice.m4a"] {
            let raw = fixture(name);
            assert!(MARKERS.iter().any(|m| carries(&raw, m)), "{name} carries metadata to remove");
            assert!(boxes_named(&raw, b"udta").unwrap() + boxes_named(&raw, b"meta").unwrap() > 0);
            let cleaned = clean(&raw).unwrap();
            assert_eq!(cleaned.len(), raw.len(), "{name}: same size, so every chunk offset holds");
            for m in MARKERS {
                assert!(!carries(&cleaned, m), "{name} still carries {m}");
            }
            for kind in [b"udta", b"meta", b"loci", b"keys", b"ilst"] {
                assert_eq!(boxes_named(&cleaned, kind).unwrap(), 0, "{name} still has a {kind:?} box");
            }
            // The media itself is untouched: the same boxes but for the blanked ones, mdat intact.
            let mdat = |b: &[u8]| {
                let top = atoms(b, 0..b.len()).unwrap();
                b[child(&top, b"mdat").unwrap().range.clone()].to_vec()
            };
            assert_eq!(mdat(&cleaned), mdat(&raw), "{name}: the samples are untouched");
            assert_eq!(boxes_named(&cleaned, b"trak").unwrap(), boxes_named(&raw, b"trak").unwrap());
            assert_eq!(clean(&cleaned).unwrap(), cleaned, "{name}: cleaning twice changes nothing");
        }
    }

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend(kind);
        b.extend(body);
        b
    }

    #[test]
    fn a_timed_metadata_track_has_its_samples_zeroed() {
        // ftyp, mdat holding video bytes then two GPS samples, moov with a vide and a meta track.
        let ftyp = bx(b"ftyp", b"isom\0\0\0\0");
        let video = b"VIDEOFRAME".to_vec();
        let gps = b"GPS +39.9042+116.4074/ GPS +39.9043+116.4075/".to_vec();
        let mdat_at = ftyp.len();
        let mut payload = video.clone();
        payload.extend(&gps);
        let mdat = bx(b"mdat", &payload);
        let video_at = (mdat_at + 8) as u32;
        let gps_at = video_at + video.len() as u32;
        let track = |handler: &[u8; 4], offset: u32, sizes: &[u32]| {
            let hdlr = bx(b"hdlr", &[&[0u8; 8][..], handler, &[0; 12]].concat());
            let stco = bx(b"stco", &[&[0u8; 4][..], &1u32.to_be_bytes(), &offset.to_be_bytes()].concat());
            let mut stsz = [0u8; 4].to_vec();
            stsz.extend(0u32.to_be_bytes());
            stsz.extend((sizes.len() as u32).to_be_bytes());
            sizes.iter().for_each(|s| stsz.extend(s.to_be_bytes()));
            let stsc = [
                &[0u8; 4][..],
                &1u32.to_be_bytes(),
                &1u32.to_be_bytes(),
                &(sizes.len() as u32).to_be_bytes(),
                &1u32.to_be_bytes(),
            ]
            .concat();
            let stbl = bx(b"stbl", &[stco, bx(b"stsz", &stsz), bx(b"stsc", &stsc)].concat());
            bx(b"trak", &bx(b"mdia", &[hdlr, bx(b"minf", &stbl)].concat()))
        };
        let moov =
            bx(b"moov", &[track(b"vide", video_at, &[video.len() as u32]), track(b"meta", gps_at, &[22, 23])].concat());
        let file = [ftyp, mdat, moov].concat();
        let cleaned = clean(&file).unwrap();
        assert!(carries(&cleaned, "VIDEOFRAME"), "the video samples stay");
        assert!(!carries(&cleaned, "39.90"), "the GPS samples are zeroed");
        assert_eq!(cleaned.len(), file.len());
    }

    #[test]
    fn boxes_not_known_to_make_the_media_are_blanked() {
        let ftyp = bx(b"ftyp", b"isom\0\0\0\0");
        let vendor = bx(b"GPS ", b"+39.9042+116.4074/");
        let xmp = bx(b"uuid", b"\xbe\x7a\xcf\xcb XMP HUAWEI");
        let file = [ftyp, bx(b"moov", &[bx(b"mvhd", &[0u8; 100]), bx(b"trak", &vendor)].concat()), xmp].concat();
        let cleaned = clean(&file).unwrap();
        assert!(!carries(&cleaned, "39.9042") && !carries(&cleaned, "HUAWEI"));
        assert_eq!((boxes_named(&cleaned, b"mvhd"), boxes_named(&cleaned, b"free")), (Ok(1), Ok(2)));
    }

    #[test]
    fn broken_boxes_are_refused() {
        let ftyp = bx(b"ftyp", b"isom\0\0\0\0");
        let mut overlong = [ftyp.clone(), bx(b"moov", &bx(b"udta", b"x"))].concat();
        overlong[ftyp.len() + 3] = 200;
        assert!(clean(&overlong).is_err(), "a box longer than the file");
        assert!(clean(&bx(b"moov", b"")).is_err(), "no ftyp first");
        let mut deep = bx(b"udta", b"");
        for _ in 0..20 {
            deep = bx(b"trak", &deep);
        }
        assert!(clean(&[ftyp, bx(b"moov", &deep)].concat()).is_err(), "nested past the limit");
    }
}
