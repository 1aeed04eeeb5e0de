//! Stored files: a local folder on the embedded default, any `object_store` backend (S3-compatible
//! in production) behind the same calls; and the cleaning every uploaded image goes through.

use std::io::Cursor;
use std::sync::Arc;

use bytes::Bytes;
use image::{ImageFormat, ImageReader, Limits};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::{AppError, AppResult, ErrorCode};

/// Largest width or height accepted; bigger ones are refused before decoding (no pixel bombs).
pub const MAX_IMAGE_SIDE: u32 = 8192;

#[derive(Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
}

impl FileStore {
    /// The local folder `<data_dir>/files`, created if missing.
    pub fn local(root: &std::path::Path) -> AppResult<Self> {
        std::fs::create_dir_all(root).map_err(AppError::internal)?;
        let fs = LocalFileSystem::new_with_prefix(root).map_err(AppError::internal)?;
        Ok(Self { store: Arc::new(fs) })
    }

    /// The store `[files]` names: the local folder under `data_dir`, or the S3-compatible bucket.
    pub fn from_config(config: &crate::config::Config) -> AppResult<Self> {
        let files = &config.files;
        match files.store {
            crate::config::FileStoreKind::Local => Self::local(&config.data_dir.join("files")),
            crate::config::FileStoreKind::S3 => {
                let text = |v: &Option<String>| v.clone().unwrap_or_default();
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(text(&files.s3_bucket))
                    .with_region(&files.s3_region)
                    .with_access_key_id(text(&files.s3_access_key_id))
                    .with_secret_access_key(text(&files.s3_secret_access_key))
                    .with_virtual_hosted_style_request(files.s3_virtual_hosted_style)
                    .with_retry(object_store::RetryConfig {
                        max_retries: 3,
                        retry_timeout: std::time::Duration::from_secs(30),
                        ..Default::default()
                    });
                if let Some(endpoint) = &files.s3_endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                let store = builder.build().map_err(AppError::internal)?;
                tracing::info!(bucket = text(&files.s3_bucket), "files are kept in an S3-compatible store");
                Ok(Self { store: Arc::new(store) })
            }
        }
    }

    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> AppResult<()> {
        self.store.put(&StorePath::from(key), PutPayload::from(bytes)).await.map_err(AppError::internal)?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> AppResult<Bytes> {
        let found = self.store.get(&StorePath::from(key)).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => AppError::not_found("file"),
            e => AppError::internal(e),
        })?;
        found.bytes().await.map_err(AppError::internal)
    }

    /// Puts the bytes, then runs `record` (the row that points at them); if recording fails the
    /// bytes are deleted again, so the store and the tables stay in step: no orphaned bytes.
    pub async fn put_recorded<T>(
        &self,
        key: &str,
        bytes: Bytes,
        record: impl std::future::Future<Output = AppResult<T>>,
    ) -> AppResult<T> {
        self.put(key, bytes).await?;
        match record.await {
            Ok(t) => Ok(t),
            Err(e) => {
                if let Err(cleanup) = self.delete(key).await {
                    tracing::warn!(error = ?cleanup, key, "orphaned file bytes left after a failed insert");
                }
                Err(e)
            }
        }
    }

    pub async fn delete(&self, key: &str) -> AppResult<()> {
        match self.store.delete(&StorePath::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(AppError::internal(e)),
        }
    }
}

/// An image after cleaning: re-encoded from its pixels, so nothing else survives.
#[derive(Debug)]
pub struct CleanImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
}

/// Why bytes did not decode as an image this server takes.
enum Undecodable {
    /// Not JPEG, PNG or WebP by its content.
    Unsupported,
    /// One of them, but broken or over the size limits.
    Unreadable(String),
}

/// JPEG, PNG or WebP recognised by content (not the declared type), decoded within the limits.
fn decode(raw: &[u8]) -> Result<(ImageFormat, image::DynamicImage), Undecodable> {
    let format = image::guess_format(raw).map_err(|_| Undecodable::Unsupported)?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP) {
        return Err(Undecodable::Unsupported);
    }
    let mut reader = ImageReader::with_format(Cursor::new(raw), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let pixels = reader.decode().map_err(|e| Undecodable::Unreadable(e.to_string()))?;
    Ok((format, pixels))
}

/// The pixels re-encoded: a JPEG source as JPEG at `quality`, anything else as PNG.
fn encode(pixels: image::DynamicImage, source: ImageFormat, quality: u8) -> AppResult<CleanImage> {
    let (width, height) = (pixels.width(), pixels.height());
    let mut out = Cursor::new(Vec::new());
    let content_type = if source == ImageFormat::Jpeg {
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(&pixels.into_rgb8())
            .map_err(AppError::internal)?;
        "image/jpeg"
    } else {
        pixels.write_to(&mut out, ImageFormat::Png).map_err(AppError::internal)?;
        "image/png"
    };
    Ok(CleanImage { bytes: Bytes::from(out.into_inner()), content_type, width, height })
}

