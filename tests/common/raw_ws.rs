//! A WebSocket client that stops reading: a raw TCP socket with a small receive buffer, which
//! does the handshake, sends masked text frames, and never reads what the server sends after the
//! handshake. Used to show that a client which does not read cannot grow the server's memory and
//! does not keep its connection.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::TestApp;

pub struct NonReader {
    stream: TcpStream,
}

impl TestApp {
    /// Connects as the bearer of `token` over a socket whose receive buffer is `rcvbuf` bytes.
    pub async fn non_reader(&self, token: &str, rcvbuf: u32) -> NonReader {
        let addr: SocketAddr = self.base.trim_start_matches("http://").parse().unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(rcvbuf).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             Authorization: Bearer {token}\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // Read the response head a byte at a time, so nothing after it is consumed.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await.unwrap());
        }
        let head = String::from_utf8_lossy(&head);
        assert!(
            head.starts_with("HTTP/1.1 101"),
            "handshake refused: {head}"
        );
        NonReader { stream }
    }
}

impl NonReader {
    /// Sends one command as a masked text frame (RFC 6455 §5.2); false once the server has
    /// reset the connection.
    pub async fn send(&mut self, command: &Value) -> bool {
        let payload = command.to_string().into_bytes();
        let mask = [0x5a, 0x13, 0xc4, 0x7e];
        let mut frame = vec![0x81];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.is_ok()
    }

    /// Reads everything the server left, and tells whether the server closed (or reset) the
    /// connection within `wait`; only call it once the test no longer needs the client stalled.
    pub async fn closed_within(mut self, wait: std::time::Duration) -> bool {
        let mut buf = vec![0u8; 1 << 16];
        let drained = tokio::time::timeout(wait, async {
            loop {
                match self.stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        });
        drained.await.is_ok()
    }
}
