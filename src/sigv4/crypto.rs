//! HMAC-SHA256 and SHA-256 behind one small trait, with two backends (`ring`
//! and RustCrypto's `sha2` under an HMAC of our own), and SigV4's key
//! derivation chain:
//!
//! `kDate = HMAC("AWS4" + secret, yyyymmdd)`, `kRegion = HMAC(kDate, region)`,
//! `kService = HMAC(kRegion, service)`, `kSigning = HMAC(kService, "aws4_request")`.
//!
//! The types say where a key may live: a [`SecretAccessKey`] belongs to the
//! control plane and to clients, a [`RegionKey`] is what the control plane
//! replicates to a region, a [`SigningKey`] is what an endpoint may cache.
//!
//! The RustCrypto backend hashes with `sha2`'s compression function through
//! [`super::digest`] (RFC 2104's HMAC over it), which keeps per-call state
//! off the verification path; the `hmac` crate is its test oracle.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::digest::{self, HmacKey};

/// A running SHA-256 computation.
pub trait Sha256Stream {
    /// Feed more bytes.
    fn feed(&mut self, data: &[u8]);
    /// The digest of everything fed.
    fn finish(self) -> [u8; 32];
}

/// The primitives SigV4 needs, implemented once per crypto library.
pub trait Crypto {
    /// The backend's streaming SHA-256.
    type Stream: Sha256Stream;

    /// Start a streaming SHA-256.
    fn stream() -> Self::Stream;

    /// SHA-256 of `data`.
    fn sha256(data: &[u8]) -> [u8; 32];

    /// HMAC-SHA256 of the concatenation of `parts` under `key`.
    fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32];

    /// SHA-256 of the bytes in `buf`, which a backend may use as room for
    /// the padding (it holds exactly the same bytes again afterwards).
    fn sha256_in_place(buf: &mut Vec<u8>) -> [u8; 32] {
        Self::sha256(buf)
    }
}

/// The `ring` backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ring;

/// The RustCrypto backend: `sha2`'s block function, with RFC 2104's HMAC
/// over it in [`super::digest`] (the `hmac` crate is its test oracle).
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

impl Sha256Stream for ring::digest::Context {
    fn feed(&mut self, data: &[u8]) {
        ring::digest::Context::update(self, data);
    }

    fn finish(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::Context::finish(self).as_ref());
        out
    }
}

impl Crypto for Ring {
    type Stream = ring::digest::Context;

    fn stream() -> Self::Stream {
        ring::digest::Context::new(&ring::digest::SHA256)
    }

    fn sha256(data: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, data).as_ref());
        out
    }

    fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
        let mut ctx = ring::hmac::Context::with_key(&key);
        for part in parts {
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

impl Sha256Stream for digest::Sha256 {
    fn feed(&mut self, data: &[u8]) {
        self.update(data);
    }

    fn finish(self) -> [u8; 32] {
        digest::Sha256::finish(self)
    }
}

impl Crypto for RustCrypto {
    type Stream = digest::Sha256;

    fn stream() -> Self::Stream {
        digest::Sha256::new()
    }

    fn sha256(data: &[u8]) -> [u8; 32] {
        digest::sha256(data)
    }

    fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        digest::hmac(key, parts)
    }

    fn sha256_in_place(buf: &mut Vec<u8>) -> [u8; 32] {
        digest::sha256_in_place(buf)
    }
}

/// Which crypto backend to use, chosen at run time by a workload or a flag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `ring` (the default).
    #[default]
    Ring,
    /// RustCrypto's `sha2` block function under [`super::digest`]'s HMAC.
    #[serde(alias = "rust-crypto")]
    RustCrypto,
}

