//! Fixtures shared by the bench files: a small signed S3 GET like the load
//! generator's, with its keys, built once outside every timed closure.

#![allow(dead_code)]

use sigstorm::sigv4::canonical::Rules;
use sigstorm::sigv4::crypto::{Backend, PrekeyedKey, RegionKey, SecretAccessKey, SigningKey};
use sigstorm::sigv4::http::Request;
use sigstorm::sigv4::sign::{sign, Credentials, Options, Payload};

/// The secret of the fixture's key.
pub const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The fixture's access key id.
pub const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// 2026-06-01T12:00:00Z.
pub const NOW: i64 = 1_780_315_200;
/// The unsigned request: an S3 GetObject, virtual-hosted style.
pub const UNSIGNED_GET: &[u8] = b"GET /objects/obj-17.dat HTTP/1.1\r\nHost: sigstorm-data.s3.eu-north-1.amazonaws.com\r\nUser-Agent: sigstorm/0.1\r\n\r\n";

/// A signed request with every key a verifier might hold.
pub struct Fixture {
    /// The signed raw request.
    pub raw: Vec<u8>,
    /// The canonical request it signs.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The secret.
    pub secret: SecretAccessKey,
    /// kRegion for the scope.
    pub region_key: RegionKey,
    /// kSigning for the scope.
    pub signing_key: SigningKey,
    /// kSigning with its pads hashed (ring).
    pub prekeyed_ring: PrekeyedKey,
    /// kSigning with its pads hashed (RustCrypto).
    pub prekeyed_rustcrypto: PrekeyedKey,
}

/// The signed GET.
pub fn fixture() -> Fixture {
    let secret = SecretAccessKey::new(SECRET).unwrap();
    let request = Request::parse(UNSIGNED_GET).unwrap();
    let creds = Credentials {
        access_key_id: ACCESS_KEY_ID,
        secret: &secret,
        session_token: None,
    };
    let signed = sign(&request, UNSIGNED_GET, &creds, &options()).unwrap();
    let region_key = Backend::Ring.region_key(&secret, "20260601", "eu-north-1");
    let signing_key = Backend::Ring.signing_key(&region_key, "s3");
    Fixture {
        raw: signed.request,
        canonical_request: signed.canonical_request,
        string_to_sign: signed.string_to_sign,
        prekeyed_ring: PrekeyedKey::new(Backend::Ring, &signing_key),
        prekeyed_rustcrypto: PrekeyedKey::new(Backend::RustCrypto, &signing_key),
        secret,
        region_key,
        signing_key,
    }
}

/// How the fixture is signed.
pub fn options() -> Options<'static> {
    Options {
        region: "eu-north-1",
        service: "s3",
        time: NOW,
        rules: Rules::for_service("s3"),
        payload: Payload::HashHeader,
        presign: None,
        backend: Backend::Ring,
    }
}

/// SHA-256 compressions (64-byte blocks) to hash `len` bytes.
pub fn sha256_blocks(len: usize) -> usize {
    (len + 9).div_ceil(64)
}

/// SHA-256 compressions of one HMAC-SHA256 over `len` bytes with a key of at
/// most 64 bytes: the inner hash (pad block + message), the outer hash (pad
/// block + inner digest). `prekeyed` drops the two pad blocks.
pub fn hmac_blocks(len: usize, prekeyed: bool) -> usize {
    let blocks = sha256_blocks(64 + len) + sha256_blocks(64 + 32);
    if prekeyed {
        blocks - 2
    } else {
        blocks
    }
}
