//! Attachment helpers for tests (contract §12): sample files whose leading bytes are what they
//! claim (or deliberately are not), a raw upload with any headers, a chunked upload without
//! `Content-Length`, and a download that keeps the headers.

use awc::Client;
use bytes::Bytes;
use serde_json::Value;

use super::TestApp;

/// A PNG signature and IHDR chunk followed by `len` bytes of noise: `infer` sees a PNG.
pub fn png(len: usize) -> Vec<u8> {
    let mut data =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let mut x: u32 = 0x1234_5678;
    data.extend((0..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x >> 24) as u8
    }));
    data
}

/// An 8×8 red PNG a browser can draw.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x08, 0x06, 0x00, 0x00, 0x00, 0xc4, 0x0f, 0xbe,
    0x8b, 0x00, 0x00, 0x00, 0x12, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x38, 0x21, 0x27, 0xf7,
    0x1f, 0x1f, 0x66, 0x18, 0x19, 0x0a, 0x00, 0x53, 0x46, 0x80, 0xc1, 0xd4, 0x9f, 0xa6, 0xf6, 0x00,
    0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// An SVG that would run a script if a browser rendered it.
pub const SVG_WITH_SCRIPT: &[u8] =
    b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(document.cookie)</script></svg>";

/// The start of a Windows executable (an `MZ` header with a PE offset).
pub fn exe() -> Vec<u8> {
    let mut data = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    data.resize(512, 0);
    data
}

/// A download: status, headers of interest, bytes.
pub struct Download {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Bytes,
}

impl Download {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }
}

/// `attachment; filename="…"`, or RFC 8187's `filename*=UTF-8''…` when the name has bytes a
/// quoted header value cannot carry.
fn disposition(filename: &str) -> String {
    if filename.chars().all(|c| c.is_ascii_graphic() || c == ' ') && !filename.contains('"') {
        return format!("attachment; filename=\"{filename}\"");
    }
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename*=UTF-8''{encoded}")
}

impl TestApp {
    /// `POST /chats/{chat}/attachments` with `content_type` and a `filename`; status and JSON.
    pub async fn upload(
        &self,
        token: &str,
        chat: &str,
        content_type: &str,
        filename: &str,
        data: Vec<u8>,
    ) -> (u16, Value) {
        let mut res = Client::default()
            .post(format!("{}/api/v1/chats/{chat}/attachments", self.base))
            .bearer_auth(token)
            .insert_header(("content-type", content_type))
            .insert_header(("content-disposition", disposition(filename)))
            .send_body(data)
            .await
            .unwrap();
        let body = res.body().limit(1 << 20).await.unwrap();
        (
            res.status().as_u16(),
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    /// The same upload sent chunked, without `Content-Length`, in 64 KiB pieces.
    pub async fn upload_chunked(
        &self,
        token: &str,
        chat: &str,
        content_type: &str,
        data: Vec<u8>,
    ) -> (u16, Value) {
        let chunks: Vec<Result<Bytes, std::io::Error>> = data
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let mut res = Client::default()
            .post(format!("{}/api/v1/chats/{chat}/attachments", self.base))
            .bearer_auth(token)
            .insert_header(("content-type", content_type))
            .send_stream(futures_util::stream::iter(chunks))
            .await
            .unwrap();
        let body = res.body().limit(1 << 20).await.unwrap();
        (
            res.status().as_u16(),
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    /// `GET` an attachment path (`/api/v1/attachments/{id}`, maybe `?ticket=`).
    pub async fn download(&self, path: &str, token: Option<&str>) -> Download {
        let mut req = Client::default().get(format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let mut res = req.send().await.unwrap();
        let body = res.body().limit(64 << 20).await.unwrap();
        Download {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body,
        }
    }

    /// How many attachment rows the database holds.
    pub async fn attachment_rows(&self) -> Vec<entities::attachments::Model> {
        use sea_orm::{EntityTrait, QueryOrder};
        entities::attachments::Entity::find()
            .order_by_asc(entities::attachments::Column::CreatedAt)
            .all(&self.db)
            .await
            .unwrap()
    }

    /// The bytes the database holds for attachment `id`: its chunks joined in order.
    pub async fn stored_bytes(&self, id: &str) -> Vec<u8> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        entities::attachment_chunks::Entity::find()
            .filter(entities::attachment_chunks::Column::AttachmentId.eq(id))
            .order_by_asc(entities::attachment_chunks::Column::Seq)
            .all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .flat_map(|c| c.data)
            .collect()
    }

    /// How many attachment chunks the database holds, of any upload.
    pub async fn chunk_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        entities::attachment_chunks::Entity::find()
            .count(&self.db)
            .await
            .unwrap()
    }
}