impl Backend {
    /// The name used in workloads, flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Ring => "ring",
            Backend::RustCrypto => "rustcrypto",
        }
    }

    /// SHA-256 of `data` with this backend.
    pub fn sha256(self, data: &[u8]) -> [u8; 32] {
        match self {
            Backend::Ring => Ring::sha256(data),
            Backend::RustCrypto => RustCrypto::sha256(data),
        }
    }

    /// HMAC-SHA256 of the concatenation of `parts` under `key`.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        match self {
            Backend::Ring => Ring::hmac(key, parts),
            Backend::RustCrypto => RustCrypto::hmac(key, parts),
        }
    }

    /// The region-scoped key for `date` (`yyyymmdd`): two HMACs.
    pub fn region_key(self, secret: &SecretAccessKey, date: &str, region: &str) -> RegionKey {
        match self {
            Backend::Ring => region_key::<Ring>(secret, date, region),
            Backend::RustCrypto => region_key::<RustCrypto>(secret, date, region),
        }
    }

    /// The signing key for `service` from a region key: two HMACs.
    pub fn signing_key(self, region_key: &RegionKey, service: &str) -> SigningKey {
        match self {
            Backend::Ring => signing_key::<Ring>(region_key, service),
            Backend::RustCrypto => signing_key::<RustCrypto>(region_key, service),
        }
    }

    /// The signing key straight from the secret: four HMACs.
    pub fn full_signing_key(
        self,
        secret: &SecretAccessKey,
        date: &str,
        region: &str,
        service: &str,
    ) -> SigningKey {
        self.signing_key(&self.region_key(secret, date, region), service)
    }
}

/// A signing key with HMAC's inner and outer pad blocks already hashed, so
/// each signature costs two SHA-256 compressions fewer than from the raw key.
/// What the `per-service-prekeyed` variant caches.
#[derive(Clone)]
pub enum PrekeyedKey {
    /// ring's `hmac::Key` (it stores both block states).
    Ring(ring::hmac::Key),
    /// The two pad states over `sha2`'s compression function.
    RustCrypto(HmacKey),
}

impl PrekeyedKey {
    /// Pre-key `key` for `backend`: two SHA-256 compressions, once.
    pub fn new(backend: Backend, key: &SigningKey) -> PrekeyedKey {
        match backend {
            Backend::Ring => {
                PrekeyedKey::Ring(ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key.0))
            }
            Backend::RustCrypto => PrekeyedKey::RustCrypto(HmacKey::new(&key.0)),
        }
    }

    /// HMAC-SHA256 of the concatenation of `parts`.
    pub fn sign(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut out = [0u8; 32];
        match self {
            PrekeyedKey::Ring(key) => {
                let mut ctx = ring::hmac::Context::with_key(key);
                for part in parts {
                    ctx.update(part);
                }
                out.copy_from_slice(ctx.sign().as_ref());
            }
            PrekeyedKey::RustCrypto(keyed) => out = keyed.sign(parts),
        }
        out
    }
}

impl fmt::Debug for PrekeyedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrekeyedKey(<redacted>)")
    }
}

/// `kRegion` for `date` (`yyyymmdd`) and `region`: two HMACs with `C`.
pub fn region_key<C: Crypto>(secret: &SecretAccessKey, date: &str, region: &str) -> RegionKey {
    let mut prefixed = [0u8; 4 + SecretAccessKey::MAX_LEN];
    prefixed[..4].copy_from_slice(b"AWS4");
    let s = secret.expose().as_bytes();
    prefixed[4..4 + s.len()].copy_from_slice(s);
    let k_date = C::hmac(&prefixed[..4 + s.len()], &[date.as_bytes()]);
    RegionKey(C::hmac(&k_date, &[region.as_bytes()]))
}

/// `kSigning` for `service` from `kRegion`: two HMACs with `C`.
pub fn signing_key<C: Crypto>(region_key: &RegionKey, service: &str) -> SigningKey {
    let k_service = C::hmac(&region_key.0, &[service.as_bytes()]);
    SigningKey(C::hmac(&k_service, &[super::SCOPE_TERMINATOR.as_bytes()]))
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Backend, String> {
        match s.to_ascii_lowercase().as_str() {
            "ring" => Ok(Backend::Ring),
            "rustcrypto" | "rust-crypto" => Ok(Backend::RustCrypto),
            other => Err(format!(
                "unknown crypto backend '{other}' (expected ring or rustcrypto)"
            )),
        }
    }
}

/// A secret access key. Only the control plane and clients hold one; no
/// data-plane type has a field of this type. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretAccessKey(String);

impl SecretAccessKey {
    /// The longest secret accepted, in bytes (AWS's are 40).
    pub const MAX_LEN: usize = 128;

