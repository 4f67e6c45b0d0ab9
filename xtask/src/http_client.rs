//! A keep-alive HTTP/1.1 client over one TcpStream, enough for `bench-webhook` to set Baton up
//! (deploy, configure, start instances, count them) without adding crates to xtask. It speaks
//! to Baton on 127.0.0.1 only, whose answers always carry Content-Length.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

pub(crate) struct Client {
    addr: String,
    token: String,
    reader: BufReader<TcpStream>,
}

impl Client {
    pub(crate) fn connect(addr: &str, token: &str) -> Result<Client> {
        let stream =
            TcpStream::connect(addr).with_context(|| format!("could not connect to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Client {
            addr: addr.to_string(),
            token: token.to_string(),
            reader: BufReader::new(stream),
        })
    }

    /// POSTs `body` (JSON) to `path` with the bearer token; answers the status and the body.
    pub(crate) fn post(&mut self, path: &str, body: &str) -> Result<(u16, String)> {
        let auth = format!("Authorization: Bearer {}\r\n", self.token);
        self.send(path, &auth, body)
    }

    /// POSTs `body` to a webhook door with its `x-paystack-signature`.
    pub(crate) fn post_signed(
        &mut self,
        path: &str,
        body: &str,
        signature: &str,
    ) -> Result<(u16, String)> {
        self.send(
            path,
            &format!("x-paystack-signature: {signature}\r\n"),
            body,
        )
    }

    fn send(&mut self, path: &str, extra_headers: &str, body: &str) -> Result<(u16, String)> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\n{extra_headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.addr,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        self.read_answer()
            .with_context(|| format!("POST {path} to {}", self.addr))
    }

    /// Runs one bus command on `/api/v1/execute`; an answer other than 200 with
    /// `"isSuccessful":true` is an error that shows the answer.
    pub(crate) fn execute(&mut self, cmd: &str, data: &str) -> Result<String> {
        let (status, body) = self.post(
            "/api/v1/execute",
            &format!(r#"{{"cmd":"{cmd}","data":{data}}}"#),
        )?;
        if status != 200 || !body.contains(r#""isSuccessful":true"#) {
            bail!("{cmd} answered {status}: {body}");
        }
        Ok(body)
    }

    fn read_answer(&mut self) -> Result<(u16, String)> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            bail!("the server closed the connection");
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP status line: {line:?}"))?;
        let mut length = None;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let length = length.context("an answer without Content-Length")?;
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// `text` as a JSON string literal.
pub(crate) fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_escape_quotes_backslashes_and_controls() {
        assert_eq!(
            json_string("<a x=\"1\">\n\t\\</a>\u{1}"),
            r#""<a x=\"1\">\n\t\\</a>\u0001""#
        );
    }
}
