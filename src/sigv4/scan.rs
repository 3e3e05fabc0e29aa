//! Word-at-a-time scanning of request text: finding a byte, every position of
//! a byte, comparing names without ASCII case, and trimming exactly as `str`
//! trims. The parser ([`super::http`]) and the readers of SigV4's parameters
//! ([`super::auth`], [`super::canonical`], [`super::verify`]) spend most of
//! their time in these, on strings of 4 to 200 bytes: eight bytes are tested
//! per step in a `u64` (SWAR), without `unsafe` and without calling `memchr`,
//! whose setup costs more than such short strings take to scan.
//!
//! Every function agrees exactly with its `std` counterpart, which the tests
//! check exhaustively or against `std` as an oracle.

const LOW: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The index of the first `needle` in `haystack`, eight bytes at a time.
#[inline]
pub(crate) fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    let pattern = LOW * u64::from(needle);
    let mut chunks = haystack.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ pattern;
        // Marks every zero byte of `x`, and possibly bytes above one; the
        // lowest mark is exact, and only the first match is wanted here.
        let found = x.wrapping_sub(LOW) & !x & HIGH;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    tail.iter().position(|&b| b == needle).map(|i| offset + i)
}

/// Whether `bytes` holds a byte below `limit` (at most 128), eight bytes
/// at a time and without an early exit: one subtraction per word marks a
/// word with such a byte (the marks above it may be wrong, the test whether
/// there is any is exact).
#[inline]
pub(crate) fn contains_below(bytes: &[u8], limit: u8) -> bool {
    debug_assert!(limit <= 128);
    let sub = LOW * u64::from(limit);
    let below = |w: u64| w.wrapping_sub(sub) & !w & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut found = 0;
    for chunk in &mut chunks {
        found |= below(le_word(chunk));
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        // Past the tail the word is filled with 0x80, never below `limit`.
        let word = tail
            .iter()
            .rev()
            .fold(HIGH >> (8 * tail.len()), |word, &b| {
                word << 8 | u64::from(b)
            });
        found |= below(word);
    }
    found != 0
}

/// The pieces of `s` between `separator` bytes, as `str::split` yields them
/// for an ASCII separator (an empty string is one empty piece).
pub(crate) fn split(s: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let current = rest?;
        match find_byte(current.as_bytes(), separator) {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The positions of every `needle` in a byte string, eight bytes at a time.
pub(crate) struct Positions<'r> {
    bytes: &'r [u8],
    /// `needle` in every byte of a word.
    pattern: u64,
    /// Where the current word starts.
    base: usize,
    /// One set bit (the top bit of its byte) per match not yet returned in
    /// the current word.
    found: u64,
}

impl<'r> Positions<'r> {
    pub(crate) fn new(bytes: &'r [u8], needle: u8) -> Positions<'r> {
        let pattern = LOW * u64::from(needle);
        Positions {
            bytes,
            pattern,
            base: 0,
            found: zero_bytes(word_at(bytes, 0) ^ pattern),
        }
    }
}

impl Iterator for Positions<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.found == 0 {
            self.base += 8;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.found = zero_bytes(word_at(self.bytes, self.base) ^ self.pattern);
        }
        let at = self.base + (self.found.trailing_zeros() / 8) as usize;
        self.found &= self.found - 1;
        // Past the end, `word_at` reads zeros, which match a zero needle.
        (at < self.bytes.len()).then_some(at)
    }
}

/// Eight bytes from `at` as a little-endian word, zero past the end.
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(full) => le_word(full),
        // Byte by byte: a copy of a variable length would call `memcpy`.
        None => bytes
            .get(at..)
            .unwrap_or_default()
            .iter()
            .rev()
            .fold(0, |word, &b| word << 8 | u64::from(b)),
    }
}

/// The top bit of every zero byte of `word`, exactly: unlike the shorter
/// subtract-and-mask test, no borrow can mark a byte above a zero byte.
#[inline]
fn zero_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((word & LOW7) + LOW7) | word | LOW7)
}