    /// Wrap a secret.
    ///
    /// # Errors
    ///
    /// A secret that is empty or longer than [`SecretAccessKey::MAX_LEN`] bytes.
    pub fn new(secret: impl Into<String>) -> Result<SecretAccessKey, String> {
        let secret = secret.into();
        if secret.is_empty() || secret.len() > Self::MAX_LEN {
            return Err(format!(
                "a secret access key must be 1 to {} bytes, not {}",
                Self::MAX_LEN,
                secret.len()
            ));
        }
        Ok(SecretAccessKey(secret))
    }

    /// The secret itself, for deriving keys.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretAccessKey(<redacted>)")
    }
}

/// `kRegion`: the key the control plane replicates to a region for one date.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RegionKey(pub [u8; 32]);

/// `kSigning`: the key that signs one scope (date, region, service).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SigningKey(pub [u8; 32]);

impl fmt::Debug for RegionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegionKey(<redacted>)")
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn backends_agree_on_known_signing_key() {
        // AWS's documented example: the signing key for 20150830/us-east-1/iam.
        let expected = "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9";
        let secret = SecretAccessKey::new(SECRET).unwrap();
        for backend in [Backend::Ring, Backend::RustCrypto] {
            let key = backend.full_signing_key(&secret, "20150830", "us-east-1", "iam");
            assert_eq!(hex::encode(key.0), expected, "{backend}");
        }
    }

    #[test]
    fn region_then_service_equals_full_derivation() {
        let secret = SecretAccessKey::new(SECRET).unwrap();
        let b = Backend::Ring;
        let region = b.region_key(&secret, "20240101", "eu-north-1");
        assert_eq!(
            b.signing_key(&region, "s3"),
            b.full_signing_key(&secret, "20240101", "eu-north-1", "s3")
        );
    }

    #[test]
    fn streams_match_one_shot_digests() {
        let mut ring_stream = Ring::stream();
        ring_stream.feed(b"ab");
        ring_stream.feed(b"c");
        let mut rc_stream = RustCrypto::stream();
        rc_stream.feed(b"a");
        rc_stream.feed(b"bc");
        let expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hex::encode(ring_stream.finish()), expected);
        assert_eq!(hex::encode(rc_stream.finish()), expected);
        assert_eq!(hex::encode(Ring::sha256(b"abc")), expected);
    }

    #[test]
    fn prekeyed_keys_sign_like_raw_keys() {
        let key = SigningKey([7u8; 32]);
        for backend in [Backend::Ring, Backend::RustCrypto] {
            let prekeyed = PrekeyedKey::new(backend, &key);
            assert_eq!(
                prekeyed.sign(&[b"ab", b"c"]),
                backend.hmac(&key.0, &[b"abc"]),
                "{backend}"
            );
        }
    }

    #[test]
    fn hmacs_match_ring_s_own_across_block_limits() {
        // Both sides of the one-call limits of the RustCrypto backend's HMAC
        // on key and message length, the message in one part and in three.
        let bytes: Vec<u8> = (0..400u32).map(|i| (i * 7 + 3) as u8).collect();
        for key_len in [0, 1, 32, 63, 64, 65, 100] {
            for len in [0, 1, 55, 56, 63, 64, 119, 120, 134, 191, 192, 193, 250] {
                let (key, data) = (&bytes[..key_len], &bytes[key_len..key_len + len]);
                let oracle =
                    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), data);
                let (a, rest) = data.split_at(len / 3);
                let (b, c) = rest.split_at(rest.len() / 2);
                assert_eq!(
                    &Ring::hmac(key, &[data])[..],
                    oracle.as_ref(),
                    "{key_len} {len}"
                );
                assert_eq!(
                    &Ring::hmac(key, &[a, b, c])[..],
                    oracle.as_ref(),
                    "{key_len} {len}"
                );
                assert_eq!(
                    &RustCrypto::hmac(key, &[a, b, c])[..],
                    oracle.as_ref(),
                    "{key_len} {len}"
                );
            }
        }
    }

    #[test]
    fn debug_never_prints_secrets() {
        let secret = SecretAccessKey::new(SECRET).unwrap();
        assert!(!format!("{secret:?}").contains("EXAMPLE"));
        assert!(SecretAccessKey::new("").is_err());
    }
}
