//! The canonical request that SigV4 hashes, built from a parsed request.
//!
//! Two path rules: S3 decodes the path once and encodes it once, with no
//! dot-segment normalization; every other service normalizes the path (dot
//! segments removed, empty segments collapsed) and then encodes the
//! already-encoded path again, so `%3A` becomes `%253A`. Query parameters are
//! decoded and re-encoded, then sorted by encoded name and encoded value; a
//! valueless parameter becomes `name=`. Signed headers are written lower-cased,
//! duplicates joined with commas in arrival order, values trimmed with inner
//! runs of spaces (and obsolete line folds) folded to one space.
//!
//! Everything is written into a caller's buffer, so the verification path can
//! reuse one buffer per thread and allocate nothing. Header values that need
//! no folding, and runs of bytes that need no escaping, are copied whole.

use smallvec::SmallVec;

use super::encode::{encode_into, for_each_decoded_run, recode_into, recoded};
use super::http::Header;
use super::scan::{contains_below, eq_ignore_ascii_case, find_byte};

/// How a service canonicalizes the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathRule {
    /// S3: decode once, encode once, keep dot segments and empty segments.
    S3,
    /// Every other service: normalize, then encode the encoded path again.
    Normalized,
}

/// The canonicalization rules that differ between services.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// How the path is canonicalized.
    pub path: PathRule,
    /// Whether a presigned URL without `x-amz-content-sha256` covers its body
    /// as `UNSIGNED-PAYLOAD` (S3) or by its SHA-256 (other services).
    pub presigned_payload_unsigned: bool,
}

impl Rules {
    /// The rules AWS applies for the signing name `service`.
    pub fn for_service(service: &str) -> Rules {
        if service == "s3" {
            Rules {
                path: PathRule::S3,
                presigned_payload_unsigned: true,
            }
        } else {
            Rules {
                path: PathRule::Normalized,
                presigned_payload_unsigned: false,
            }
        }
    }
}

/// The parts of a request that the canonical request covers.
#[derive(Clone, Copy, Debug)]
pub struct Parts<'r> {
    /// The HTTP method.
    pub method: &'r str,
    /// The raw path, as sent.
    pub path: &'r str,
    /// The raw query, as sent (without `?`).
    pub query: Option<&'r str>,
    /// The request's headers in arrival order.
    pub headers: &'r [Header<'r>],
    /// The `SignedHeaders` list, `;`-separated.
    pub signed_headers: &'r str,
    /// The payload hash (hex SHA-256, or a literal such as `UNSIGNED-PAYLOAD`).
    pub payload_hash: &'r str,
    /// Leave `X-Amz-Signature` out of the query (verifying a presigned URL).
    pub skip_signature_param: bool,
}

/// A header named in `SignedHeaders` is absent from the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingHeader<'r>(pub &'r str);

/// Write the canonical request for `parts` into `out` (cleared first).
///
/// # Errors
///
/// [`MissingHeader`] when `SignedHeaders` names a header the request lacks.
pub fn write<'r>(
    out: &mut Vec<u8>,
    parts: &Parts<'r>,
    rule: PathRule,
) -> Result<(), MissingHeader<'r>> {
    let mut names = SignedNames::new();
    split_signed_names(parts.signed_headers, &mut names);
    let mut matched = Matched::default();
    let Ok(()) = match_headers(parts.headers, &names, &mut matched, |_| {
        Ok::<(), std::convert::Infallible>(())
    });
    write_matched(out, parts, &names, &matched, rule)
}

/// The names of a `SignedHeaders` list, split once: a verifier checks them
/// and writes them, and splitting twice cost as much as the check.
pub type SignedNames<'r> = SmallVec<[&'r str; 16]>;

