//! Identity: who a request or socket speaks for. JWT verification (`jwt`: HS256 and the identity
//! provider's RS256/ES256 keys), the claim rules (`claims`), the key set (`jwks`) and where it is
//! fetched from (`jwks_source`), and single-use WebSocket tickets (`tickets`). No actors and no app state here; the actix extractor that turns a bearer
//! token into a `Caller` is `http::caller`.

pub mod claims;
pub mod jwks;
pub mod jwks_source;
pub mod jwks_tls;
pub mod jwt;
pub mod tickets;

pub use jwks_source::Jwks;
pub use jwt::{Claims, JwtKeys, Principal, TokenError};
pub use tickets::Tickets;
