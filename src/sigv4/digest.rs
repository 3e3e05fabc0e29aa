//! SHA-256 and HMAC-SHA256 for the RustCrypto backend ([`super::crypto`]),
//! driven block by block on `sha2`'s compression function (which uses the
//! CPU's SHA extensions where it has them).
//!
//! Why not the `sha2` and `hmac` crates' own hashers: on the verification
//! path their per-call state (a block buffer behind a core wrapper, HMAC's
//! two of them, returned through `Result`) is built, moved and finalized
//! three times per request. On a 2-vCPU AMD EPYC the path's own hash and
//! HMAC took 459 ns with them and 421 ns this way, against 372 ns for the
//! same 11 blocks in one call of the block function (`cargo bench --bench
//! sigv4 -- 'verify/(crypto-only|bound)/rustcrypto'`). Here a hasher is 32
//! bytes of state and a 64-byte block, an HMAC key is its two pad states
//! (what [`super::crypto::PrekeyedKey`] caches), whole blocks go to the
//! block function straight from the caller's bytes, and nothing is moved
//! but those. The construction is RFC 2104's; the tests below check it
//! against the `hmac` crate, `sha2` and the FIPS 180 and RFC 4231 vectors.

use sha2::digest::consts::U64;
use sha2::digest::generic_array::GenericArray;

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// HMAC's block size, bytes.
const BLOCK: usize = 64;

/// Compress one 64-byte block into `state`.
#[inline]
fn compress(state: &mut [u32; 8], block: &[u8]) {
    sha2::compress256(
        state,
        std::slice::from_ref(GenericArray::<u8, U64>::from_slice(block)),
    );
}

/// Compress the whole blocks of `data` (its length a multiple of 64) into
/// `state` in one call of the block function: each call loads, shuffles
/// and stores the state, about 4 ns, so blocks go together.
#[inline]
#[allow(unsafe_code)]
fn compress_blocks(state: &mut [u32; 8], data: &[u8]) {
    debug_assert_eq!(data.len() % BLOCK, 0);
    let n = data.len() / BLOCK;
    // SAFETY: `GenericArray<u8, U64>` is `repr(transparent)` over nested
    // `repr(C)` pairs of `u8` arrays: 64 contiguous bytes, alignment 1 (the
    // test `blocks_are_64_plain_bytes` checks size and alignment). So `n`
    // of them have exactly the layout of the first `n * 64` bytes of
    // `data`, which the result borrows for its whole life. `sha2`'s own
    // block buffer makes the same cast.
    let blocks: &[GenericArray<u8, U64>] =
        unsafe { std::slice::from_raw_parts(data.as_ptr().cast(), n) };
    sha2::compress256(state, blocks);
}

/// A running SHA-256: the state, the bytes of an unfinished block, and the
/// length so far.
#[derive(Clone, Debug)]
pub struct Sha256 {
    state: [u32; 8],
    block: [u8; BLOCK],
    /// Bytes of `block` in use (0 to 63).
    filled: usize,
    /// Bytes hashed so far, `block`'s included.
    total: u64,
}

impl Default for Sha256 {
    fn default() -> Self {
        Sha256::new()
    }
}

impl Sha256 {
    /// A hash of nothing yet.
    pub fn new() -> Sha256 {
        Sha256::resumed(IV, 0)
    }

    /// A hash that has already compressed `total` bytes (whole blocks) into
    /// `state`: an HMAC after its pad block.
    fn resumed(state: [u32; 8], total: u64) -> Sha256 {
        Sha256 {
            state,
            block: [0; BLOCK],
            filled: 0,
            total,
        }
    }

