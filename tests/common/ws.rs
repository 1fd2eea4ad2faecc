//! WebSocket test client (filled in with the routing engine).
