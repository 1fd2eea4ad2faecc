//! The one application error type. Every failure a client can see carries one of the contract's
//! error codes (§3) and a message; HTTP renders it once, as RFC 9457 `application/problem+json`,
//! and the WebSocket sessions render it as an `error` frame.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use sea_orm::DbErr;
use serde::{Deserialize, Serialize};

/// The contract's error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    QueueOffline,
    /// `start_chat` on a queue at its `max_waiting` (§8.2).
    QueueFull,
    /// `start_chat` outside the queue's business hours (§8.3).
    QueueClosed,
    AtCapacity,
    /// `set_status available` with a wrap-up pending in `required` mode (§9.1).
    WrapUpRequired,
    RateLimited,
    TooFarBehind,
    Unavailable,
    Internal,
    /// An upload past `limits.max_attachment_bytes` (HTTP 413).
    PayloadTooLarge,
    /// An upload whose type is not allowed or not what its bytes are (HTTP 415).
    UnsupportedMediaType,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::QueueOffline => "queue_offline",
            ErrorCode::QueueFull => "queue_full",
            ErrorCode::QueueClosed => "queue_closed",
            ErrorCode::AtCapacity => "at_capacity",
            ErrorCode::WrapUpRequired => "wrap_up_required",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TooFarBehind => "too_far_behind",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
        }
    }

    /// The HTTP status the code maps to.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict
            | ErrorCode::QueueOffline
            | ErrorCode::QueueFull
            | ErrorCode::QueueClosed
            | ErrorCode::AtCapacity
            | ErrorCode::WrapUpRequired => StatusCode::CONFLICT,
            ErrorCode::TooFarBehind => StatusCode::GONE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        }
    }
}

/// A failure with its contract code and a message fit to show the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// For `queue_closed`: when the queue next opens (RFC 3339, or `Some(None)` if never).
    pub opens_at: Option<Option<String>>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            opens_at: None,
        }
    }

    /// `queue_closed`, carrying when the queue opens next (§8.3).
    pub fn queue_closed(message: impl Into<String>, opens_at: Option<String>) -> Self {
        AppError {
            opens_at: Some(opens_at),
            ..Self::new(ErrorCode::QueueClosed, message)
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// What a caller gets both for a missing object and for one they may not see.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// A body or frame that does not fit its shape: `bad_request` naming the field's path.
    pub fn from_shape<E: std::fmt::Display>(err: serde_path_to_error::Error<E>) -> Self {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if path == "." {
            AppError::bad_request(inner.to_string())
        } else {
            AppError::bad_request(format!("{path}: {inner}"))
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => {
                tracing::warn!(error = %err, "database unavailable");
                AppError::new(ErrorCode::Unavailable, "the database is unavailable")
            }
            other => {
                tracing::error!(error = %other, "database error");
                AppError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

/// RFC 9457 problem details with the contract's error `code` (`application/problem+json`): the
/// body every HTTP error carries, and the schema the OpenAPI document names for it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// One of the contract's error codes (`bad_request`, `not_found`, ...).
    pub code: String,
}

impl Problem {
    /// The problem body for `err`.
    pub fn of(err: &AppError) -> Self {
        let status = err.code.status();
        Problem {
            kind: format!("/problems/{}", err.code.as_str()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: err.message.clone(),
            code: err.code.as_str().to_owned(),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("application/problem+json")
            .json(Problem::of(self))
    }
}