    /// Feed `data`.
    #[inline]
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.filled > 0 {
            let take = (BLOCK - self.filled).min(data.len());
            self.block[self.filled..self.filled + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled < BLOCK {
                return;
            }
            compress(&mut self.state, &self.block);
            self.filled = 0;
        }
        let whole = data.len() / BLOCK * BLOCK;
        if whole > 0 {
            compress_blocks(&mut self.state, &data[..whole]);
        }
        let rest = &data[whole..];
        self.block[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    /// The digest of everything fed.
    pub fn finish(mut self) -> [u8; 32] {
        let bits = self.total.wrapping_mul(8);
        self.block[self.filled] = 0x80;
        self.block[self.filled + 1..].fill(0);
        // The length takes the last eight bytes; without room, a block more.
        if self.filled + 1 > BLOCK - 8 {
            compress(&mut self.state, &self.block);
            self.block = [0; BLOCK];
        }
        self.block[BLOCK - 8..].copy_from_slice(&bits.to_be_bytes());
        compress(&mut self.state, &self.block);
        let mut out = [0u8; 32];
        for (bytes, word) in out.chunks_exact_mut(4).zip(self.state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

/// SHA-256 of `data`: its whole blocks straight from `data` in one call
/// of the block function, then the rest with the padding in another.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut state = IV;
    let whole = data.len() / BLOCK * BLOCK;
    if whole > 0 {
        compress_blocks(&mut state, &data[..whole]);
    }
    let mut tail = [0u8; 2 * BLOCK];
    let rest = &data[whole..];
    tail[..rest.len()].copy_from_slice(rest);
    let end = pad(&mut tail, rest.len(), data.len() as u64);
    compress_blocks(&mut state, &tail[..end]);
    digest_of(state)
}

/// SHA-256 of the bytes in `buf`, which it pads in place so that every
/// block goes to the block function in one call; `buf` holds exactly its
/// bytes again afterwards (its capacity may grow by a block, once).
pub fn sha256_in_place(buf: &mut Vec<u8>) -> [u8; 32] {
    let len = buf.len();
    let padded = (len + 9).div_ceil(BLOCK) * BLOCK;
    buf.resize(padded, 0);
    pad(buf, len, len as u64);
    let mut state = IV;
    compress_blocks(&mut state, buf);
    buf.truncate(len);
    digest_of(state)
}

/// Write SHA-256's padding after the `len` message bytes at the start of
/// `buf` for a message of `total` bytes in all (the bytes after `len` must
/// be zero), and return where the padded blocks end.
#[inline]
fn pad(buf: &mut [u8], len: usize, total: u64) -> usize {
    let end = (len + 9).div_ceil(BLOCK) * BLOCK;
    buf[len] = 0x80;
    buf[end - 8..end].copy_from_slice(&total.wrapping_mul(8).to_be_bytes());
    end
}

/// The digest that `state` spells, big-endian.
#[inline]
fn digest_of(state: [u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (bytes, word) in out.chunks_exact_mut(4).zip(state) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Longest message that [`HmacKey::sign`] and [`hmac`] hash from one
/// buffer on the stack (with the pad block and padding, five blocks);
/// longer ones stream.
const ONE_CALL_MESSAGE: usize = 4 * BLOCK - 9;

/// The pad block of `key` (at most a block long) XOR `byte`.
#[inline]
fn pad_block(key: &[u8; BLOCK], byte: u8) -> [u8; BLOCK] {
    let mut out = [0u8; BLOCK];
    for (o, k) in out.iter_mut().zip(key) {
        *o = k ^ byte;
    }
    out
}

/// Copy the concatenation of `parts` into `buf` from `at`; where it ends.
#[inline]
fn gather(buf: &mut [u8], mut at: usize, parts: &[&[u8]]) -> usize {
    for part in parts {
        buf[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    at
}

/// The outer hash of an HMAC: `state` after its pad block, over `inner`.
#[inline]
fn outer_hash(mut state: [u32; 8], inner: &[u8; 32]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    block[..32].copy_from_slice(inner);
    pad(&mut block, 32, (BLOCK + 32) as u64);
    compress(&mut state, &block);
    digest_of(state)
}

/// An HMAC-SHA256 key as its two pad states: the state after compressing
/// `key XOR ipad`, and after `key XOR opad`. Making one costs two
/// compressions (three for a key longer than a block); every signature
/// with it then costs only the message's and the outer hash's.
#[derive(Clone)]
pub struct HmacKey {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl HmacKey {
    /// The pad states of `key`.
    pub fn new(key: &[u8]) -> HmacKey {
        let mut padded = [0u8; BLOCK];
        if key.len() > BLOCK {
            padded[..32].copy_from_slice(&sha256(key));
        } else {
            padded[..key.len()].copy_from_slice(key);
        }
        let mut inner = IV;
        let mut outer = IV;
        for b in padded.iter_mut() {
            *b ^= 0x36;
        }
        compress(&mut inner, &padded);
        // From `key ^ ipad` to `key ^ opad` in place.
        for b in padded.iter_mut() {
            *b ^= 0x36 ^ 0x5c;
        }
        compress(&mut outer, &padded);
        HmacKey { inner, outer }
    }

    /// HMAC-SHA256 of the concatenation of `parts`: a message of up to
    /// 247 bytes (`ONE_CALL_MESSAGE`) is gathered and padded in one buffer and
    /// hashed in one call of the block function, the outer hash in another.
    #[inline]
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let inner = if len <= ONE_CALL_MESSAGE {
            let mut buf = [0u8; 4 * BLOCK];
            gather(&mut buf, 0, parts);
            let end = pad(&mut buf, len, (BLOCK + len) as u64);
            let mut state = self.inner;
            compress_blocks(&mut state, &buf[..end]);
            digest_of(state)
        } else {
            let mut inner = Sha256::resumed(self.inner, BLOCK as u64);
            for part in parts {
                inner.update(part);
            }
            inner.finish()
        };
        outer_hash(self.outer, &inner)
    }
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey(<redacted>)")
    }
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`. With a key of
/// at most a block and a message of up to 247 bytes (`ONE_CALL_MESSAGE`), the
/// inner pad block, the message and its padding are hashed in one call of
/// the block function and the outer pad block and hash in another, instead
/// of pre-keying first (four calls).
pub fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if key.len() > BLOCK || len > ONE_CALL_MESSAGE {
        return HmacKey::new(key).sign(parts);
    }
    let mut padded = [0u8; BLOCK];
    padded[..key.len()].copy_from_slice(key);
    let mut buf = [0u8; 5 * BLOCK];
    buf[..BLOCK].copy_from_slice(&pad_block(&padded, 0x36));
    gather(&mut buf, BLOCK, parts);
    let end = pad(&mut buf, BLOCK + len, (BLOCK + len) as u64);
    let mut state = IV;
    compress_blocks(&mut state, &buf[..end]);
    let inner = digest_of(state);
    let mut outer = [0u8; 2 * BLOCK];
    outer[..BLOCK].copy_from_slice(&pad_block(&padded, 0x5c));
    outer[BLOCK..BLOCK + 32].copy_from_slice(&inner);
    let end = pad(&mut outer, BLOCK + 32, (BLOCK + 32) as u64);
    let mut state = IV;
    compress_blocks(&mut state, &outer[..end]);
    digest_of(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::Mac;
    use proptest::prelude::*;
    use sha2::Digest;

    fn oracle_hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn blocks_are_64_plain_bytes() {
        // What the cast in `compress_blocks` relies on.
        assert_eq!(std::mem::size_of::<GenericArray<u8, U64>>(), 64);
        assert_eq!(std::mem::align_of::<GenericArray<u8, U64>>(), 1);
        let data: Vec<u8> = (0..=255).collect();
        let mut by_cast = IV;
        compress_blocks(&mut by_cast, &data);
        let mut one_by_one = IV;
        for block in data.chunks_exact(BLOCK) {
            compress(&mut one_by_one, block);
        }
        assert_eq!(by_cast, one_by_one);
    }

    #[test]
    fn fips_180_vectors() {
        let cases: [(&[u8], &str); 3] = [
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(hex::encode(sha256(input)), want);
        }
    }

    #[test]
    fn rfc_4231_vectors() {
        // Test cases 1, 2 and 6 (a key longer than a block).
        let long_key = [0xaau8; 131];
        let cases: [(&[u8], &[u8], &str); 3] = [
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &long_key,
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, want) in cases {
            assert_eq!(hex::encode(hmac(key, &[data])), want);
        }
    }

    #[test]
    fn every_padding_boundary_matches_sha2() {
        // Lengths around one and two blocks, where the length field does or
        // does not fit beside the 0x80 byte.
        let data: Vec<u8> = (0..200u8).collect();
        for len in 0..data.len() {
            let want: [u8; 32] = sha2::Sha256::digest(&data[..len]).into();
            assert_eq!(sha256(&data[..len]), want, "length {len}");
            let mut buf = data[..len].to_vec();
            assert_eq!(sha256_in_place(&mut buf), want, "length {len}");
            assert_eq!(buf, &data[..len], "length {len}");
        }
    }

    proptest! {
        #[test]
        fn split_feeds_and_keys_agree_with_the_crates(
            key in proptest::collection::vec(any::<u8>(), 0..150),
            data in proptest::collection::vec(any::<u8>(), 0..400),
            cuts in proptest::collection::vec(0usize..400, 0..4),
        ) {
            // The message fed in pieces, as the string to sign is.
            let mut at: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            at.sort_unstable();
            let mut parts = Vec::new();
            let mut from = 0;
            for c in at {
                parts.push(&data[from..c]);
                from = c;
            }
            parts.push(&data[from..]);
            prop_assert_eq!(hmac(&key, &parts), oracle_hmac(&key, &data));
            prop_assert_eq!(HmacKey::new(&key).sign(&parts), oracle_hmac(&key, &data));
            let mut h = Sha256::new();
            for p in &parts {
                h.update(p);
            }
            let want: [u8; 32] = sha2::Sha256::digest(&data).into();
            prop_assert_eq!(h.finish(), want);
        }
    }
}