/// Whether `a` and `b` are equal ignoring ASCII case, exactly as
/// `<[u8]>::eq_ignore_ascii_case`; header names are compared eight bytes at
/// a time, since the standard loop folds one byte at a time.
#[inline]
pub(crate) fn eq_ignore_ascii_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let fold_eq = |x: u64, y: u64| lower_ascii_word(x) == lower_ascii_word(y);
    match a.len() {
        0..4 => a.eq_ignore_ascii_case(b),
        // Two four-byte loads that may overlap cover four to eight bytes.
        4..=8 => {
            let pair = |s: &[u8]| u64::from(le_u32(s)) << 32 | u64::from(le_u32(&s[s.len() - 4..]));
            fold_eq(pair(a), pair(b))
        }
        len => {
            let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
            let same = a_words
                .zip(b_words)
                .all(|(x, y)| fold_eq(le_word(x), le_word(y)));
            // The last eight bytes cover the remainder, overlapping.
            same && fold_eq(le_word(&a[len - 8..]), le_word(&b[len - 8..]))
        }
    }
}

/// Whether `a` and `b` are the same bytes, as `a == b`: strings of up to 16
/// bytes (region and service names) are compared with two overlapping
/// loads each instead of a call of `memcmp`.
#[inline]
pub(crate) fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        0..4 => a == b,
        4..=8 => {
            let pair = |s: &[u8]| u64::from(le_u32(s)) << 32 | u64::from(le_u32(&s[s.len() - 4..]));
            pair(a) == pair(b)
        }
        9..=16 => {
            let pair = |s: &[u8]| (le_word(s), le_word(&s[s.len() - 8..]));
            pair(a) == pair(b)
        }
        _ => a == b,
    }
}

/// Four bytes as a little-endian word.
#[inline]
fn le_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u32::from_le_bytes(word)
}

/// Eight bytes as a little-endian word.
#[inline]
fn le_word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

/// `word` with each ASCII upper-case letter byte lower-cased (eight bytes
/// at once); bytes of 0x80 and above are left alone, as `to_ascii_lowercase`
/// leaves them.
#[inline]
fn lower_ascii_word(word: u64) -> u64 {
    let low7 = word & !HIGH;
    // Adding these sets a byte's top bit when its low seven bits are at
    // least 'A', respectively above 'Z'; no carry crosses a byte.
    let from_a = low7 + LOW * u64::from(0x80 - b'A');
    let past_z = low7 + LOW * u64::from(0x80 - b'Z' - 1);
    let upper = from_a & !past_z & !word & HIGH;
    word | upper >> 2
}

/// The length of `s` without trailing whitespace, exactly as
/// [`str::trim_end`] counts it (Unicode `White_Space`), without decoding
/// characters unless the line ends in a non-ASCII byte.
#[inline]
pub(crate) fn trim_end_len(s: &str) -> usize {
    let bytes = s.as_bytes();
    let mut end = bytes.len();
    while let Some(&last) = bytes[..end].last() {
        if !last.is_ascii() {
            return s[..end].trim_end().len();
        }
        // The ASCII `White_Space` characters: TAB, LF, VT, FF, CR and space.
        if !matches!(last, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') {
            break;
        }
        end -= 1;
    }
    end
}

/// `s` without leading and trailing whitespace, exactly as [`str::trim`]
/// (Unicode `White_Space`), without decoding characters when both ends are
/// ASCII other than whitespace (the common case: nothing to trim).
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    let plain = |b: &u8| b.is_ascii() && !matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    let bytes = s.as_bytes();
    if bytes.first().is_some_and(plain) && bytes.last().is_some_and(plain) {
        s
    } else {
        s.trim()
    }
}

