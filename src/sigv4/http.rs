//! A zero-copy parser for raw HTTP/1.1 requests, lenient where signing tools
//! must be: LF or CRLF line ends, obsolete header folding, a request target with
//! raw spaces, a missing final blank line, and binary bodies.
//!
//! The parsed [`Request`] borrows every part from the input bytes, so parsing
//! allocates nothing while a request has at most [`INLINE_HEADERS`] headers.
//! [`super::canonical`] reads it to build the canonical request.

use smallvec::SmallVec;
use thiserror::Error;

/// Headers held without a heap allocation; more spill to the heap.
pub const INLINE_HEADERS: usize = 16;

/// Why bytes are not an HTTP/1.1 request.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParseError {
    /// The input holds no request line.
    #[error("the request is empty")]
    Empty,
    /// The request line is not `METHOD TARGET HTTP/x.y`.
    #[error("line {line}: request line {reason}")]
    RequestLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header line is not `name: value`.
    #[error("line {line}: header {reason}")]
    Header {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The head (request line and headers) is not UTF-8.
    #[error("line {line}: not valid UTF-8")]
    NotUtf8 {
        /// 1-based line number of the first invalid byte.
        line: usize,
    },
    /// `Content-Length` is not a number.
    #[error("line {line}: Content-Length is not a non-negative integer")]
    ContentLength {
        /// 1-based line number of the header.
        line: usize,
    },
    /// A second `Content-Length` declares another length, so where the body
    /// ends depends on which one a reader believes (request smuggling).
    #[error("line {line}: Content-Length differs from an earlier Content-Length")]
    ConflictingContentLength {
        /// 1-based line number of the second header.
        line: usize,
    },
    /// The body is shorter than `Content-Length` says.
    #[error("the body has {actual} bytes but Content-Length declares {declared}")]
    BodyTruncated {
        /// What `Content-Length` declares.
        declared: usize,
        /// Bytes present after the head.
        actual: usize,
    },
}

/// One header as received: name in its original case, value with the leading
/// and trailing whitespace of HTTP removed, folded lines still inside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// The header name, in the case it was sent.
    pub name: &'a str,
    /// The raw value; obsolete line folds appear as CR/LF followed by spaces.
    pub value: &'a str,
}

/// A parsed HTTP/1.1 request, borrowing from the raw bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method, such as `GET`.
    pub method: &'a str,
    /// The path part of the request target, before any `?`, as sent.
    pub path: &'a str,
    /// The query part of the request target after the first `?`, as sent.
    pub query: Option<&'a str>,
    /// The protocol version, such as `HTTP/1.1`.
    pub version: &'a str,
    /// The headers in arrival order.
    pub headers: SmallVec<[Header<'a>; INLINE_HEADERS]>,
    /// The body: `Content-Length` bytes when declared, otherwise the rest.
    pub body: &'a [u8],
    /// The byte length of the head, up to (not including) the body.
    pub head_len: usize,
}

