//! SigV4's URI encoding: every byte except the unreserved characters
//! (`A-Z a-z 0-9 - _ . ~`) becomes `%XX` with upper-case hex; in paths `/` is
//! kept. Also percent-decoding (lenient: a `%` not followed by two hex digits
//! stays literal) and [`Recoded`], which decodes and re-encodes on the fly so
//! that query parameters can be sorted by their encoded form without building
//! it.

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Whether SigV4 leaves `b` unencoded.
#[inline]
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Append the SigV4 URI encoding of `bytes` to `out`; `/` is kept when
/// `keep_slash` is set (paths) and encoded otherwise (query names and values).
pub fn encode_into(out: &mut Vec<u8>, bytes: &[u8], keep_slash: bool) {
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX_UPPER[(b >> 4) as usize],
                HEX_UPPER[(b & 15) as usize],
            ]);
        }
    }
}

/// The SigV4 URI encoding of `s` as a new string (`/` encoded).
pub fn encode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    encode_into(&mut out, s.as_bytes(), false);
    // Encoding produces only ASCII.
    String::from_utf8(out).unwrap_or_default()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decoded bytes of `raw`; `+` stays `+` (SigV4 does not treat it as a
/// space), and a `%` without two hex digits after it stays literal.
pub fn decoded(raw: &[u8]) -> Decoded<'_> {
    Decoded { raw, pos: 0 }
}

/// Append the percent-decoding of `raw` to `out`.
pub fn decode_into(out: &mut Vec<u8>, raw: &[u8]) {
    out.extend(decoded(raw));
}

/// Iterator over percent-decoded bytes; see [`decoded`].
#[derive(Clone)]
pub struct Decoded<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let b = *self.raw.get(self.pos)?;
        if b == b'%' {
            if let (Some(hi), Some(lo)) = (
                self.raw.get(self.pos + 1).copied().and_then(hex_value),
                self.raw.get(self.pos + 2).copied().and_then(hex_value),
            ) {
                self.pos += 3;
                return Some(hi << 4 | lo);
            }
        }
        self.pos += 1;
        Some(b)
    }
}

/// Iterator over the SigV4 encoding of the percent-decoding of a raw string:
/// what a query name or value looks like in the canonical query.
#[derive(Clone)]
pub struct Recoded<'a> {
    inner: Decoded<'a>,
    pending: [u8; 2],
    pending_len: u8,
}

/// The canonical (decoded, then SigV4-encoded) form of a raw query component.
pub fn recoded(raw: &[u8]) -> Recoded<'_> {
    Recoded {
        inner: decoded(raw),
        pending: [0; 2],
        pending_len: 0,
    }
}

impl Iterator for Recoded<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        if self.pending_len > 0 {
            let b = self.pending[2 - self.pending_len as usize];
            self.pending_len -= 1;
            return Some(b);
        }
        let b = self.inner.next()?;
        if is_unreserved(b) {
            return Some(b);
        }
        self.pending = [HEX_UPPER[(b >> 4) as usize], HEX_UPPER[(b & 15) as usize]];
        self.pending_len = 2;
        Some(b'%')
    }
}

/// Append the canonical form of a raw query component to `out`.
pub fn recode_into(out: &mut Vec<u8>, raw: &[u8]) {
    for b in decoded(raw) {
        if is_unreserved(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[
                b'%',
                HEX_UPPER[(b >> 4) as usize],
                HEX_UPPER[(b & 15) as usize],
            ]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reserved_and_non_ascii_bytes() {
        assert_eq!(encode("a b/c~d"), "a%20b%2Fc~d");
        assert_eq!(encode("ሴ"), "%E1%88%B4");
        let mut out = Vec::new();
        encode_into(&mut out, b"/a b/", true);
        assert_eq!(out, b"/a%20b/");
    }

    #[test]
    fn decoding_is_lenient_about_stray_percent() {
        let d: Vec<u8> = decoded(b"a%2Fb%zz%4").collect();
        assert_eq!(d, b"a/b%zz%4");
        let d: Vec<u8> = decoded(b"%41+%").collect();
        assert_eq!(d, b"A+%");
    }

    #[test]
    fn recoded_matches_decode_then_encode() {
        for raw in ["a%2fb", "x y", "%E1%88%B4", "50%", "+", "~-._", "%7E"] {
            let fast: Vec<u8> = recoded(raw.as_bytes()).collect();
            let mut slow = Vec::new();
            recode_into(&mut slow, raw.as_bytes());
            let dec: Vec<u8> = decoded(raw.as_bytes()).collect();
            let mut oracle = Vec::new();
            encode_into(&mut oracle, &dec, false);
            assert_eq!(fast, oracle, "{raw}");
            assert_eq!(slow, oracle, "{raw}");
        }
    }
}
