//! `GET /api/v1/attachments/{id}` (contract §12): the file's bytes, to whoever may see its chat
//! once it has been sent (`access::may_see_chat`; a file in a whisper never to the user), and to
//! its uploader alone before; anyone else
//! gets 404, exactly as for a file that does not exist. A page's `<img>` or link cannot send a
//! header, so a single-use `?ticket=` is taken as `GET /events` takes it. Served so that nothing
//! in it can run: `X-Content-Type-Options: nosniff`, a CSP that allows nothing (and sandboxes the
//! document), and `Content-Disposition: attachment` for everything but images. The bytes are
//! streamed chunk by chunk (`attachment_chunks`, in order) with the stored size as its length.

use actix_web::body::SizedStream;
use actix_web::http::header::{
    self, CacheControl, CacheDirective, ContentDisposition, DispositionParam, DispositionType,
};
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Principal;
use crate::domain::{Role, Visibility};
use crate::error::{AppError, AppResult};
use crate::http::access;
use crate::http::caller::{Caller, bearer_or_ticket_any};
use crate::state::AppState;
use crate::store;
use crate::store::attachments::AttachmentMeta;

/// The CSP of every download: nothing loads, nothing runs.
pub const CSP: &str = "default-src 'none'; sandbox";

#[derive(Debug, Deserialize, IntoParams)]
pub struct DownloadQuery {
    /// A single-use ticket from `POST /api/v1/ws-tickets` (instead of a bearer token).
    #[param(nullable = false)]
    ticket: Option<String>,
}

#[utoipa::path(
    tag = "chats",
    params(("id" = String, Path, description = "The attachment"), DownloadQuery),
    responses(
        (status = 200, description = "The file, as its stored type; `Content-Disposition: attachment` except images", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, description = "No valid token or ticket", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A staff token for an analyst not in the directory", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such attachment, or the caller may not see it", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ())
)]
#[get("/attachments/{id}")]
pub async fn download_attachment(
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<DownloadQuery>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let principal = bearer_or_ticket_any(&req, query.ticket.as_deref(), &state).await?;
    let not_found = || AppError::not_found(format!("attachment {id}"));
    let meta = store::attachments::meta(&state.db, &id)
        .await?
        .ok_or_else(not_found)?;
    if !may_see(&state, principal, &meta).await? {
        return Err(not_found());
    }
    let size = u64::try_from(meta.size).unwrap_or(0);
    let body = SizedStream::new(size, chunks(state.db.clone(), meta.id.clone()));
    let is_image = meta.content_type.starts_with("image/");
    let content_type = if meta.content_type == "text/plain" {
        "text/plain; charset=utf-8".to_string()
    } else {
        meta.content_type.clone()
    };
    let disposition = ContentDisposition {
        disposition: if is_image {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![DispositionParam::Filename(meta.name.clone())],
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(disposition)
        .insert_header(("x-content-type-options", "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header(("cross-origin-resource-policy", "same-origin"))
        .insert_header(CacheControl(vec![
            CacheDirective::Private,
            CacheDirective::NoStore,
        ]))
        .body(body))
}

/// The file's chunks in order, each read when the client is ready for it (a download holds one
/// chunk in memory, not the file).
fn chunks(
    db: sea_orm::DatabaseConnection,
    id: String,
) -> impl futures_util::Stream<Item = Result<web::Bytes, AppError>> {
    futures_util::stream::try_unfold(0i32, move |seq| {
        let (db, id) = (db.clone(), id.clone());
        async move {
            Ok(store::attachments::chunk(&db, &id, seq)
                .await?
                .map(|data| (web::Bytes::from(data), seq + 1)))
        }
    })
}

/// Before it is sent, a file is its uploader's alone; after, it is as visible as its chat.
async fn may_see(state: &AppState, principal: Principal, meta: &AttachmentMeta) -> AppResult<bool> {
    let Some(seq) = meta.message_seq else {
        return Ok(
            meta.uploader_id == principal.id && meta.uploader_role == principal.role.as_str()
        );
    };
    // A file whispered to the chat's staff is never the user's to see (contract §9.3).
    if principal.role == Role::User
        && store::messages::visibility_of(&state.db, &meta.chat_id, seq)
            .await?
            .is_none_or(|v| v != Visibility::All.as_str())
    {
        return Ok(false);
    }
    let Some(chat) = store::chats::find(&state.db, &meta.chat_id).await? else {
        return Ok(false);
    };
    access::may_see_chat(state, &Caller(principal), &chat).await
}