/// [`write()`] with `parts.signed_headers` already split into `names`,
/// which must be exactly its pieces (whether to lower-case them is decided
/// from `parts.signed_headers`).
///
/// # Errors
///
/// [`MissingHeader`] when `SignedHeaders` names a header the request lacks.
pub(crate) fn write_with_names<'r>(
    out: &mut Vec<u8>,
    parts: &Parts<'r>,
    names: impl IntoIterator<Item = &'r str>,
    rule: PathRule,
) -> Result<(), MissingHeader<'r>> {
    let lower_case = write_opening(out, parts, rule);
    for name in names {
        write_header(out, name, lower_case, parts.headers)?;
    }
    write_closing(out, parts);
    Ok(())
}

/// The method, path and query lines (`out` cleared first); whether
/// `SignedHeaders` is lower-case already.
fn write_opening(out: &mut Vec<u8>, parts: &Parts<'_>, rule: PathRule) -> bool {
    out.clear();
    out.extend_from_slice(parts.method.as_bytes());
    out.push(b'\n');
    write_path(out, parts.path, rule);
    out.push(b'\n');
    write_query(out, parts.query.unwrap_or(""), parts.skip_signature_param);
    out.push(b'\n');
    // SDKs send the list lower-case, so one test spares lower-casing names;
    // a fold without early exit, which the compiler vectorizes.
    !parts
        .signed_headers
        .bytes()
        .fold(false, |upper, b| upper | b.is_ascii_uppercase())
}

/// The blank line, the signed headers and the payload hash.
fn write_closing(out: &mut Vec<u8>, parts: &Parts<'_>) {
    out.push(b'\n');
    out.extend_from_slice(parts.signed_headers.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(parts.payload_hash.as_bytes());
}

/// The names of a `SignedHeaders` list, as `split(';')` yields them,
/// pushed one by one into `names` (cleared first): cheaper than collecting
/// the iterator, and returning so large a value would copy it.
pub(crate) fn split_signed_names<'r>(list: &'r str, names: &mut SignedNames<'r>) {
    names.clear();
    let mut rest = list;
    while let Some(at) = find_byte(rest.as_bytes(), b';') {
        names.push(&rest[..at]);
        rest = &rest[at + 1..];
    }
    names.push(rest);
}

/// Which request header each signed name stands for, found in one pass
/// over the headers: a verifier needs it both to refuse unsigned headers
/// and to write the signed ones, and comparing every name with every header
/// twice cost more than the rest of the header lines.
#[derive(Clone, Debug)]
pub(crate) struct Matched {
    /// Per signed name, the index of its first header; [`Matched::ABSENT`]
    /// when the request has none.
    first: SmallVec<[usize; 16]>,
    /// Whether some name has more than one header (values to join).
    repeated: bool,
}

impl Matched {
    const ABSENT: usize = usize::MAX;
}

impl Default for Matched {
    fn default() -> Matched {
        Matched {
            first: SmallVec::new(),
            repeated: false,
        }
    }
}

/// Match `headers` with `names` (ignoring ASCII case), in arrival order,
/// into `matched`; `unsigned` is told of each header that no name matches,
/// and its first error ends the pass.
#[inline]
pub(crate) fn match_headers<'r, E>(
    headers: &[Header<'r>],
    names: &[&str],
    matched: &mut Matched,
    mut unsigned: impl FnMut(&Header<'r>) -> Result<(), E>,
) -> Result<(), E> {
    let Matched { first, repeated } = matched;
    first.clear();
    first.resize(names.len(), Matched::ABSENT);
    *repeated = false;
    for (i, header) in headers.iter().enumerate() {
        let mut signed = false;
        for (slot, name) in first.iter_mut().zip(names) {
            // The length and the first byte (with bit 5 set, which
            // lower-cases a letter) turn most pairs away before the comparison.
            let (a, b) = (name.as_bytes(), header.name.as_bytes());
            if a.len() == b.len()
                && a.first().map(|c| c | 0x20) == b.first().map(|c| c | 0x20)
                && eq_ignore_ascii_case(a, b)
            {
                if *slot == Matched::ABSENT {
                    *slot = i;
                } else {
                    *repeated = true;
                }
                signed = true;
            }
        }
        if !signed {
            unsigned(header)?;
        }
    }
    Ok(())
}

/// [`write_with_names`] with the headers already matched to `names`
/// (by [`match_headers`] over `parts.headers`).
///
/// # Errors
///
/// [`MissingHeader`] when `SignedHeaders` names a header the request lacks.
pub(crate) fn write_matched<'r>(
    out: &mut Vec<u8>,
    parts: &Parts<'r>,
    names: &[&'r str],
    matched: &Matched,
    rule: PathRule,
) -> Result<(), MissingHeader<'r>> {
    if matched.repeated || matched.first.len() != names.len() {
        return write_with_names(out, parts, names.iter().copied(), rule);
    }
    let lower_case = write_opening(out, parts, rule);
    for (&name, &at) in names.iter().zip(&matched.first) {
        let Some(header) = parts.headers.get(at) else {
            return Err(MissingHeader(name));
        };
        if lower_case {
            out.extend_from_slice(name.as_bytes());
        } else {
            out.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
        }
        out.push(b':');
        write_header_value(out, header.value);
        out.push(b'\n');
    }
    write_closing(out, parts);
    Ok(())
}

