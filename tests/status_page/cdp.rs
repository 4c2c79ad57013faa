//! Just enough of the Chrome DevTools Protocol to read a live page: the
//! target list over HTTP, then `Runtime.evaluate` over a WebSocket
//! (RFC 6455, text frames only), with std's blocking sockets.
//!
//! The test uses it to look at one page that stays open while the daemon's
//! state changes, which `--dump-dom` (one load, virtual time) cannot show:
//! the page must refresh itself.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A WebSocket to one page's DevTools endpoint.
pub struct Page {
    ws: TcpStream,
    next_id: u64,
}

/// `GET http://ADDR/PATH` with a `Host` Chromium accepts; the body.
/// Chromium keeps the connection open after answering, so the body is
/// read by its `Content-Length`, not to the end of the stream.
pub fn http_get(addr: &str, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let head = read_head(&mut s)?;
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    s.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Read an HTTP head, up to and including its empty line.
fn read_head(s: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// The WebSocket URL of the first page target whose URL starts with `url`.
pub fn page_target(addr: &str, url: &str) -> Option<String> {
    let body = http_get(addr, "/json/list").ok()?;
    let list: serde_json::Value = serde_json::from_str(&body).ok()?;
    list.as_array()?
        .iter()
        .find(|t| t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with(url)))
        .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(String::from))
}

impl Page {
    /// Open `ws://HOST:PORT/PATH` (as `/json/list` gives it).
    pub fn connect(ws_url: &str) -> std::io::Result<Page> {
        let rest = ws_url.strip_prefix("ws://").unwrap_or(ws_url);
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let mut ws = TcpStream::connect(host)?;
        ws.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            ws,
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGFuZGVtIHN0YXR1cyBwYWdl\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )?;
        // Nothing follows the answer's head until we ask.
        let head = read_head(&mut ws)?;
        if !head.starts_with("HTTP/1.1 101") {
            return Err(std::io::Error::other(format!("no upgrade: {head}")));
        }
        Ok(Page { ws, next_id: 1 })
    }

    /// Evaluate `expression` in the page; its value (by value).
    pub fn eval(&mut self, expression: &str) -> std::io::Result<serde_json::Value> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = serde_json::json!({
            "id": id,
            "method": "Runtime.evaluate",
            "params": {"expression": expression, "returnByValue": true},
        });
        self.send(msg.to_string().as_bytes())?;
        loop {
            let text = self.receive()?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(std::io::Error::other)?;
            if v["id"] == id {
                return Ok(v["result"]["result"]["value"].clone());
            }
        }
    }

    /// One masked text frame (a client must mask, RFC 6455 §5.3).
    fn send(&mut self, payload: &[u8]) -> std::io::Result<()> {
        let mask = [0x5a, 0x17, 0xc3, 0x8e];
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n < 65536 => {
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
        self.ws.write_all(&frame)
    }

    /// The next whole text message (fragments joined, control frames
    /// skipped).
    fn receive(&mut self) -> std::io::Result<String> {
        let mut message = Vec::new();
        loop {
            let mut h = [0u8; 2];
            self.ws.read_exact(&mut h)?;
            let (fin, opcode) = (h[0] & 0x80 != 0, h[0] & 0x0f);
            let len = match h[1] & 0x7f {
                126 => {
                    let mut b = [0u8; 2];
                    self.ws.read_exact(&mut b)?;
                    u64::from(u16::from_be_bytes(b))
                }
                127 => {
                    let mut b = [0u8; 8];
                    self.ws.read_exact(&mut b)?;
                    u64::from_be_bytes(b)
                }
                n => u64::from(n),
            };
            let mut payload = vec![0u8; len as usize];
            self.ws.read_exact(&mut payload)?;
            if opcode == 0x8 {
                return Err(std::io::Error::other("DevTools closed the connection"));
            }
            if opcode >= 0x8 {
                continue; // ping / pong
            }
            message.extend_from_slice(&payload);
            if fin {
                return Ok(String::from_utf8_lossy(&message).into_owned());
            }
        }
    }
}