/// `s` without leading and trailing spaces and tabs.
#[inline]
pub(crate) fn trim_spaces_tabs(s: &str) -> &str {
    let bytes = s.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_bytes_at_every_position_and_length() {
        for len in 0..40 {
            for at in 0..=len {
                let mut hay = vec![b'a'; len];
                if at < len {
                    hay[at] = b'\n';
                }
                let expected = hay.iter().position(|&b| b == b'\n');
                assert_eq!(find_byte(&hay, b'\n'), expected, "{len} {at}");
            }
        }
    }

    #[test]
    fn finds_bytes_below_a_limit_exactly() {
        for len in 0..30 {
            for at in 0..=len {
                for byte in [0u8, b'\t', b' ', b'!', 0x7f, 0x80, 0xff] {
                    let mut hay: Vec<u8> = (0..len).map(|i| b'!' + (i * 13 % 200) as u8).collect();
                    if at < len {
                        hay[at] = byte;
                    }
                    for limit in [0x21u8, 1, 0x80] {
                        let expected = hay.iter().any(|&h| h < limit);
                        assert_eq!(
                            contains_below(&hay, limit),
                            expected,
                            "{len} {at} {byte} {limit}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn eq_bytes_agrees_with_eq() {
        for len in 0..24 {
            let a: Vec<u8> = (0..len).map(|i| b'a' + i as u8).collect();
            assert!(eq_bytes(&a, &a.clone()));
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 1;
                assert!(!eq_bytes(&a, &b), "{len} {at}");
            }
            assert!(!eq_bytes(&a, &a[..len.saturating_sub(1)]) || len == 0);
        }
    }

    #[test]
    fn splits_like_str_split() {
        for s in [
            "",
            ";",
            "host",
            "host;x-amz-date",
            ";a;;b;",
            "a;b;c;d;e;f;g;h;i;j;k",
            "é;é",
        ] {
            let ours: Vec<&str> = split(s, b';').collect();
            let std: Vec<&str> = s.split(';').collect();
            assert_eq!(ours, std, "{s:?}");
        }
    }

    #[test]
    fn positions_are_found_exactly_at_every_offset() {
        for needle in [b'\n', b'/', 0] {
            for len in 0..40 {
                for mask in [0u64, 1, 0b1011, 0x8000_0001, 0xffff_ffff, 0x55_5555_5555] {
                    let hay: Vec<u8> = (0..len)
                        .map(|i| {
                            if mask >> i & 1 == 1 {
                                needle
                            } else {
                                needle ^ (1 + (i % 3) as u8)
                            }
                        })
                        .collect();
                    let expected: Vec<usize> = (0..len).filter(|&i| hay[i] == needle).collect();
                    let found: Vec<usize> = Positions::new(&hay, needle).collect();
                    assert_eq!(found, expected, "{needle} {len} {mask}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn case_folding_agrees_with_std(
            a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..24),
            flips in proptest::collection::vec(proptest::prelude::any::<bool>(), 24),
            tweak in proptest::prelude::any::<Option<(usize, u8)>>(),
        ) {
            let mut b: Vec<u8> = a
                .iter()
                .zip(&flips)
                .map(|(&c, &flip)| if flip { c ^ 0x20 } else { c })
                .collect();
            if let Some((at, byte)) = tweak {
                if !b.is_empty() {
                    let at = at % b.len();
                    b[at] = byte;
                }
            }
            proptest::prop_assert_eq!(eq_ignore_ascii_case(&a, &b), a.eq_ignore_ascii_case(&b));
        }
    }

    #[test]
    fn case_folding_covers_every_byte_pair_at_every_length() {
        for len in [1, 3, 4, 5, 8, 9, 13, 20] {
            for at in [0, len / 2, len - 1] {
                for x in 0..=255u8 {
                    for y in [x, x ^ 0x20, x ^ 0x01, x ^ 0x80] {
                        let mut a = b"x-amz-content-sha256"[..len].to_vec();
                        let mut b = b"X-Amz-Content-SHA256"[..len].to_vec();
                        (a[at], b[at]) = (x, y);
                        let std = a.eq_ignore_ascii_case(&b);
                        assert_eq!(eq_ignore_ascii_case(&a, &b), std, "{len} {at} {x} {y}");
                    }
                }
            }
        }
    }

    #[test]
    fn trims_match_the_str_trims() {
        for s in [
            "",
            " ",
            "a",
            "a \t\r\n\x0b\x0c",
            "a\u{a0}",
            "a\u{2028} \u{3000}",
            "\u{1c}",
            "é ",
            "a\u{85}",
            "\u{a0}a",
            " a",
            "\x0ba",
            "\x1fa\x1f",
            "é",
            "\ta b\t",
        ] {
            assert_eq!(trim_end_len(s), s.trim_end().len(), "{s:?}");
            assert_eq!(trim(s), s.trim(), "{s:?}");
            assert_eq!(trim_spaces_tabs(s), s.trim_matches([' ', '\t']), "{s:?}");
        }
    }
}
