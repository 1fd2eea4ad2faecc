//! The TCP connection under a WebSocket session, as far as the engine needs it: a way to reset it
//! from any thread. actix-web runs a session actor only while it polls the response body, and it
//! polls the body only while the socket takes writes; so a client that stops reading freezes its
//! session, heartbeat and all, and the session cannot close its own connection. `SocketAbort`
//! does it from beside: SO_LINGER 0 (the close sends a reset and drops unsent data), then
//! `shutdown`, which fails the stalled write so actix-web drops the connection at once.
//! `Guarded` wraps the session's response body and disarms the abort when the body is dropped,
//! which actix-web does before it closes the descriptor; an abort never touches a closed (or
//! reused) descriptor.

use std::os::fd::{BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::stream::LocalBoxStream;

/// The descriptor of a connection's socket, recorded by `HttpServer::on_connect`.
#[derive(Debug, Clone, Copy)]
pub struct ConnFd(pub RawFd);

/// Resets one connection's socket, once, from any thread.
#[derive(Debug, Clone, Default)]
pub struct SocketAbort {
    /// The descriptor while the connection is open; `None` once aborted or closed.
    fd: Arc<Mutex<Option<RawFd>>>,
}

impl SocketAbort {
    /// An abort for the connection with descriptor `fd` (none: aborting does nothing).
    pub fn new(fd: Option<RawFd>) -> Self {
        SocketAbort {
            fd: Arc::new(Mutex::new(fd)),
        }
    }

    /// Resets the connection: the peer sees it reset, actix-web sees its write fail.
    pub fn abort(&self) {
        let mut fd = self.fd.lock().unwrap_or_else(|e| e.into_inner());
        let Some(raw) = fd.take() else { return };
        // SAFETY: `raw` is open for as long as the lock holds `Some`: `Guarded::drop` takes the
        // same lock to clear it, and actix-web drops the response body (the `Guarded`) before it
        // drops, and so closes, the socket. The borrow ends before the lock is released.
        let socket = unsafe { BorrowedFd::borrow_raw(raw) };
        let socket = socket2::SockRef::from(&socket);
        if let Err(err) = socket.set_linger(Some(Duration::ZERO)) {
            tracing::debug!(error = %err, "SO_LINGER on an aborted socket");
        }
        if let Err(err) = socket.shutdown(std::net::Shutdown::Both) {
            tracing::debug!(error = %err, "shutdown of an aborted socket");
        }
    }

    /// The connection is closing on its own: forget the descriptor.
    fn disarm(&self) {
        self.fd.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// A session's response body, which disarms its connection's abort when dropped.
pub struct Guarded<T> {
    inner: LocalBoxStream<'static, T>,
    abort: SocketAbort,
}

impl<T> Guarded<T> {
    pub fn new(inner: impl Stream<Item = T> + 'static, abort: SocketAbort) -> Self {
        Guarded {
            inner: Box::pin(inner),
            abort,
        }
    }
}

impl<T> Stream for Guarded<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<T> Drop for Guarded<T> {
    fn drop(&mut self) {
        self.abort.disarm();
    }
}

/// Connection set-up for every accepted socket: the kernel closes a connection whose sent data
/// stays unacknowledged (or unsent, against a closed window) for `stall`, even while its session
/// is frozen behind it; and the descriptor is kept for `SocketAbort`.
pub fn on_connect(stall: Duration) -> impl Fn(&dyn std::any::Any, &mut actix_web::dev::Extensions) {
    move |conn, data| {
        use std::os::fd::AsRawFd;
        let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() else {
            return;
        };
        if let Err(err) = socket2::SockRef::from(tcp).set_tcp_user_timeout(Some(stall)) {
            tracing::warn!(error = %err, "TCP_USER_TIMEOUT not set");
        }
        data.insert(ConnFd(tcp.as_raw_fd()));
    }
}
