//! `POST /api/v1/chats/{id}/attachments` (contract §12): a participant of an open chat uploads one
//! file as the raw body. In order: who may upload (the chat actor says; an ended chat is 409),
//! a place among `limits.max_concurrent_uploads` (503 with `Retry-After` otherwise), the declared
//! type against `limits.attachment_types` (415), `Content-Length` against
//! `limits.max_attachment_bytes` (413 before a byte is read), then the body, streamed to the
//! store writer in chunks of `CHUNK_BYTES` (at most two held in memory; 413 the moment the total
//! passes the limit), its leading bytes against the declared type (415), and last the file's
//! row, whose commit makes it exist (201 after it). Every refusal stores nothing: chunks already
//! written are deleted by the writer.

use actix_web::http::header::{self, ContentDisposition};
use actix_web::{HttpRequest, HttpResponse, post, web};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use actix::Addr;

use crate::actors::chat::{AttachmentStored, MayAttach};
use crate::actors::store_writer::{
    DiscardUpload, StoreAttachment, StoreChunk, StoreWriter, committed,
};
use crate::attachments::{Refusal, StreamCheck, clean_name, essence};
use crate::domain::{ChatId, Role};
use crate::error::{AppError, AppResult, ErrorCode, Problem};
use crate::http::caller::Caller;
use crate::protocol::Actor as ActorRef;
use crate::state::AppState;
use crate::store;
use crate::store::attachments::{AttachmentMeta, CHUNK_BYTES, NewAttachment, NewChunk};

/// `201` to an upload.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UploadedAttachment {
    /// Pass it in `send {attachments: [...]}`.
    pub attachment_id: String,
    /// The cleaned file name.
    pub name: String,
    /// The media type, as checked against the bytes.
    pub content_type: String,
    /// Bytes stored.
    pub size: i64,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
}

#[utoipa::path(
    tag = "chats",
    params(
        ("id" = String, Path, description = "The chat"),
        ("Content-Disposition" = Option<String>, Header, description = "`attachment; filename=\"shot.png\"`: the file's name (cleaned)"),
    ),
    request_body(content = Vec<u8>, description = "The file's bytes; `Content-Type` must be one of `limits.attachment_types` and match them", content_type = "application/octet-stream"),
    responses(
        (status = 201, description = "Stored", body = UploadedAttachment),
        (status = 400, description = "Empty or unreadable body", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A staff token for an analyst not in the directory", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such chat, or the caller is not its participant", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The chat has ended", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than `limits.max_attachment_bytes`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Type not allowed, or not what the bytes are", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Could not be stored, or `limits.max_concurrent_uploads` uploads are in progress (then with `Retry-After`)", body = crate::error::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before trying again (when refused for too many uploads at once)"))),
    )
)]
#[post("/chats/{id}/attachments")]
pub async fn upload_attachment(
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    state: web::Data<AppState>,
    body: web::Payload,
) -> AppResult<HttpResponse> {
    let chat_id = ChatId::parse(&id).map_err(|_| AppError::not_found(format!("chat {id}")))?;
    let who = ActorRef {
        role: caller.role(),
        id: caller.id().to_string(),
        name: caller.0.name.clone(),
    };
    may_upload(&state, &who, chat_id).await.inspect_err(|e| {
        if e.code == ErrorCode::Conflict {
            crate::metrics::attachment_refused("chat_ended");
        }
    })?;
    // Held until the answer: at most `limits.max_concurrent_uploads` bodies are read at once.
    let Ok(_permit) = state.uploads.clone().try_acquire_owned() else {
        return Ok(busy(state.settings.limits.max_concurrent_uploads));
    };
    let limits = &state.settings.limits;
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(essence)
        .unwrap_or_default();
    let check = StreamCheck::new(&declared, &limits.attachment_types)
        .map_err(|refusal| refused(refusal, &declared))?;
    let mut upload = Upload {
        writer: state.writer.clone(),
        id: uuid::Uuid::now_v7().to_string(),
        chunks: 0,
        kept: false,
    };
    let (size, digest) = store_chunks(
        &req,
        body,
        limits.max_attachment_bytes,
        check,
        &declared,
        &mut upload,
    )
    .await?;
    let name = clean_name(file_name(&req).as_deref());
    let meta = AttachmentMeta {
        id: upload.id.clone(),
        chat_id: chat_id.to_string(),
        uploader_role: who.role.as_str().to_string(),
        uploader_id: who.id.clone(),
        name,
        content_type: declared,
        size,
        sha256: hex(&digest),
        message_seq: None,
    };
    let file = NewAttachment {
        id: meta.id.clone(),
        chat_id: meta.chat_id.clone(),
        uploader_role: meta.uploader_role.clone(),
        uploader_id: meta.uploader_id.clone(),
        name: meta.name.clone(),
        content_type: meta.content_type.clone(),
        sha256: meta.sha256.clone(),
        size,
        created_at: chrono::Utc::now(),
    };
    let stored = committed(&state.writer, StoreAttachment(file)).await?;
    // Committed or refused, the writer has settled the chunks' fate (kept, or deleted with the
    // refusal); only a failed commit leaves them to be discarded.
    upload.kept = true;
    if !stored {
        crate::metrics::attachment_refused("chat_ended");
        return Err(AppError::conflict("the chat has ended"));
    }
    // Told before the 201 leaves, so a `send` naming it reaches the chat after this.
    if let Some(chat) = state.directory.get(&chat_id) {
        chat.do_send(AttachmentStored(meta.clone()));
    }
    Ok(HttpResponse::Created().json(UploadedAttachment {
        attachment_id: meta.id,
        name: meta.name,
        content_type: meta.content_type,
        size: meta.size,
        sha256: meta.sha256,
    }))
}