/// Write the canonical path of `raw` under `rule`.
pub fn write_path(out: &mut Vec<u8>, raw: &str, rule: PathRule) {
    match rule {
        PathRule::S3 => {
            if raw.is_empty() {
                out.push(b'/');
                return;
            }
            // Without `%`, decoding changes nothing.
            if find_byte(raw.as_bytes(), b'%').is_none() {
                encode_into(out, raw.as_bytes(), true);
                return;
            }
            let mut decoded: SmallVec<[u8; 256]> = SmallVec::new();
            for_each_decoded_run(raw.as_bytes(), |run| decoded.extend_from_slice(run));
            encode_into(out, &decoded, true);
        }
        PathRule::Normalized => {
            let mut segments: SmallVec<[&str; 16]> = SmallVec::new();
            for segment in raw.split('/') {
                match segment {
                    "" | "." => {}
                    ".." => {
                        segments.pop();
                    }
                    s => segments.push(s),
                }
            }
            let last = raw.rsplit('/').next().unwrap_or("");
            let trailing_slash = raw.ends_with('/') || last == "." || last == "..";
            out.push(b'/');
            for (i, segment) in segments.iter().enumerate() {
                if i > 0 {
                    out.push(b'/');
                }
                encode_into(out, segment.as_bytes(), false);
            }
            if trailing_slash && !segments.is_empty() {
                out.push(b'/');
            }
        }
    }
}

/// Write the canonical query of the raw query string `raw`.
pub fn write_query(out: &mut Vec<u8>, raw: &str, skip_signature_param: bool) {
    // Most requests have no query; skip setting up the sort for them.
    if raw.is_empty() {
        return;
    }
    let mut params: SmallVec<[(&str, &str); 16]> = SmallVec::new();
    for piece in raw.split('&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        if skip_signature_param && recoded(name.as_bytes()).eq(b"X-Amz-Signature".iter().copied()) {
            continue;
        }
        params.push((name, value));
    }
    params.sort_unstable_by(|a, b| {
        recoded(a.0.as_bytes())
            .cmp(recoded(b.0.as_bytes()))
            .then_with(|| recoded(a.1.as_bytes()).cmp(recoded(b.1.as_bytes())))
    });
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        recode_into(out, name.as_bytes());
        out.push(b'=');
        recode_into(out, value.as_bytes());
    }
}

fn write_header<'r>(
    out: &mut Vec<u8>,
    name: &'r str,
    lower_case: bool,
    headers: &[Header<'_>],
) -> Result<(), MissingHeader<'r>> {
    let mut found = false;
    let named = |h: &&Header<'_>| eq_ignore_ascii_case(h.name.as_bytes(), name.as_bytes());
    for header in headers.iter().filter(named) {
        if found {
            out.push(b',');
        } else {
            // Lower-casing in place after copying would read back bytes just
            // stored (a store-forwarding stall), so it is done while copying.
            if lower_case {
                out.extend_from_slice(name.as_bytes());
            } else {
                out.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
            }
            out.push(b':');
            found = true;
        }
        write_header_value(out, header.value);
    }
    if !found {
        return Err(MissingHeader(name));
    }
    out.push(b'\n');
    Ok(())
}

