//! SigV4's URI encoding: every byte except the unreserved characters
//! (`A-Z a-z 0-9 - _ . ~`) becomes `%XX` with upper-case hex; in paths `/` is
//! kept. Also percent-decoding (lenient: a `%` not followed by two hex digits
//! stays literal), [`Recoded`], which decodes and re-encodes on the fly so
//! that query parameters can be sorted by their encoded form without building
//! it, and the lower-case hex of digests and signatures.
//!
//! Byte classes are 256-entry tables, so the verification path tests a byte
//! with one load and copies runs of bytes that need no escaping in one go; hex
//! is converted with branch-free arithmetic on fixed-size arrays, which the
//! compiler vectorizes.

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Marks a byte that SigV4 leaves unencoded.
const UNRESERVED: u8 = 1;
/// Marks a byte that a path keeps unencoded (`UNRESERVED` or `/`).
const PATH_SAFE: u8 = 2;

/// The class of every byte: `UNRESERVED` and `PATH_SAFE` bits.
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            table[b] = UNRESERVED | PATH_SAFE;
        }
        b += 1;
    }
    table[b'/' as usize] = PATH_SAFE;
    table
};

/// The value of every hex digit (either case), `NOT_HEX` for other bytes.
static HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 16 {
        let digit = b"0123456789abcdef"[i];
        table[digit as usize] = i as u8;
        table[digit.to_ascii_uppercase() as usize] = i as u8;
        i += 1;
    }
    table
};

const NOT_HEX: u8 = 0xff;

/// Whether SigV4 leaves `b` unencoded.
#[inline]
pub fn is_unreserved(b: u8) -> bool {
    CLASS[b as usize] & UNRESERVED != 0
}

/// Append the SigV4 URI encoding of `bytes` to `out`; `/` is kept when
/// `keep_slash` is set (paths) and encoded otherwise (query names and values).
pub fn encode_into(out: &mut Vec<u8>, bytes: &[u8], keep_slash: bool) {
    let keep = if keep_slash { PATH_SAFE } else { UNRESERVED };
    let mut rest = bytes;
    while !rest.is_empty() {
        // Copy the run of bytes that stay as they are in one call.
        let run = rest
            .iter()
            .position(|&b| CLASS[b as usize] & keep == 0)
            .unwrap_or(rest.len());
        out.extend_from_slice(&rest[..run]);
        let Some((&b, tail)) = rest[run..].split_first() else {
            break;
        };
        push_escaped(out, b);
        rest = tail;
    }
}

#[inline]
fn push_escaped(out: &mut Vec<u8>, b: u8) {
    out.extend_from_slice(&[
        b'%',
        HEX_UPPER[(b >> 4) as usize],
        HEX_UPPER[(b & 15) as usize],
    ]);
}

/// The SigV4 URI encoding of `s` as a new string (`/` encoded).
pub fn encode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    encode_into(&mut out, s.as_bytes(), false);
    // Encoding produces only ASCII.
    String::from_utf8(out).unwrap_or_default()
}

#[inline]
fn hex_value(b: u8) -> Option<u8> {
    Some(HEX_VALUE[b as usize]).filter(|&v| v != NOT_HEX)
}

/// The 32 bytes that 64 lower-case hex digits spell; `None` for any other
/// length, for upper-case digits and for non-hex bytes.
pub(crate) fn decode_lower_hex_32(hex: &[u8]) -> Option<[u8; 32]> {
    let digits: &[u8; 64] = hex.try_into().ok()?;
    // Branch-free arithmetic over fixed-size arrays, which the compiler
    // vectorizes: every digit is checked and converted, then pairs combine.
    let mut values = [0u8; 64];
    let mut valid = true;
    for (value, &b) in values.iter_mut().zip(digits) {
        let (digit, letter) = (b.wrapping_sub(b'0'), b.wrapping_sub(b'a'));
        valid &= (digit < 10) | (letter < 6);
        *value = if digit < 10 {
            digit
        } else {
            letter.wrapping_add(10)
        };
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(values.chunks_exact(2)) {
        *byte = pair[0] << 4 | (pair[1] & 15);
    }
    valid.then_some(out)
}

/// Whether `s` is 64 lower-case hex digits (a hex SHA-256 as SigV4 writes it).
pub(crate) fn is_lower_hex_64(s: &[u8]) -> bool {
    let Ok(digits) = <&[u8; 64]>::try_from(s) else {
        return false;
    };
    digits.iter().fold(true, |valid, &b| {
        valid & ((b.wrapping_sub(b'0') < 10) | (b.wrapping_sub(b'a') < 6))
    })
}

/// The lower-case hex of a 32-byte digest.
pub(crate) fn lower_hex_32(bytes: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    lower_hex_32_into(bytes, &mut out);
    out
}

/// [`lower_hex_32`] written into `out`.
#[inline]
pub(crate) fn lower_hex_32_into(bytes: &[u8; 32], out: &mut [u8; 64]) {
    // `0`-`9` then `a`-`f`: a nibble above 9 skips the 39 bytes between them.
    let digit = |n: u8| n + b'0' + (9u8.wrapping_sub(n) >> 7) * 39;
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = digit(b >> 4);
        pair[1] = digit(b & 15);
    }
}

