//! A minimal HTTP/1.1 client over `std::net`, for the few requests the harness makes itself
//! (admin login, probing an endpoint, warming the verifier cache). One request per connection
//! (`Connection: close`), so the answer is everything read until the server closes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// Sends one request to `base_url` (`http://HOST:PORT`) and reads the whole answer.
pub fn request(
    base_url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Response, String> {
    let authority = base_url.strip_prefix("http://").ok_or_else(|| format!("not an http:// URL: {base_url}"))?;
    let authority = authority.trim_end_matches('/');
    let fail = |e: std::io::Error| format!("{method} {path}: {e}");
    let mut stream = TcpStream::connect(authority).map_err(fail)?;
    stream.set_read_timeout(Some(TIMEOUT)).map_err(fail)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(fail)?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).map_err(fail)?;
    stream.write_all(body.as_bytes()).map_err(fail)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(fail)?;
    parse_response(&String::from_utf8_lossy(&raw)).ok_or_else(|| format!("{method} {path}: not an HTTP response"))
}

fn parse_response(raw: &str) -> Option<Response> {
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding") && value.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = if chunked { dechunk(body)? } else { body.to_owned() };
    Some(Response { status, body })
}

/// Joins the chunks of a `Transfer-Encoding: chunked` body.
fn dechunk(mut rest: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size_line, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size_line.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(after.get(..size)?);
        rest = after.get(size..)?.strip_prefix("\r\n")?;
    }
}

/// The string value of `"key": "value"` in a JSON document, for values without escapes (tokens):
/// enough for the harness, which has no JSON parser.
pub fn json_string(body: &str, key: &str) -> Option<String> {
    let quoted = format!("\"{key}\"");
    let after = &body[body.find(&quoted)? + quoted.len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(after[..after.find('"')?].to_owned())
}

#[cfg(test)]
mod tests {
    use super::{json_string, parse_response};

    #[test]
    fn reads_plain_and_chunked_answers() {
        let plain = parse_response("HTTP/1.1 201 Created\r\ncontent-length: 15\r\n\r\n{\"token\":\"t1\"}").unwrap();
        assert_eq!((plain.status, plain.body.as_str()), (201, "{\"token\":\"t1\"}"));
        let chunked =
            parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n")
                .unwrap();
        assert_eq!(chunked.body, "abcdef");
        assert!(parse_response("garbage").is_none());
    }

    #[test]
    fn finds_a_string_field() {
        assert_eq!(json_string(r#"{"expires_at": "x", "token" : "tka_abc"}"#, "token").as_deref(), Some("tka_abc"));
        assert_eq!(json_string(r#"{"token": 3}"#, "token"), None);
        assert_eq!(json_string("{}", "token"), None);
    }
}
