//! Identity: who a request or socket speaks for. JWT verification (`jwt`) and single-use WebSocket
//! tickets (`tickets`). No actors and no app state here; the actix extractor that turns a bearer
//! token into a `Caller` is `http::caller`.

pub mod jwt;
pub mod tickets;

pub use jwt::{Claims, JwtKeys, Principal};
pub use tickets::Tickets;
