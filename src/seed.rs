//! Demo data (`seed.demo`, on in development): one queue per routing mode, four analysts and a
//! manager a person would recognise. Only what is missing is created, so edits made through the
//! API survive a restart.

use sea_orm::DatabaseConnection;

use crate::domain::{AnalystRole, MemberRole, RoutingMode};
use crate::error::AppResult;
use crate::store;
use crate::store::queues::QueueSpec;

/// The demo queues: (id, name, description, routing, priority).
pub const QUEUES: &[(&str, &str, &str, RoutingMode, i32)] = &[
    (
        "service-desk",
        "Service Desk",
        "Accounts, email, software: anything IT.",
        RoutingMode::Auto,
        0,
    ),
    (
        "hardware",
        "Hardware Requests",
        "Laptops, phones, printers and peripherals.",
        RoutingMode::Offer,
        0,
    ),
    (
        "access",
        "Access and Passwords",
        "Locked out? Password resets and permissions.",
        RoutingMode::Manual,
        1,
    ),
];

/// A demo analyst and the queues they belong to.
pub struct DemoAnalyst {
    pub id: &'static str,
    pub name: &'static str,
    pub role: AnalystRole,
    pub capacity: i32,
    pub queues: &'static [(&'static str, MemberRole)],
}

/// The demo analysts: three analysts and a manager of every queue.
pub const ANALYSTS: &[DemoAnalyst] = &[
    DemoAnalyst {
        id: "alice",
        name: "Alice Smith",
        role: AnalystRole::Analyst,
        capacity: 3,
        queues: &[
            ("service-desk", MemberRole::Analyst),
            ("hardware", MemberRole::Analyst),
        ],
    },
    DemoAnalyst {
        id: "bob",
        name: "Bob Tran",
        role: AnalystRole::Analyst,
        capacity: 2,
        queues: &[
            ("service-desk", MemberRole::Analyst),
            ("access", MemberRole::Analyst),
        ],
    },
    DemoAnalyst {
        id: "dave",
        name: "Dave Patel",
        role: AnalystRole::Analyst,
        capacity: 3,
        queues: &[
            ("hardware", MemberRole::Analyst),
            ("access", MemberRole::Analyst),
        ],
    },
    DemoAnalyst {
        id: "carol",
        name: "Carol Jones",
        role: AnalystRole::Manager,
        capacity: 3,
        queues: &[
            ("service-desk", MemberRole::Manager),
            ("hardware", MemberRole::Manager),
            ("access", MemberRole::Manager),
        ],
    },
];

/// The demo end user and admin that the start page signs in as: (id, name).
pub const DEMO_USER: (&str, &str) = ("emma", "Emma Wilson");
pub const DEMO_ADMIN: (&str, &str) = ("admin", "Desk Admin");

/// Creates whatever part of the demo data is missing.
pub async fn demo(db: &DatabaseConnection, offer_timeout_secs: i32) -> AppResult<()> {
    for &(id, name, description, routing, priority) in QUEUES {
        if store::queues::find(db, id).await?.is_none() {
            let spec = QueueSpec {
                name: name.into(),
                description: description.into(),
                enabled: true,
                routing,
                priority,
                sla_answer_secs: 60,
                max_wait_secs: 0,
                offer_timeout_secs,
            };
            store::queues::upsert(db, id, spec).await?;
        }
    }
    for a in ANALYSTS {
        if store::analysts::find(db, a.id).await?.is_none() {
            store::analysts::upsert(db, a.id, a.name.into(), a.capacity, a.role).await?;
            for &(queue_id, member_role) in a.queues {
                store::analysts::upsert_member(db, queue_id, a.id, member_role).await?;
            }
        }
    }
    Ok(())
}
