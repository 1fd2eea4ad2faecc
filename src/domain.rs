//! Domain vocabulary shared by every layer: ids, roles, states, statuses and end reasons.
//! Nothing here knows about actix or SeaORM; the wire and the database both spell these values
//! the same way (`snake_case`), through `as_str` / `FromStr`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

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
    /// Who a token speaks for (contract §2).
    Role { User => "user", Analyst => "analyst", Manager => "manager", Admin => "admin" }
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
    /// Why a chat ended.
    EndReason {
        ClosedByUser => "closed_by_user",
        ClosedByAnalyst => "closed_by_analyst",
        UserLeft => "user_left",
        MaxWait => "max_wait",
    }
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
    fn enums_round_trip_and_name_the_choices() {
        for s in AnalystStatus::ALL {
            assert_eq!(s.as_str().parse::<AnalystStatus>(), Ok(*s));
        }
        let err = "sleeping".parse::<AnalystStatus>().unwrap_err();
        assert!(err.0.contains("available, busy, away, offline"), "{err}");
    }
}