/// Accepts JPEG, PNG and WebP by their content (not the declared type), refuses anything else,
/// and re-encodes the pixels: EXIF (GPS position, camera make and model, time), XMP, comments
/// and text chunks are all dropped (COL-5). JPEG stays JPEG; PNG and WebP become PNG.
pub fn clean_image(raw: &[u8]) -> AppResult<CleanImage> {
    let (format, pixels) = decode(raw).map_err(|e| {
        let message = match e {
            Undecodable::Unsupported => "only JPEG, PNG and WebP images are accepted".to_owned(),
            Undecodable::Unreadable(why) => format!("the image cannot be read: {why}"),
        };
        AppError::new(ErrorCode::BadUserInput, message).with("field", "file")
    })?;
    encode(pixels, format, 90)
}

/// The widths a thumbnail may be asked for (`?w=` on a download): few, so each is made once
/// and cached, and a client cannot make the server render every size.
pub const THUMBNAIL_WIDTHS: [u32; 5] = [64, 128, 256, 512, 1024];

/// A thumbnail of a stored image, fitting `width`×`width` with its proportions kept (never
/// larger than the original). JPEG stays JPEG (quality 80); PNG stays PNG (it may be
/// transparent). Anything that is not such an image is refused with a clear code.
pub fn thumbnail(raw: &[u8], width: u32) -> AppResult<CleanImage> {
    if !THUMBNAIL_WIDTHS.contains(&width) {
        let widths: Vec<String> = THUMBNAIL_WIDTHS.iter().map(u32::to_string).collect();
        return Err(AppError::new(
            ErrorCode::BadUserInput,
            format!("a thumbnail is {} pixels wide", widths.join(", ")),
        )
        .with("field", "w"));
    }
    let (format, pixels) = decode(raw)
        .map_err(|_| AppError::new(ErrorCode::BadUserInput, "only images have thumbnails").with("field", "w"))?;
    let small = if pixels.width() > width || pixels.height() > width { pixels.thumbnail(width, width) } else { pixels };
    encode(small, format, 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thumbnail_fits_its_width_keeps_proportions_and_never_grows() {
        let t = thumbnail(&jpeg(800, 600), 128).unwrap();
        assert_eq!((t.content_type, t.width, t.height), ("image/jpeg", 128, 96));
        let decoded = image::load_from_memory(&t.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (128, 96), "the bytes are the size they claim");
        let tall = thumbnail(&jpeg(300, 900), 256).unwrap();
        assert_eq!((tall.width, tall.height), (85, 256));
        let small = thumbnail(&jpeg(40, 30), 512).unwrap();
        assert_eq!((small.width, small.height), (40, 30));
        let mut png = Cursor::new(Vec::new());
        image::RgbaImage::from_pixel(200, 100, image::Rgba([0, 0, 0, 0])).write_to(&mut png, ImageFormat::Png).unwrap();
        let p = thumbnail(png.get_ref(), 64).unwrap();
        assert_eq!((p.content_type, p.width, p.height), ("image/png", 64, 32));
        assert_eq!(thumbnail(&jpeg(800, 600), 100).unwrap_err().code(), ErrorCode::BadUserInput);
        assert_eq!(thumbnail(b"%PDF-1.7", 128).unwrap_err().code(), ErrorCode::BadUserInput);
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&img).unwrap();
        out.into_inner()
    }

    /// Inserts an APP1 EXIF segment (with a camera make and a GPS marker) after SOI.
    fn with_exif(jpeg: &[u8]) -> Vec<u8> {
        let payload = b"Exif\0\0MM\0*HUAWEI Mate 70 GPSLatitude 39.9042N GPSLongitude 116.4074E";
        let mut out = jpeg[..2].to_vec();
        out.extend([0xFF, 0xE1]);
        out.extend(((payload.len() + 2) as u16).to_be_bytes());
        out.extend(payload);
        out.extend(&jpeg[2..]);
        out
    }

    #[test]
    fn metadata_does_not_survive_cleaning() {
        let dirty = with_exif(&jpeg(40, 30));
        assert!(dirty.windows(6).any(|w| w == b"HUAWEI"));
        let clean = clean_image(&dirty).unwrap();
        assert_eq!((clean.content_type, clean.width, clean.height), ("image/jpeg", 40, 30));
        for marker in [&b"Exif"[..], b"HUAWEI", b"GPS"] {
            assert!(!clean.bytes.windows(marker.len()).any(|w| w == marker), "{}", String::from_utf8_lossy(marker));
        }
    }

    #[test]
    fn non_images_and_other_formats_are_refused() {
        assert_eq!(clean_image(b"%PDF-1.7 not an image").unwrap_err().code(), ErrorCode::BadUserInput);
        assert_eq!(clean_image(b"GIF89a\x01\x00\x01\x00").unwrap_err().code(), ErrorCode::BadUserInput);
        let mut broken = jpeg(10, 10);
        broken.truncate(broken.len() / 3);
        assert!(clean_image(&broken).is_err());
    }
}
