//! Identity: who a request or socket speaks for. JWT verification (`jwt`), single-use WebSocket
//! tickets (`tickets`) and the actix extractor that turns a bearer token into a `Caller` (`caller`).

pub mod caller;
pub mod jwt;
pub mod tickets;

pub use caller::Caller;
pub use jwt::{Claims, JwtKeys, Principal};
pub use tickets::Tickets;
