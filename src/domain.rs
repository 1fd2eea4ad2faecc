//! Domain vocabulary shared by every layer: ids, roles, states, statuses and end reasons.
//! Nothing here knows about actix or SeaORM; the wire and the database both spell these values
//! the same way (`snake_case`), through `as_str` / `FromStr`. Ids are newtypes (`ChatId` over a
//! UUID v7, `QueueId`, `AnalystId`, `UserId` over the contract's id syntax) that serialize as the
//! bare string they wrap and document themselves as a string in the OpenAPI document.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why a value could not be parsed into a domain type; the message names what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Checks a queue, analyst or user id against `^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$` (contract §1).
pub fn is_valid_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphanumeric()
        && bytes[1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

/// A chat's id: a UUID v7, so ids made together sort together (transcript keys stay close).
/// On the wire and in the database it is the hyphenated lower-case string.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChatId(Uuid);

impl ChatId {
    /// A fresh, time-ordered id.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        ChatId(Uuid::now_v7())
    }

    /// The id this UUID already is (ids read back from storage, tests).
    pub const fn from_uuid(id: Uuid) -> Self {
        ChatId(id)
    }

    /// The UUID inside.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    /// Checks a string from outside (a path segment, a stored column) is a UUID.
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl FromStr for ChatId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Uuid::parse_str(s)
            .map(ChatId)
            .map_err(|e| ParseError(e.to_string()))
    }
}

impl From<Uuid> for ChatId {
    fn from(id: Uuid) -> Self {
        ChatId(id)
    }
}

impl From<ChatId> for Uuid {
    fn from(id: ChatId) -> Self {
        id.0
    }
}

impl fmt::Display for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for ChatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl utoipa::PartialSchema for ChatId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .into()
    }
}

impl utoipa::ToSchema for ChatId {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ChatId")
    }
}

/// Declares a string id of the contract's syntax (`is_valid_id`): `parse` checks it where input
/// enters; `From<String>` / `From<&str>` take a value already checked (a stored row, a verified
/// token), as deserializing does, so reading never rejects what was accepted before.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `s` against the contract's id syntax.
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                if is_valid_id(s) {
                    Ok($name(s.to_string()))
                } else {
                    Err(ParseError(format!(
                        "{} must match ^[A-Za-z0-9][A-Za-z0-9._@-]{{0,63}}$, not {:?}",
                        $what, s
                    )))
                }
            }

            /// The id as it is spelled on the wire and in the database.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The string inside.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                $name::parse(s)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// Reads as the `&str` it wraps, so the core's `&str` lookups take an id as they are.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <String as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

string_id!(
    /// A queue's id.
    QueueId, "queue id"
);

string_id!(
    /// An analyst's (or manager's) id.
    AnalystId, "analyst id"
);

string_id!(
    /// A user's id (the `sub` of a user token).
    UserId, "user id"
);

/// Declares a closed set of `snake_case` string values with `as_str`, `FromStr`, `Display` and serde.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as it is spelled on the wire and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(ParseError(format!(
                        "{} must be one of {}, not {:?}",
                        stringify!($name),
                        [$($text),+].join(", "),
                        other
                    ))),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Who a token speaks for (contract §2; `service`, the host's integration account, §10).
    Role {
        User => "user",
        Analyst => "analyst",
        Manager => "manager",
        Admin => "admin",
        Service => "service",
    }
);

string_enum!(
    /// An analyst's directory role: a manager is an analyst who may also manage queues.
    AnalystRole { Analyst => "analyst", Manager => "manager" }
);

string_enum!(
    /// An analyst's role within one queue.
    MemberRole { Analyst => "analyst", Manager => "manager" }
);

string_enum!(
    /// How a queue hands its chats to analysts (contract §4).
    RoutingMode { Auto => "auto", Offer => "offer", Manual => "manual" }
);

string_enum!(
    /// An analyst's availability; only `Available` analysts are routed new chats.
    AnalystStatus { Available => "available", Busy => "busy", Away => "away", Offline => "offline" }
);

string_enum!(
    /// A queue's after-chat work (contract §9.1): none, offered, or required before new chats.
    WrapUpMode { Off => "off", Optional => "optional", Required => "required" }
);

string_enum!(
    /// The life of a chat (contract §3.1).
    ChatState {
        Waiting => "waiting",
        Offered => "offered",
        Active => "active",
        Closed => "closed",
        Unanswered => "unanswered",
    }
);

string_enum!(
    /// Who sees a message (contract §9.3): everyone in the chat, or its staff only (a whisper).
    Visibility { All => "all", Internal => "internal" }
);

#[allow(clippy::derivable_impls)] // the values are declared by `string_enum!`
impl Default for Visibility {
    fn default() -> Self {
        Visibility::All
    }
}

string_enum!(
    /// Why a chat ended.
    EndReason {
        ClosedByUser => "closed_by_user",
        ClosedByAnalyst => "closed_by_analyst",
        UserLeft => "user_left",
        MaxWait => "max_wait",
    }
);

string_enum!(
    /// Where one webhook delivery stands (contract §10.1).
    DeliveryStatus { Pending => "pending", Delivered => "delivered", Failed => "failed" }
);

impl AnalystStatus {
    /// The label the service desk shows for this status.
    pub fn label(self) -> &'static str {
        match self {
            AnalystStatus::Available => "Online - Available",
            AnalystStatus::Busy => "Online - Busy",
            AnalystStatus::Away => "Online - Away",
            AnalystStatus::Offline => "Offline",
        }
    }
}

impl ChatState {
    /// Waiting or offered: still in its queue.
    pub fn is_waiting(self) -> bool {
        matches!(self, ChatState::Waiting | ChatState::Offered)
    }

    /// Closed or unanswered: nothing more can happen to it.
    pub fn is_ended(self) -> bool {
        matches!(self, ChatState::Closed | ChatState::Unanswered)
    }
}

impl Role {
    /// Analysts and managers take chats and must exist in the directory.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Analyst | Role::Manager)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_contract_pattern() {
        for ok in ["a", "alice", "A.b_c@d-e", &"x".repeat(64)] {
            assert!(is_valid_id(ok), "{ok} should be valid");
        }
        for bad in ["", ".alice", "al ice", "é", &"x".repeat(65), "a/b"] {
            assert!(!is_valid_id(bad), "{bad} should be invalid");
        }
    }

    #[test]
    fn ids_serialize_as_the_bare_string_they_wrap() {
        let chat = ChatId::new();
        let text = serde_json::to_string(&chat).unwrap();
        assert_eq!(text, format!("\"{chat}\""));
        assert_eq!(serde_json::from_str::<ChatId>(&text).unwrap(), chat);
        assert_eq!(ChatId::parse(&chat.to_string()), Ok(chat));
        assert!(ChatId::parse("not-a-uuid").is_err());

        let queue = QueueId::parse("it-support").unwrap();
        assert_eq!(serde_json::to_string(&queue).unwrap(), "\"it-support\"");
        assert_eq!(queue.as_str(), "it-support");
        assert!(QueueId::parse(".bad").is_err());
        let mut by_id = std::collections::HashMap::new();
        by_id.insert(AnalystId::from("ana"), 1);
        assert_eq!(by_id.get("ana"), Some(&1));
    }

    #[test]
    fn enums_round_trip_and_name_the_choices() {
        for s in AnalystStatus::ALL {
            assert_eq!(s.as_str().parse::<AnalystStatus>(), Ok(*s));
        }
        let err = "sleeping".parse::<AnalystStatus>().unwrap_err();
        assert!(err.0.contains("available, busy, away, offline"), "{err}");
    }
}