impl<'a> Request<'a> {
    /// Parse `raw` as one HTTP/1.1 request.
    ///
    /// # Errors
    ///
    /// [`ParseError`] names the line and what is wrong with it.
    pub fn parse(raw: &'a [u8]) -> Result<Request<'a>, ParseError> {
        let (head, body_start) = split_head(raw);
        let head = std::str::from_utf8(head).map_err(|e| ParseError::NotUtf8 {
            line: 1 + raw[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
        })?;
        let mut lines = Lines::new(head);
        let (first_no, first) = lines.next().ok_or(ParseError::Empty)?;
        if first.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        let (method, target, version) = parse_request_line(first, first_no)?;
        let (path, query) = match target.find('?') {
            Some(i) => (&target[..i], Some(&target[i + 1..])),
            None => (target, None),
        };

        let mut headers: SmallVec<[Header<'a>; INLINE_HEADERS]> = SmallVec::new();
        let mut content_length = None;
        let mut current: Option<(usize, &'a str, usize, usize)> = None;
        for (no, line) in lines {
            if line.starts_with([' ', '\t']) {
                let Some(cur) = current.as_mut() else {
                    return Err(ParseError::Header {
                        line: no,
                        reason: "continuation line has no header to continue",
                    });
                };
                if !line.trim().is_empty() {
                    cur.3 = offset_of(head, line) + line.trim_end().len();
                }
                continue;
            }
            if let Some(cur) = current.take() {
                push_header(&mut headers, &mut content_length, head, cur)?;
            }
            let colon = line.find(':').ok_or(ParseError::Header {
                line: no,
                reason: "has no ':'",
            })?;
            let name = &line[..colon];
            if name.is_empty() {
                return Err(ParseError::Header {
                    line: no,
                    reason: "name is empty",
                });
            }
            if !name.bytes().all(is_token_byte) {
                return Err(ParseError::Header {
                    line: no,
                    reason:
                        "name has a character HTTP does not allow (space, control or separator)",
                });
            }
            let value_start = offset_of(head, line) + colon + 1;
            let value_end = offset_of(head, line) + line.trim_end().len().max(colon + 1);
            current = Some((no, name, value_start, value_end));
        }
        if let Some(cur) = current.take() {
            push_header(&mut headers, &mut content_length, head, cur)?;
        }

        let rest = &raw[body_start.min(raw.len())..];
        let body = match content_length {
            Some(declared) if declared > rest.len() => {
                return Err(ParseError::BodyTruncated {
                    declared,
                    actual: rest.len(),
                })
            }
            Some(declared) => &rest[..declared],
            None => rest,
        };
        Ok(Request {
            method,
            path,
            query,
            version,
            headers,
            body,
            head_len: body_start.min(raw.len()),
        })
    }

    /// The values of every header named `name` (any case), in arrival order.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    }

    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.header_values(name).next()
    }
}

/// Whether `b` may appear in an HTTP header name (RFC 9110 `token`).
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Split the head from the body at the first empty line (LF or CRLF), or at the
/// end when there is none. Returns the head and the index where the body starts.
fn split_head(raw: &[u8]) -> (&[u8], usize) {
    let mut line_start = 0;
    while line_start < raw.len() {
        let end = raw[line_start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| line_start + i);
        let Some(end) = end else { break };
        let line = &raw[line_start..end];
        if line.is_empty() || line == b"\r" {
            return (&raw[..line_start], end + 1);
        }
        line_start = end + 1;
    }
    (raw, raw.len())
}

fn parse_request_line(line: &str, no: usize) -> Result<(&str, &str, &str), ParseError> {
    let err = |reason| ParseError::RequestLine { line: no, reason };
    let line = line.trim_end();
    let first_space = line.find(' ').ok_or(err("is not METHOD TARGET HTTP/1.1"))?;
    let last_space = line.rfind(' ').unwrap_or(first_space);
    if last_space == first_space {
        return Err(err("has no HTTP version (expected METHOD TARGET HTTP/1.1)"));
    }
    let method = &line[..first_space];
    let target = line[first_space + 1..last_space].trim_matches(' ');
    let version = &line[last_space + 1..];
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(err("has an invalid method"));
    }
    if !version.starts_with("HTTP/") {
        return Err(err("does not end with an HTTP version such as HTTP/1.1"));
    }
    if target.is_empty() {
        return Err(err("has an empty target"));
    }
    if !target.starts_with('/') && target != "*" {
        return Err(err("target must be a path starting with '/'"));
    }
    Ok((method, target, version))
}

fn push_header<'a>(
    headers: &mut SmallVec<[Header<'a>; INLINE_HEADERS]>,
    content_length: &mut Option<usize>,
    head: &'a str,
    (no, name, start, end): (usize, &'a str, usize, usize),
) -> Result<(), ParseError> {
    let value = head[start..end.max(start)].trim_matches([' ', '\t']);
    if name.eq_ignore_ascii_case("content-length") {
        // RFC 9110 allows digits only; `parse` would also take a leading '+'.
        let n = Some(value)
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or(ParseError::ContentLength { line: no })?;
        if content_length.is_some_and(|earlier| earlier != n) {
            return Err(ParseError::ConflictingContentLength { line: no });
        }
        *content_length = Some(n);
    }
    headers.push(Header { name, value });
    Ok(())
}

/// Byte offset of `part` (a subslice) within `whole`.
fn offset_of(whole: &str, part: &str) -> usize {
    part.as_ptr() as usize - whole.as_ptr() as usize
}

/// Lines of the head with their 1-based numbers, without line terminators.
struct Lines<'a> {
    rest: &'a str,
    no: usize,
}

impl<'a> Lines<'a> {
    fn new(head: &'a str) -> Lines<'a> {
        Lines { rest: head, no: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        if self.rest.is_empty() {
            return None;
        }
        self.no += 1;
        let (line, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.rest = rest;
        Some((self.no, line.strip_suffix('\r').unwrap_or(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lf_request_without_final_blank_line() {
        let r =
            Request::parse(b"GET /a?b=c HTTP/1.1\nHost:example.com\nX-Amz-Date:20150830T123600Z")
                .unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/a");
        assert_eq!(r.query, Some("b=c"));
        assert_eq!(r.headers.len(), 2);
        assert_eq!(r.header("host"), Some("example.com"));
        assert_eq!(r.header("x-amz-date"), Some("20150830T123600Z"));
        assert!(r.body.is_empty());
    }

    #[test]
    fn parses_crlf_request_with_body_and_content_length() {
        let raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcdef";
        let r = Request::parse(raw).unwrap();
        assert_eq!(r.body, b"abc");
        assert_eq!(r.header("content-length"), Some("3"));
    }

    #[test]
    fn binary_body_is_kept_verbatim() {
        let mut raw = b"PUT /k HTTP/1.1\r\nHost: h\r\n\r\n".to_vec();
        raw.extend_from_slice(&[0, 159, 255, b'\n', 0]);
        let r = Request::parse(&raw).unwrap();
        assert_eq!(r.body, &[0, 159, 255, b'\n', 0]);
    }

    #[test]
    fn folded_header_spans_continuation_lines() {
        let r = Request::parse(b"GET / HTTP/1.1\nMy-Header1:value1\n  value2\n     value3\nHost:h")
            .unwrap();
        assert_eq!(
            r.header("my-header1"),
            Some("value1\n  value2\n     value3")
        );
        assert_eq!(r.header("host"), Some("h"));
    }

    #[test]
    fn raw_space_in_target_is_kept() {
        let r = Request::parse(b"GET /example space/ HTTP/1.1\nHost:h").unwrap();
        assert_eq!(r.path, "/example space/");
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            Request::parse(b"GET / HTTP/1.1\nHost h"),
            Err(ParseError::Header {
                line: 2,
                reason: "has no ':'"
            })
        );
        assert_eq!(
            Request::parse(b"GET / HTTP/1.1\n  folded\n"),
            Err(ParseError::Header {
                line: 2,
                reason: "continuation line has no header to continue"
            })
        );
        assert!(matches!(
            Request::parse(b"hello"),
            Err(ParseError::RequestLine { line: 1, .. })
        ));
        assert_eq!(Request::parse(b""), Err(ParseError::Empty));
        assert_eq!(
            Request::parse(b"POST / HTTP/1.1\nContent-Length: 9\n\nabc"),
            Err(ParseError::BodyTruncated {
                declared: 9,
                actual: 3
            })
        );
        assert_eq!(
            Request::parse(b"GET / HTTP/1.1\nHost: a\nX: \xff\n"),
            Err(ParseError::NotUtf8 { line: 3 })
        );
    }

    #[test]
    fn content_length_is_digits_and_never_contradicts_itself() {
        assert_eq!(
            Request::parse(b"POST / HTTP/1.1\nContent-Length: +3\n\nabc"),
            Err(ParseError::ContentLength { line: 2 })
        );
        assert_eq!(
            Request::parse(b"POST / HTTP/1.1\nContent-Length: 3\nContent-Length: 1\n\nabc"),
            Err(ParseError::ConflictingContentLength { line: 3 })
        );
        let same = Request::parse(b"POST / HTTP/1.1\nContent-Length: 3\nContent-Length: 3\n\nabc");
        assert_eq!(same.unwrap().body, b"abc");
    }

    #[test]
    fn duplicate_headers_keep_arrival_order() {
        let r = Request::parse(b"GET / HTTP/1.1\nA:1\nB:2\nA:3").unwrap();
        let values: Vec<_> = r.header_values("a").collect();
        assert_eq!(values, ["1", "3"]);
    }
}
