//! Voice messages: MP3 without its ID3v2, ID3v1 and APE tags; WAV with only the chunks that make
//! the sound (`fmt `, `fact`, `data`: `LIST`/`INFO`, `bext` originator, `id3 `, XMP and the rest
//! dropped); Ogg Vorbis and Opus with their comment headers (vendor and every `TAG=value`)
//! overwritten in place and each page's checksum computed again.

use super::Refused;

fn unreadable(why: &str) -> Refused {
    Refused::new(format!("the file cannot be read: {why}"))
}

/// MP3: the frames without the tags around them.
pub fn clean_mp3(raw: &[u8]) -> Result<Vec<u8>, Refused> {
    let mut start = 0;
    // ID3v2 tags at the front (a file may carry more than one).
    while raw.len() >= start + 10 && &raw[start..start + 3] == b"ID3" {
        let size = syncsafe(&raw[start + 6..start + 10]).ok_or_else(|| unreadable("its ID3 tag's size is broken"))?;
        let footer = if raw[start + 5] & 0x10 != 0 { 10 } else { 0 };
        start = start
            .checked_add(10 + size + footer)
            .filter(|&s| s <= raw.len())
            .ok_or_else(|| unreadable("its ID3 tag runs past its end"))?;
    }
    let mut end = raw.len();
    loop {
        if end >= start + 128 && &raw[end - 128..end - 125] == b"TAG" {
            end -= 128; // ID3v1
        } else if end >= start + 32 && &raw[end - 32..end - 24] == b"APETAGEX" {
            let footer = &raw[end - 32..end];
            let size = u32::from_le_bytes(footer[12..16].try_into().expect("four bytes")) as usize;
            let header = if footer[23] & 0x80 != 0 { 32 } else { 0 };
            end = end
                .checked_sub(size + header)
                .filter(|&e| e >= start)
                .ok_or_else(|| unreadable("its APE tag runs past its start"))?;
        } else {
            break;
        }
    }
    let frames = &raw[start..end];
    if frames.len() < 2 || frames[0] != 0xFF || frames[1] & 0xE0 != 0xE0 {
        return Err(unreadable("no MPEG audio follows its tags"));
    }
    Ok(frames.to_vec())
}

fn syncsafe(b: &[u8]) -> Option<usize> {
    b.iter().try_fold(0usize, |n, &x| (x < 0x80).then_some((n << 7) | x as usize))
}

/// The RIFF chunks a WAV plays from; the rest is metadata.
const WAV_KEEPS: [&[u8; 4]; 3] = [b"fmt ", b"fact", b"data"];

/// WAV: a RIFF file again from the chunks that carry the sound.
pub fn clean_wav(raw: &[u8]) -> Result<Vec<u8>, Refused> {
    if raw.len() < 12 || &raw[..4] != b"RIFF" || &raw[8..12] != b"WAVE" {
        return Err(unreadable("it is not a RIFF WAVE file"));
    }
    let declared = u32::from_le_bytes(raw[4..8].try_into().expect("four bytes")) as usize;
    let end = raw.len().min(declared.saturating_add(8));
    let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
    let mut at = 12;
    let mut has_data = false;
    while at + 8 <= end {
        let id: &[u8; 4] = raw[at..at + 4].try_into().expect("four bytes");
        let size = u32::from_le_bytes(raw[at + 4..at + 8].try_into().expect("four bytes")) as usize;
        let body_end = at + 8 + size;
        if body_end > end {
            // A recorder cut off mid-write leaves the data chunk short: keep what is there.
            if id == b"data" {
                out.extend(b"data");
                out.extend(((end - at - 8) as u32).to_le_bytes());
                out.extend(&raw[at + 8..end]);
                has_data = true;
                break;
            }
            return Err(unreadable("a chunk runs past its end"));
        }
        if WAV_KEEPS.contains(&id) {
            out.extend(&raw[at..body_end]);
            if size % 2 == 1 {
                out.push(0);
            }
            has_data |= id == b"data";
        }
        at = body_end + size % 2;
    }
    if !has_data {
        return Err(unreadable("it holds no sound"));
    }
    let riff = u32::try_from(out.len() - 8).map_err(|_| unreadable("it is too large"))?;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    Ok(out)
}

/// One Ogg page as found in the file.
struct Page {
    start: usize,
    end: usize,
    serial: u32,
    continued: bool,
    /// Each segment's place in the file and whether it ends its packet.
    segments: Vec<(usize, usize, bool)>,
}

