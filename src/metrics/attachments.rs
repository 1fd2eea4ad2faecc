//! The attachment metrics (contract §12): files and bytes stored, uploads refused by reason.

use std::sync::LazyLock;

use prometheus::{IntCounter, IntCounterVec};

use super::{counter, counter_vec};

static STORED: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "switchboard_attachments_stored_total",
        "Attachments committed to the database",
    )
});
static BYTES: LazyLock<IntCounter> = LazyLock::new(|| {
    counter(
        "switchboard_attachment_bytes_stored_total",
        "Bytes of attachments committed to the database",
    )
});
static REFUSED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter_vec(
        "switchboard_attachments_refused_total",
        "Uploads refused, by reason (too_large, type_not_allowed, content_mismatch, chat_ended)",
        &["reason"],
    )
});

/// An attachment of `bytes` was committed.
pub fn attachment_stored(bytes: usize) {
    STORED.inc();
    BYTES.inc_by(bytes as u64);
}

/// An upload was refused for `reason`.
pub fn attachment_refused(reason: &str) {
    REFUSED.with_label_values(&[reason]).inc();
}

/// Registers the series so `/metrics` lists them before the first upload.
pub fn touch() {
    LazyLock::force(&STORED);
    LazyLock::force(&BYTES);
    for reason in [
        "too_large",
        "type_not_allowed",
        "content_mismatch",
        "chat_ended",
    ] {
        REFUSED.with_label_values(&[reason]);
    }
}
