//! `Body<T>`: the JSON request body extractor. Like `web::Json`, but a body that does not fit `T`
//! is refused with a problem+json whose detail names the offending field (`routing: unknown
//! variant ...`), so a client can tell what to fix. The `Content-Type` must be the media type
//! `application/json` (parameters allowed; a charset, if given, is UTF-8).

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, mime, web};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Largest JSON body an HTTP route accepts.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// Whether the request's `Content-Type` is `application/json`, parsed as a media type: not
/// `application/jsonfoo`, not `application/json-seq`, not a non-UTF-8 charset.
fn is_json(req: &HttpRequest) -> bool {
    let Ok(Some(media)) = req.mime_type() else {
        return false;
    };
    media.type_() == mime::APPLICATION
        && media.subtype() == mime::JSON
        && media.suffix().is_none()
        && media
            .get_param(mime::CHARSET)
            .is_none_or(|charset| charset == mime::UTF_8)
}

/// A JSON body parsed into `T`.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T> Body<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Parses a JSON object into `T`, naming the path of the first field that does not fit. Every
/// route's body is an object: an array is refused even where serde would read it as the struct's
/// fields in order (`[null, null]` is not a `PATCH`).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::bad_request("the body must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(AppError::from_shape)
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = is_json(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !is_json {
                return Err(AppError::bad_request(
                    "content-type must be application/json",
                ));
            }
            let bytes = bytes
                .await
                .map_err(|e| AppError::bad_request(e.to_string()))?;
            parse_json(&bytes).map(Body)
        })
    }
}

/// Deserializes an `i32` that JSON may spell `5` or `5.0` (JSON Schema counts both as integers);
/// a fraction or a value out of range is refused.
pub fn whole_i32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    use serde::Deserialize;
    let n = serde_json::Number::deserialize(d)?;
    let whole = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Some(i),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Some(f as i64),
        _ => None,
    };
    whole.and_then(|i| i32::try_from(i).ok()).ok_or_else(|| {
        serde::de::Error::custom(format!("expected a whole number (32-bit), not {n}"))
    })
}

/// `whole_i32` for an optional field (use with `#[serde(default)]`).
pub fn opt_whole_i32<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    use serde::Deserialize;
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => whole_i32(n).map(Some).map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_json;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Patch {
        summary: Option<String>,
        external_ref: Option<String>,
    }

    #[test]
    fn only_an_object_is_a_body() {
        assert!(parse_json::<Patch>(br#" {"summary": "x"}"#).is_ok());
        for not_an_object in [&b"[null, null]"[..], b"null", b"\"x\"", b"3", b""] {
            let err = parse_json::<Patch>(not_an_object).unwrap_err();
            assert_eq!(err.message, "the body must be a JSON object");
        }
    }
}