fn pages(raw: &[u8]) -> Result<Vec<Page>, Refused> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < raw.len() {
        if raw.len() < at + 27 || &raw[at..at + 4] != b"OggS" {
            return Err(unreadable("an Ogg page is broken"));
        }
        let count = raw[at + 26] as usize;
        let lacing = raw.get(at + 27..at + 27 + count).ok_or_else(|| unreadable("an Ogg page is cut short"))?;
        let mut data = at + 27 + count;
        let mut segments = Vec::with_capacity(count);
        for &len in lacing {
            segments.push((data, data + len as usize, len < 255));
            data += len as usize;
        }
        if data > raw.len() {
            return Err(unreadable("an Ogg page is cut short"));
        }
        let serial = u32::from_le_bytes(raw[at + 14..at + 18].try_into().expect("four bytes"));
        found.push(Page { start: at, end: data, serial, continued: raw[at + 5] & 1 != 0, segments });
        at = data;
    }
    Ok(found)
}

/// A packet as the file places it: its bytes may span segments and pages.
#[derive(Default, Clone)]
struct Packet(Vec<std::ops::Range<usize>>);

impl Packet {
    fn len(&self) -> usize {
        self.0.iter().map(|r| r.len()).sum()
    }
    /// Where byte `i` of the packet lies in the file.
    fn at(&self, mut i: usize) -> Option<usize> {
        for r in &self.0 {
            if i < r.len() {
                return Some(r.start + i);
            }
            i -= r.len();
        }
        None
    }
    fn read(&self, raw: &[u8], from: usize, n: usize) -> Option<Vec<u8>> {
        (from..from + n).map(|i| self.at(i).map(|p| raw[p])).collect()
    }
    fn u32(&self, raw: &[u8], from: usize) -> Option<usize> {
        self.read(raw, from, 4).map(|b| u32::from_le_bytes(b.try_into().expect("four bytes")) as usize)
    }
}

/// Ogg Vorbis or Opus: each stream's comment header overwritten, the checksums made again.
pub fn clean_ogg(raw: &[u8]) -> Result<Vec<u8>, Refused> {
    let pages = pages(raw)?;
    // The first two packets of each logical stream: identification, then comments.
    let mut streams: Vec<(u32, Vec<Packet>, Packet)> = Vec::new();
    for page in &pages {
        let i = match streams.iter().position(|s| s.0 == page.serial) {
            Some(i) => i,
            None => {
                streams.push((page.serial, Vec::new(), Packet::default()));
                streams.len() - 1
            }
        };
        let (_, done, partial) = &mut streams[i];
        if !page.continued {
            partial.0.clear();
        }
        for &(from, to, ends) in &page.segments {
            if done.len() >= 2 {
                break;
            }
            partial.0.push(from..to);
            if ends {
                done.push(std::mem::take(partial));
            }
        }
    }
    let mut out = raw.to_vec();
    for (_, packets, _) in &streams {
        let [identification, comments] = packets.as_slice() else {
            return Err(unreadable("an Ogg stream lacks its headers"));
        };
        let head = identification.read(raw, 0, 8).unwrap_or_default();
        let prefix = if head.starts_with(b"\x01vorbis") {
            b"\x03vorbis".as_slice()
        } else if head == b"OpusHead" {
            b"OpusTags".as_slice()
        } else {
            return Err(Refused::new(
                "only Ogg Vorbis and Opus voice can be cleaned of metadata; send MP3, AAC or M4A",
            ));
        };
        if comments.read(raw, 0, prefix.len()).as_deref() != Some(prefix) {
            return Err(unreadable("an Ogg stream's comment header is missing"));
        }
        blank_comments(raw, &mut out, comments, prefix.len())?;
    }
    for page in &pages {
        out[page.start + 22..page.start + 26].fill(0);
        let crc = ogg_crc(&out[page.start..page.end]);
        out[page.start + 22..page.start + 26].copy_from_slice(&crc.to_le_bytes());
    }
    Ok(out)
}

/// The vendor string and each comment become underscores (`_=___`), lengths kept.
fn blank_comments(raw: &[u8], out: &mut [u8], packet: &Packet, from: usize) -> Result<(), Refused> {
    let broken = || unreadable("an Ogg comment header is broken");
    let mut write = |start: usize, len: usize, comment: bool| -> Result<(), Refused> {
        for i in 0..len {
            let p = packet.at(start + i).ok_or_else(broken)?;
            out[p] = if comment && i == 1 { b'=' } else { b'_' };
        }
        Ok(())
    };
    let vendor = packet.u32(raw, from).ok_or_else(broken)?;
    write(from + 4, vendor, false)?;
    let mut at = from + 4 + vendor;
    let count = packet.u32(raw, at).ok_or_else(broken)?;
    at += 4;
    for _ in 0..count {
        let len = packet.u32(raw, at).ok_or_else(broken)?;
        if at + 4 + len > packet.len() {
            return Err(broken());
        }
        write(at + 4, len, true)?;
        at += 4 + len;
    }
    Ok(())
}