/// `Retry-After` on a refusal for too many uploads at once, in seconds.
const BUSY_RETRY_AFTER_SECS: u32 = 1;

/// 503 `unavailable` with `Retry-After`: this node is reading as many uploads as it may.
fn busy(cap: usize) -> HttpResponse {
    crate::metrics::attachment_refused("busy");
    let err = AppError::new(
        ErrorCode::Unavailable,
        format!("{cap} uploads are in progress (limits.max_concurrent_uploads); try again shortly"),
    );
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, BUSY_RETRY_AFTER_SECS.to_string()))
        .content_type("application/problem+json")
        .json(Problem::of(&err))
}

/// An upload in progress: its id and how many chunks the writer was handed. Dropped before its
/// row was settled (refused, cut off, failed, or the client went away and actix dropped the
/// handler), it has the writer delete its chunks: handed in after them, the deletion is
/// committed after them.
struct Upload {
    writer: Addr<StoreWriter>,
    id: String,
    chunks: i32,
    kept: bool,
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.kept && self.chunks > 0 {
            self.writer.do_send(DiscardUpload(self.id.clone()));
        }
    }
}

/// A chunk handed to the writer, its commit not yet awaited.
type Pending = std::pin::Pin<Box<dyn Future<Output = AppResult<()>>>>;

