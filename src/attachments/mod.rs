//! What an uploaded file must be before it is stored (contract §12): its type, checked from its
//! leading bytes against the declared `Content-Type` and `limits.attachment_types` (`types`), and
//! its name, cleaned of path separators and control characters (`names`). No actix, no SeaORM:
//! the upload route asks these and the store keeps what they allow.

pub mod names;
pub mod types;

pub use names::clean_name;
pub use types::{Refusal, StreamCheck, check_type, essence};