/// Percent-decoded bytes of `raw`; `+` stays `+` (SigV4 does not treat it as a
/// space), and a `%` without two hex digits after it stays literal.
pub fn decoded(raw: &[u8]) -> Decoded<'_> {
    Decoded { raw, pos: 0 }
}

/// Append the percent-decoding of `raw` to `out`.
pub fn decode_into(out: &mut Vec<u8>, raw: &[u8]) {
    for_each_decoded_run(raw, |run| out.extend_from_slice(run));
}

/// Percent-decode `raw` as runs of output bytes, in order: each run of bytes
/// without `%` whole, then each decoded (or literal) `%` byte alone; what
/// [`decoded`] yields, in fewer and longer pieces.
pub(crate) fn for_each_decoded_run(raw: &[u8], mut emit: impl FnMut(&[u8])) {
    let mut rest = raw;
    while let Some(percent) = rest.iter().position(|&b| b == b'%') {
        if percent > 0 {
            emit(&rest[..percent]);
        }
        let escaped = match rest.get(percent + 1..percent + 3) {
            Some(&[hi, lo]) => hex_value(hi).zip(hex_value(lo)),
            _ => None,
        };
        match escaped {
            Some((hi, lo)) => {
                emit(&[hi << 4 | lo]);
                rest = &rest[percent + 3..];
            }
            None => {
                emit(b"%");
                rest = &rest[percent + 1..];
            }
        }
    }
    if !rest.is_empty() {
        emit(rest);
    }
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
    // Without `%`, decoding changes nothing and encoding is a plain copy
    // wherever the bytes are unreserved.
    if !raw.contains(&b'%') {
        encode_into(out, raw, false);
        return;
    }
    for b in decoded(raw) {
        if is_unreserved(b) {
            out.push(b);
        } else {
            push_escaped(out, b);
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
    fn decoding_by_runs_matches_the_byte_iterator() {
        for raw in [
            "",
            "%",
            "%4",
            "%41",
            "a%2Fb%zz%4",
            "%41+%",
            "%%41",
            "abc",
            "%E1%88%B4x",
            "50%",
        ] {
            let mut runs = Vec::new();
            decode_into(&mut runs, raw.as_bytes());
            let bytes: Vec<u8> = decoded(raw.as_bytes()).collect();
            assert_eq!(runs, bytes, "{raw}");
        }
    }

    #[test]
    fn lower_hex_round_trips_and_refuses_every_other_spelling() {
        let bytes: [u8; 32] = std::array::from_fn(|i| (i * 37 + 5) as u8);
        let hex = lower_hex_32(&bytes);
        assert_eq!(hex.as_slice(), hex::encode(bytes).as_bytes());
        assert_eq!(decode_lower_hex_32(&hex), Some(bytes));
        assert!(is_lower_hex_64(&hex));
        for b in 0..=255u8 {
            let mut changed = hex;
            changed[17] = b;
            let lower = b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
            assert_eq!(decode_lower_hex_32(&changed).is_some(), lower, "{b}");
            assert_eq!(is_lower_hex_64(&changed), lower, "{b}");
        }
        assert_eq!(decode_lower_hex_32(&hex[..63]), None);
        assert!(!is_lower_hex_64(&hex[..63]));
        let all: [u8; 32] = std::array::from_fn(|i| (i * 8) as u8);
        assert_eq!(lower_hex_32(&all).as_slice(), hex::encode(all).as_bytes());
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