/// Reads the body, checking its type and hashing it as it arrives (on the blocking pool), and hands it to the store
/// writer in chunks of `CHUNK_BYTES`: the next chunk is read while the last one commits, so an
/// upload holds at most two chunks in memory, and each chunk is a small item of the writer's
/// queue that message batches interleave with. Refused with 413 as soon as its `Content-Length`
/// or the bytes read so far pass `max`. Answers the size and SHA-256 once every chunk is
/// committed.
async fn store_chunks(
    req: &HttpRequest,
    mut body: web::Payload,
    max: usize,
    check: StreamCheck,
    declared: &str,
    upload: &mut Upload,
) -> AppResult<(i64, Vec<u8>)> {
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES);
    let mut total = 0usize;
    let mut checked = (check, Sha256::new());
    let mut pending: Option<Pending> = None;
    let mut ended = false;
    while !ended {
        match body.next().await {
            Some(piece) => {
                let piece = piece.map_err(|e| {
                    AppError::bad_request(format!("the body could not be read: {e}"))
                })?;
                total += piece.len();
                if total > max {
                    return Err(too_large(max));
                }
                buf.extend_from_slice(&piece);
                if buf.len() < CHUNK_BYTES {
                    continue;
                }
            }
            None => ended = true,
        }
        while buf.len() >= CHUNK_BYTES || (ended && !buf.is_empty()) {
            let rest = buf.split_off(buf.len().min(CHUNK_BYTES));
            let chunk = std::mem::replace(&mut buf, rest);
            // Hashing and checking a chunk is CPU work: on the blocking pool, not on the HTTP
            // worker that also serves WebSockets.
            let (state, chunk, fed) = web::block(move || {
                let (mut check, mut hasher) = checked;
                let fed = check.feed(&chunk);
                hasher.update(&chunk);
                ((check, hasher), chunk, fed)
            })
            .await
            .map_err(|_| AppError::new(ErrorCode::Internal, "the upload could not be read"))?;
            checked = state;
            fed.map_err(|refusal| refused(refusal, declared))?;
            if let Some(previous) = pending.take() {
                previous.await?;
            }
            let seq = upload.chunks;
            upload.chunks += 1;
            let store = StoreChunk(NewChunk {
                attachment_id: upload.id.clone(),
                seq,
                data: chunk,
            });
            pending = Some(Box::pin(committed(&upload.writer, store)));
        }
    }
    if let Some(previous) = pending.take() {
        previous.await?;
    }
    if total == 0 {
        return Err(AppError::bad_request("the file is empty"));
    }
    let (check, hasher) = checked;
    check
        .finish()
        .map_err(|refusal| refused(refusal, declared))?;
    Ok((
        i64::try_from(total).unwrap_or(i64::MAX),
        hasher.finalize().to_vec(),
    ))
}

/// The open chat's actor decides; a chat with no actor has ended (409 for someone who took part
/// in it, 404 for anyone else).
async fn may_upload(state: &AppState, who: &ActorRef, chat_id: ChatId) -> AppResult<()> {
    let not_found = || AppError::not_found(format!("chat {chat_id}"));
    if let Some(chat) = state.directory.get(&chat_id) {
        return chat
            .send(MayAttach { who: who.clone() })
            .await
            .map_err(|_| AppError::conflict("the chat has ended"))?;
    }
    let chat = store::chats::find(&state.db, &chat_id.to_string())
        .await?
        .ok_or_else(not_found)?;
    let took_part = match who.role {
        Role::User => chat.user_id == who.id,
        Role::Analyst | Role::Manager => chat.analyst_id.as_deref() == Some(who.id.as_str()),
        Role::Admin | Role::Service => false,
    };
    if took_part {
        Err(AppError::conflict("the chat has ended"))
    } else {
        Err(not_found())
    }
}

fn too_large(max: usize) -> AppError {
    crate::metrics::attachment_refused("too_large");
    AppError::new(
        ErrorCode::PayloadTooLarge,
        format!("a file may have at most {max} bytes"),
    )
}

fn refused(refusal: Refusal, declared: &str) -> AppError {
    crate::metrics::attachment_refused(refusal.reason());
    let shown = if declared.is_empty() {
        "no Content-Type".to_string()
    } else {
        declared.chars().take(100).collect()
    };
    let message = match refusal {
        Refusal::TypeNotAllowed => format!("{shown} is not an allowed attachment type"),
        Refusal::ContentMismatch => format!("the file's contents are not {shown}"),
    };
    AppError::new(ErrorCode::UnsupportedMediaType, message)
}

/// The `filename*` or `filename` of `Content-Disposition`, if any.
fn file_name(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::CONTENT_DISPOSITION)?;
    let disposition = ContentDisposition::from_raw(value).ok()?;
    if let Some(Ok(name)) = disposition
        .get_filename_ext()
        .map(|ext| String::from_utf8(ext.value.clone()))
    {
        return Some(name);
    }
    disposition.get_filename().map(str::to_owned)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
