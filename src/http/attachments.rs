//! `POST /api/v1/chats/{id}/attachments` (contract §12): a participant of an open chat uploads one
//! file as the raw body. In order: who may upload (the chat actor says; an ended chat is 409),
//! `Content-Length` against `limits.max_attachment_bytes` (413 before a byte is read), the
//! declared type against `limits.attachment_types` (415), then the body, read into memory that
//! never grows past the limit (413 the moment it would), its leading bytes against the declared
//! type (415), and the store writer's commit (201 after it). Every refusal stores nothing.

use actix_web::http::header::{self, ContentDisposition};
use actix_web::{HttpRequest, HttpResponse, post, web};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::actors::chat::{AttachmentStored, MayAttach};
use crate::actors::store_writer::{StoreAttachment, committed};
use crate::attachments::{Refusal, check_type, clean_name, essence};
use crate::domain::{ChatId, Role};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::caller::Caller;
use crate::protocol::Actor as ActorRef;
use crate::state::AppState;
use crate::store;
use crate::store::attachments::{AttachmentMeta, NewAttachment};

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
        (status = 503, description = "Could not be stored", body = crate::error::Problem, content_type = "application/problem+json"),
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
    let limits = &state.settings.limits;
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(essence)
        .unwrap_or_default();
    if !limits.attachment_types.contains(&declared) {
        return Err(refused(Refusal::TypeNotAllowed, &declared));
    }
    let (data, digest) = read_bounded(&req, body, limits.max_attachment_bytes).await?;
    check_type(&declared, &limits.attachment_types, &data)
        .map_err(|refusal| refused(refusal, &declared))?;
    let name = clean_name(file_name(&req).as_deref());
    let sha256 = hex(&digest);
    let meta = AttachmentMeta {
        id: uuid::Uuid::now_v7().to_string(),
        chat_id: chat_id.to_string(),
        uploader_role: who.role.as_str().to_string(),
        uploader_id: who.id.clone(),
        name,
        content_type: declared,
        size: i64::try_from(data.len()).unwrap_or(i64::MAX),
        sha256,
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
        data,
        created_at: chrono::Utc::now(),
    };
    if !committed(&state.writer, StoreAttachment(file)).await? {
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

/// The body and its SHA-256 (hashed chunk by chunk as it arrives, so no one long computation
/// holds the worker), refused with 413 as soon as its `Content-Length` or the bytes read so far
/// pass `max`: memory never holds more than `max` bytes of it.
async fn read_bounded(
    req: &HttpRequest,
    mut body: web::Payload,
    max: usize,
) -> AppResult<(Vec<u8>, Vec<u8>)> {
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > max as u64) {
        return Err(too_large(max));
    }
    let mut data = Vec::with_capacity(declared_len.map_or(0, |n| n as usize));
    let mut hasher = Sha256::new();
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| AppError::bad_request(format!("the body could not be read: {e}")))?;
        if data.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        hasher.update(&chunk);
        data.extend_from_slice(&chunk);
    }
    if data.is_empty() {
        return Err(AppError::bad_request("the file is empty"));
    }
    Ok((data, hasher.finalize().to_vec()))
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