/// Write a header value trimmed, with runs of spaces and obsolete line folds
/// (CR/LF followed by spaces or tabs) folded to one space.
pub fn write_header_value(out: &mut Vec<u8>, value: &str) {
    let bytes = value.as_bytes();
    if is_already_canonical(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut pending_space = false;
    let mut wrote = false;
    let mut in_fold = false;
    for &b in value.as_bytes() {
        match b {
            b'\r' | b'\n' => {
                in_fold = true;
                pending_space = true;
            }
            b' ' => pending_space = true,
            b'\t' if in_fold => {}
            _ => {
                in_fold = false;
                if pending_space && wrote {
                    out.push(b' ');
                }
                pending_space = false;
                out.push(b);
                wrote = true;
            }
        }
    }
}

/// Whether writing `value` would copy it unchanged: no CR or LF, no space at
/// either end and no two spaces in a row (most values have no space at all).
#[inline]
fn is_already_canonical(value: &[u8]) -> bool {
    // One pass, eight bytes at a time; the exact test below runs only for
    // values that have a space, CR, LF or another control byte.
    !contains_below(value, b' ' + 1)
        || (!value.contains(&b'\r')
            && !value.contains(&b'\n')
            && value.first() != Some(&b' ')
            && value.last() != Some(&b' ')
            && !value.windows(2).any(|pair| pair == b"  "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(raw: &str, rule: PathRule) -> String {
        let mut out = Vec::new();
        write_path(&mut out, raw, rule);
        String::from_utf8(out).unwrap()
    }

    fn query(raw: &str) -> String {
        let mut out = Vec::new();
        write_query(&mut out, raw, true);
        String::from_utf8(out).unwrap()
    }

    fn value(raw: &str) -> String {
        let mut out = Vec::new();
        write_header_value(&mut out, raw);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn normalized_paths_drop_dot_segments_and_double_encode() {
        assert_eq!(path("/example/..", PathRule::Normalized), "/");
        assert_eq!(path("/example1/example2/../..", PathRule::Normalized), "/");
        assert_eq!(path("//example//", PathRule::Normalized), "/example/");
        assert_eq!(path("/./example", PathRule::Normalized), "/example");
        assert_eq!(path("/a/b/.", PathRule::Normalized), "/a/b/");
        assert_eq!(path("", PathRule::Normalized), "/");
        assert_eq!(path("/a%3Ab", PathRule::Normalized), "/a%253Ab");
        assert_eq!(
            path("/example space/", PathRule::Normalized),
            "/example%20space/"
        );
    }

    #[test]
    fn s3_paths_are_decoded_and_encoded_once_without_normalizing() {
        assert_eq!(path("/./a//b/..", PathRule::S3), "/./a//b/..");
        assert_eq!(path("/test$file.text", PathRule::S3), "/test%24file.text");
        assert_eq!(path("/a%3Ab%2Fc", PathRule::S3), "/a%3Ab/c");
        assert_eq!(path("", PathRule::S3), "/");
    }

    #[test]
    fn query_is_sorted_by_encoded_name_then_value() {
        assert_eq!(query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(query("lifecycle"), "lifecycle=");
        assert_eq!(query("k=a b&j=%7e"), "j=~&k=a%20b");
        // Sorting is by the encoded form: '%' (0x25) sorts before letters.
        assert_eq!(query("%C3%A9=1&z=2&A=3"), "%C3%A9=1&A=3&z=2");
        assert_eq!(query("X-Amz-Signature=abc&x=1"), "x=1");
        assert_eq!(query(""), "");
        assert_eq!(query("a=1&&b=2"), "a=1&b=2");
    }

    /// The folding loop alone, without the verbatim fast path.
    fn folded_slowly(value: &str) -> String {
        let mut out = Vec::new();
        let (mut pending_space, mut wrote, mut in_fold) = (false, false, false);
        for &b in value.as_bytes() {
            match b {
                b'\r' | b'\n' => (in_fold, pending_space) = (true, true),
                b' ' => pending_space = true,
                b'\t' if in_fold => {}
                _ => {
                    in_fold = false;
                    if pending_space && wrote {
                        out.push(b' ');
                    }
                    pending_space = false;
                    out.push(b);
                    wrote = true;
                }
            }
        }
        String::from_utf8(out).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn values_fold_as_the_folding_loop_does(
            parts in proptest::collection::vec(
                proptest::sample::select(&["a", " ", "  ", "\t", "\r\n", "\n", "é", "b c"][..]),
                0..12,
            )
        ) {
            let raw = parts.concat();
            proptest::prop_assert_eq!(value(&raw), folded_slowly(&raw));
        }
    }

    #[test]
    fn header_values_are_trimmed_and_folded() {
        assert_eq!(value("  a   b  "), "a b");
        assert_eq!(
            value("value1\n  value2\n     value3"),
            "value1 value2 value3"
        );
        assert_eq!(value("value1\r\n\t value2"), "value1 value2");
        assert_eq!(value("a\tb"), "a\tb");
    }

    proptest::proptest! {
        #[test]
        fn matched_headers_write_as_the_scan_does(
            headers in proptest::collection::vec(
                (
                    proptest::sample::select(&["Host", "host", "X-Amz-Date", "x-amz-date", "A", "a", "User-Agent", "x-a"][..]),
                    proptest::sample::select(&["v", " w ", "a  b", "x\r\n y"][..]),
                ),
                0..8,
            ),
            list in proptest::sample::select(&[
                "host", "host;x-amz-date", "Host;X-Amz-Date", "a;host", "host;host", ";host", "a;user-agent;x-a", "",
            ][..]),
        ) {
            let headers: Vec<Header<'_>> =
                headers.iter().map(|&(name, value)| Header { name, value }).collect();
            let parts = Parts {
                method: "GET",
                path: "/a b",
                query: Some("b=1&a=2"),
                headers: &headers,
                signed_headers: list,
                payload_hash: "UNSIGNED-PAYLOAD",
                skip_signature_param: false,
            };
            for rule in [PathRule::S3, PathRule::Normalized] {
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                let fast_result = write(&mut fast, &parts, rule);
                let slow_result = write_with_names(&mut slow, &parts, list.split(';'), rule);
                proptest::prop_assert_eq!(fast_result, slow_result);
                if slow_result.is_ok() {
                    proptest::prop_assert_eq!(fast, slow);
                }
            }
        }
    }

    #[test]
    fn duplicate_headers_join_with_commas_in_arrival_order() {
        let headers = [
            Header {
                name: "Host",
                value: "h",
            },
            Header {
                name: "My-Header1",
                value: "value4",
            },
            Header {
                name: "my-header1",
                value: " value1 ",
            },
        ];
        let parts = Parts {
            method: "GET",
            path: "/",
            query: None,
            headers: &headers,
            signed_headers: "host;my-header1",
            payload_hash: "UNSIGNED-PAYLOAD",
            skip_signature_param: false,
        };
        let mut out = Vec::new();
        write(&mut out, &parts, PathRule::Normalized).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET\n/\n\nhost:h\nmy-header1:value4,value1\n\nhost;my-header1\nUNSIGNED-PAYLOAD"
        );
        let missing = Parts {
            signed_headers: "host;x-amz-date",
            ..parts
        };
        assert_eq!(
            write(&mut Vec::new(), &missing, PathRule::Normalized),
            Err(MissingHeader("x-amz-date"))
        );
    }
}