/// Ogg's page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, starting at 0.
fn ogg_crc(page: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        std::array::from_fn(|i| {
            (0..8).fold((i as u32) << 24, |r, _| if r & 0x8000_0000 != 0 { (r << 1) ^ 0x04C1_1DB7 } else { r << 1 })
        })
    });
    page.iter().fold(0u32, |crc, &b| (crc << 8) ^ table[((crc >> 24) as u8 ^ b) as usize])
}

#[cfg(test)]
mod tests {
    use super::super::{MARKERS, carries, fixture};
    use super::*;

    fn assert_clean(name: &str, cleaned: &[u8]) {
        for m in MARKERS {
            assert!(!carries(cleaned, m), "{name} still carries {m}");
        }
    }

    #[test]
    fn mp3_loses_its_id3_tags_and_keeps_its_frames() {
        let raw = fixture("voice.mp3");
        assert!(carries(&raw, "HUAWEI") && raw.starts_with(b"ID3") && carries(&raw[raw.len() - 128..], "TAG"));
        let cleaned = clean_mp3(&raw).unwrap();
        assert_clean("voice.mp3", &cleaned);
        assert_eq!((cleaned[0], cleaned[1] & 0xE0), (0xFF, 0xE0), "starts at a frame");
        let at = raw.windows(cleaned.len()).position(|w| w == cleaned.as_slice());
        assert!(at.is_some(), "the frames are the original's, untouched");
        assert_eq!(clean_mp3(&cleaned).unwrap(), cleaned);
        assert!(clean_mp3(b"ID3\x03\0\0\x7f\x7f\x7f\x7f").is_err(), "a tag longer than the file");
    }

    #[test]
    fn wav_keeps_only_the_chunks_that_play() {
        let raw = fixture("voice.wav");
        assert!(carries(&raw, "LIST") && carries(&raw, "bext") && carries(&raw, "HUAWEI"));
        let cleaned = clean_wav(&raw).unwrap();
        assert_clean("voice.wav", &cleaned);
        assert!(!carries(&cleaned, "LIST") && !carries(&cleaned, "bext"));
        let declared = u32::from_le_bytes(cleaned[4..8].try_into().unwrap()) as usize;
        assert_eq!(declared + 8, cleaned.len(), "the RIFF size is the new one");
        let data = |b: &[u8]| b.windows(4).position(|w| w == b"data").map(|p| b[p..].to_vec()).unwrap();
        assert_eq!(data(&cleaned), data(&raw), "the sound is the original's");
        assert_eq!(clean_wav(&cleaned).unwrap(), cleaned);
    }

    #[test]
    fn ogg_vorbis_and_opus_comments_are_overwritten_with_valid_checksums() {
        for name in ["voice.opus.ogg", "voice.vorbis.ogg"] {
            let raw = fixture(name);
            assert!(carries(&raw, "39.9042") && carries(&raw, "Lavf"), "{name} carries comments");
            // Every page's checksum in the original verifies with our CRC, so ours is Ogg's.
            for page in pages(&raw).unwrap() {
                let mut p = raw[page.start..page.end].to_vec();
                let stored = u32::from_le_bytes(p[22..26].try_into().unwrap());
                p[22..26].fill(0);
                assert_eq!(ogg_crc(&p), stored, "{name}: a page's checksum");
            }
            let cleaned = clean_ogg(&raw).unwrap();
            assert_clean(name, &cleaned);
            assert!(!carries(&cleaned, "Lavf") && !carries(&cleaned, "ARTIST"), "{name}: vendor and tags gone");
            assert_eq!(cleaned.len(), raw.len());
            for page in pages(&cleaned).unwrap() {
                let mut p = cleaned[page.start..page.end].to_vec();
                let stored = u32::from_le_bytes(p[22..26].try_into().unwrap());
                p[22..26].fill(0);
                assert_eq!(ogg_crc(&p), stored, "{name}: checksums made again");
            }
            let (last_raw, last_clean) = (pages(&raw).unwrap(), pages(&cleaned).unwrap());
            let audio = |b: &[u8], p: &[Page]| b[p[2].start + 27..].to_vec();
            assert_eq!(audio(&cleaned, &last_clean)[..], audio(&raw, &last_raw)[..], "{name}: audio pages' data");
        }
        assert!(clean_ogg(b"OggS\0\x02").is_err());
    }
}
