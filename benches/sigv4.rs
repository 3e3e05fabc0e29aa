//! SigV4 on its own, without data planes, caches or threads: parsing the raw
//! request, building the canonical request, deriving keys, signing, and the
//! `verify` group, which sets each strategy's verification path beside the
//! physical floor and beside what a user would otherwise pick.
//!
//! The `verify` group starts from a parsed request, as a verifier behind an
//! HTTP server does: every keyless check, the canonical request, its hash,
//! the string to sign, the signature and the comparison. Parsing the raw bytes
//! is measured on its own (`sigv4/parse`), and with verification in
//! `sigv4/verify-from-bytes`.
//!
//! The floor (`bound/*`) is exactly the compressions the `per-service` path
//! must compute for this request (the canonical request's hash, then the
//! HMAC's inner and outer hashes), with the same backend: for `ring`, one
//! SHA-256 over a message sized to need that many (ring has no lower-level
//! call); for RustCrypto, `sha2`'s block function over that many blocks in
//! one call. `crypto-only/ring` makes exactly the backend calls of the
//! `per-service` path on the fixture's canonical request and string to sign:
//! what `per-service` costs beyond it is the keyless work (parsing the
//! parameters, the checks, writing the canonical request), and what it costs
//! beyond the bound is the backend's overhead per call (three digests
//! finished instead of one). A `per-service` or `crypto-only` time below its
//! bound, or a `full-derivation` time below `per-region`'s, would mean the
//! measurement itself is broken (work optimized away, or a fixture that skips
//! a step); every verifying closure asserts that it accepted, so a refused
//! request cannot pass as fast.

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sigstorm::sigv4::canonical::{self, Parts, Rules};
use sigstorm::sigv4::crypto::{self, Backend, Crypto, Ring, RustCrypto};
use sigstorm::sigv4::http::Request;
use sigstorm::sigv4::sign::{sign_with_key, Credentials};
use sigstorm::sigv4::verify::{prepare, Context, Prepared};

use common::{
    fixture, hmac_blocks, options, sha256_blocks, Fixture, ACCESS_KEY_ID, NOW, UNSIGNED_GET,
};

fn context() -> Context<'static> {
    Context {
        region: Some("eu-north-1"),
        service: Some("s3"),
        ..Context::at(NOW)
    }
}

/// Run every keyless check: what all strategies share.
fn prepared<'a, C: Crypto>(request: &Request<'a>, scratch: &mut Vec<u8>) -> Prepared<'a> {
    prepare::<C>(request, &context(), scratch).expect("the fixture passes every keyless check")
}

fn parse_and_canonicalize(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("sigv4");
    group.bench_function("parse", |b| {
        b.iter(|| Request::parse(black_box(&f.raw)).unwrap().headers.len())
    });
    let request = Request::parse(&f.raw).unwrap();
    let signed_headers = "host;x-amz-content-sha256;x-amz-date";
    let parts = Parts {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: &request.headers,
        signed_headers,
        payload_hash: sigstorm::sigv4::EMPTY_SHA256_HEX,
        skip_signature_param: false,
    };
    let mut out = Vec::with_capacity(512);
    canonical::write(&mut out, &parts, Rules::for_service("s3").path).unwrap();
    assert_eq!(String::from_utf8_lossy(&out), f.canonical_request);
    group.bench_function("canonicalize", |b| {
        b.iter(|| {
            canonical::write(&mut out, black_box(&parts), Rules::for_service("s3").path).unwrap();
            out.len()
        })
    });
    let mut scratch = Vec::with_capacity(512);
    group.bench_function("prepare", |b| {
        b.iter(|| prepared::<Ring>(black_box(&request), &mut scratch).provided[0])
    });
    // The keyless work alone: `prepare` with a backend that hashes nothing.
    group.bench_function("prepare-without-hashing", |b| {
        b.iter(|| prepared::<NoHashing>(black_box(&request), &mut scratch).provided[0])
    });
    group.bench_function("verify-from-bytes/per-service/ring", |b| {
        b.iter(|| {
            let request = Request::parse(black_box(&f.raw)).unwrap();
            prepared::<Ring>(&request, &mut scratch)
                .check::<Ring>(&f.signing_key)
                .unwrap()
        })
    });
    group.finish();
}

fn derive(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("derive");
    for backend in [Backend::Ring, Backend::RustCrypto] {
        group.bench_function(format!("region-key/{backend}"), |b| {
            b.iter(|| backend.region_key(black_box(&f.secret), "20260601", "eu-north-1"))
        });
        group.bench_function(format!("signing-key-from-region/{backend}"), |b| {
            b.iter(|| backend.signing_key(black_box(&f.region_key), "s3"))
        });
        group.bench_function(format!("full/{backend}"), |b| {
            b.iter(|| {
                backend.full_signing_key(black_box(&f.secret), "20260601", "eu-north-1", "s3")
            })
        });
    }
    group.finish();
}

fn signing(c: &mut Criterion) {
    let f = fixture();
    let request = Request::parse(UNSIGNED_GET).unwrap();
    let mut group = c.benchmark_group("sign");
    group.bench_function("with-cached-key/ring", |b| {
        b.iter(|| {
            sign_with_key(
                &request,
                UNSIGNED_GET,
                ACCESS_KEY_ID,
                None,
                black_box(&f.signing_key),
                &options(),
            )
            .unwrap()
            .request
            .len()
        })
    });
    let creds = Credentials {
        access_key_id: ACCESS_KEY_ID,
        secret: &f.secret,
        session_token: None,
    };
    group.bench_function("from-secret/ring", |b| {
        b.iter(|| {
            sigstorm::sigv4::sign::sign(&request, UNSIGNED_GET, black_box(&creds), &options())
                .unwrap()
                .request
                .len()
        })
    });
    group.finish();
}

fn verify_group(c: &mut Criterion) {
    let f = fixture();
    let blocks =
        sha256_blocks(f.canonical_request.len()) + hmac_blocks(f.string_to_sign.len(), false);
    let prekeyed_blocks =
        sha256_blocks(f.canonical_request.len()) + hmac_blocks(f.string_to_sign.len(), true);
    eprintln!(
        "verify: canonical request {} bytes, string to sign {} bytes: {blocks} SHA-256 compressions \
         ({prekeyed_blocks} pre-keyed)",
        f.canonical_request.len(),
        f.string_to_sign.len()
    );
    let mut group = c.benchmark_group("verify");
    let mut scratch = Vec::with_capacity(512);
    let request = Request::parse(&f.raw).unwrap();
    per_service::<Ring>(&mut group, "per-service/ring", &request, &f, &mut scratch);
    per_service::<RustCrypto>(
        &mut group,
        "per-service/rustcrypto",
        &request,
        &f,
        &mut scratch,
    );
    for (id, key) in [
        ("per-service-prekeyed/ring", &f.prekeyed_ring),
        ("per-service-prekeyed/rustcrypto", &f.prekeyed_rustcrypto),
    ] {
        group.bench_function(id, |b| {
            b.iter(|| {
                prepared::<Ring>(black_box(&request), &mut scratch)
                    .check_prekeyed(key)
                    .unwrap()
            })
        });
    }
    per_region::<Ring>(&mut group, "per-region/ring", &request, &f, &mut scratch);
    per_region::<RustCrypto>(
        &mut group,
        "per-region/rustcrypto",
        &request,
        &f,
        &mut scratch,
    );
    group.bench_function("full-derivation/ring", |b| {
        b.iter(|| {
            let p = prepared::<Ring>(black_box(&request), &mut scratch);
            let region_key = crypto::region_key::<Ring>(&f.secret, "20260601", "eu-north-1");
            p.check::<Ring>(&crypto::signing_key::<Ring>(&region_key, "s3"))
                .unwrap()
        })
    });
    // The floor: exactly `blocks` compressions in one SHA-256 call.
    let message = vec![0x5au8; blocks * 64 - 9];
    assert_eq!(sha256_blocks(message.len()), blocks);
    group.bench_function("bound/ring", |b| {
        b.iter(|| Ring::sha256(black_box(&message)))
    });
    // RustCrypto's floor is its block function itself: the same number of
    // blocks in one call, with no padding or hashing API around it.
    let blocks = vec![sha2::digest::generic_array::GenericArray::default(); blocks];
    group.bench_function("bound/rustcrypto", |b| {
        b.iter(|| {
            let mut state = [0u32; 8];
            sha2::compress256(&mut state, black_box(&blocks));
            state
        })
    });
    let message = vec![0x5au8; prekeyed_blocks * 64 - 9];
    group.bench_function("bound-prekeyed/ring", |b| {
        b.iter(|| Ring::sha256(black_box(&message)))
    });
    let (creq, sts) = (f.canonical_request.as_bytes(), f.string_to_sign.as_bytes());
    crypto_only::<Ring>(&mut group, "crypto-only/ring", creq, sts, &f);
    crypto_only::<RustCrypto>(&mut group, "crypto-only/rustcrypto", creq, sts, &f);
    peers(&mut group, &f);
    group.finish();
}

type Group<'g> = criterion::BenchmarkGroup<'g, criterion::measurement::WallTime>;

/// A backend that hashes nothing (every digest is zero), to time the
/// keyless work of `prepare` without the canonical request's hash. Never a
/// verifier: it would accept forgeries.
struct NoHashing;

/// The stream of [`NoHashing`]: keeps nothing.
struct NoStream;

impl sigstorm::sigv4::crypto::Sha256Stream for NoStream {
    fn feed(&mut self, data: &[u8]) {
        black_box(data);
    }

    fn finish(self) -> [u8; 32] {
        [0; 32]
    }
}

impl Crypto for NoHashing {
    type Stream = NoStream;

    fn stream() -> NoStream {
        NoStream
    }

    fn sha256(data: &[u8]) -> [u8; 32] {
        black_box(data);
        [0; 32]
    }

    fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        black_box((key, parts));
        [0; 32]
    }
}

/// Exactly the backend calls of the `per-service` path: the canonical
/// request's hash and the signature's HMAC.
fn crypto_only<C: Crypto>(group: &mut Group<'_>, id: &str, creq: &[u8], sts: &[u8], f: &Fixture) {
    group.bench_function(id, |b| {
        b.iter(|| {
            let digest = C::sha256(black_box(creq));
            (digest, C::hmac(&f.signing_key.0, &[black_box(sts)]))
        })
    });
}

fn per_service<C: Crypto>(
    group: &mut Group<'_>,
    id: &str,
    request: &Request<'_>,
    f: &Fixture,
    scratch: &mut Vec<u8>,
) {
    group.bench_function(id, |b| {
        b.iter(|| {
            prepared::<C>(black_box(request), scratch)
                .check::<C>(&f.signing_key)
                .unwrap()
        })
    });
}

fn per_region<C: Crypto>(
    group: &mut Group<'_>,
    id: &str,
    request: &Request<'_>,
    f: &Fixture,
    scratch: &mut Vec<u8>,
) {
    group.bench_function(id, |b| {
        b.iter(|| {
            let p = prepared::<C>(black_box(request), scratch);
            p.check::<C>(&crypto::signing_key::<C>(&f.region_key, "s3"))
                .unwrap()
        })
    });
}

/// What a Rust user would otherwise pick: the `aws-sigv4` crate signing the
/// same request (it derives the signing key on every call).
fn peers(group: &mut Group<'_>, f: &Fixture) {
    use aws_credential_types::Credentials as AwsCredentials;
    use aws_sigv4::http_request::{
        sign as aws_sign, SignableBody, SignableRequest, SigningSettings,
    };
    use aws_sigv4::sign::v4;
    use aws_smithy_runtime_api::client::identity::Identity;

    let identity: Identity =
        AwsCredentials::new(ACCESS_KEY_ID, common::SECRET, None, None, "bench").into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
    settings.uri_path_normalization_mode =
        aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(NOW as u64);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-north-1")
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers = [("host", "sigstorm-data.s3.eu-north-1.amazonaws.com")];
    let signature = {
        let request = SignableRequest::new(
            "GET",
            "https://sigstorm-data.s3.eu-north-1.amazonaws.com/objects/obj-17.dat",
            headers.iter().copied(),
            SignableBody::Bytes(b""),
        )
        .unwrap();
        aws_sign(request, &params).unwrap().signature().to_string()
    };
    assert!(
        String::from_utf8_lossy(&f.raw).contains(&signature),
        "aws-sigv4 signs the fixture as sigstorm does"
    );
    #[cfg(feature = "peer-s3s")]
    {
        let service = s3s_peer::service();
        assert!(
            s3s_peer::verify(&service, s3s_peer::request(&f.raw)),
            "s3s accepts the fixture"
        );
        let mut tampered = f.raw.clone();
        let at = tampered.iter().rposition(u8::is_ascii_hexdigit).unwrap();
        tampered[at] = if tampered[at] == b'a' { b'b' } else { b'a' };
        assert!(
            !s3s_peer::verify(&service, s3s_peer::request(&tampered)),
            "s3s refuses a changed signature"
        );
        group.bench_function("peer/s3s-verify", |b| {
            b.iter_batched(
                || s3s_peer::request(&f.raw),
                |request| assert!(s3s_peer::verify(&service, request)),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.bench_function("peer/aws-sigv4-sign", |b| {
        b.iter(|| {
            let request = SignableRequest::new(
                "GET",
                "https://sigstorm-data.s3.eu-north-1.amazonaws.com/objects/obj-17.dat",
                headers.iter().copied(),
                SignableBody::Bytes(b""),
            )
            .unwrap();
            aws_sign(black_box(request), &params)
                .unwrap()
                .signature()
                .len()
        })
    });
}

/// The `s3s` crate's verification (version 0.14.1): its SigV4 code is
/// private, so the request goes through `S3Service::call` with a route that
/// answers right after the signature check. s3s derives the signing key from
/// the secret on every request; its own request handling (routing, header
/// extraction) is included, the building of the `http::Request` is not.
#[cfg(feature = "peer-s3s")]
mod s3s_peer {
    use std::sync::Arc;

    use http::{Method, Uri};
    use s3s::auth::SimpleAuth;
    use s3s::config::{S3Config, StaticConfigProvider};
    use s3s::host::SingleDomain;
    use s3s::route::S3Route;
    use s3s::service::{S3Service, S3ServiceBuilder};
    use s3s::{Body, HttpRequest, S3Request, S3Response, S3Result, S3};

    struct NoopS3;
    impl S3 for NoopS3 {}

    /// Matches every request; s3s runs it only after verifying the signature.
    struct AcceptRoute;

    #[async_trait::async_trait]
    impl S3Route for AcceptRoute {
        fn is_match(
            &self,
            _: &Method,
            _: &Uri,
            _: &http::HeaderMap,
            _: &mut http::Extensions,
        ) -> bool {
            true
        }
        async fn check_access(&self, req: &mut S3Request<Body>) -> S3Result<()> {
            match req.credentials {
                Some(_) => Ok(()),
                None => Err(s3s::s3_error!(AccessDenied, "signature required")),
            }
        }
        async fn call(&self, _: S3Request<Body>) -> S3Result<S3Response<Body>> {
            Ok(S3Response::new(Body::empty()))
        }
    }

    pub fn service() -> S3Service {
        let mut config = S3Config::default();
        // The fixture is dated 2026-06-01; do not let s3s's clock refuse it.
        config.presigned_url_max_skew_time_secs = u32::MAX;
        let mut b = S3ServiceBuilder::new(NoopS3);
        b.set_config(Arc::new(StaticConfigProvider::new(Arc::new(config))));
        b.set_auth(SimpleAuth::from_single(
            super::ACCESS_KEY_ID,
            super::common::SECRET,
        ));
        b.set_host(SingleDomain::new("s3.eu-north-1.amazonaws.com").unwrap());
        b.set_route(AcceptRoute);
        b.build()
    }

    /// The fixture's signed request as s3s takes it.
    pub fn request(raw: &[u8]) -> HttpRequest {
        let parsed = sigstorm::sigv4::http::Request::parse(raw).unwrap();
        let mut builder = http::Request::builder()
            .method(Method::GET)
            .uri(parsed.path);
        for h in &parsed.headers {
            builder = builder.header(h.name, h.value);
        }
        builder.body(Body::empty()).unwrap()
    }

    pub fn verify(service: &S3Service, request: HttpRequest) -> bool {
        matches!(pollster::block_on(service.call(request)), Ok(r) if r.status() == http::StatusCode::OK)
    }
}

criterion_group!(
    benches,
    parse_and_canonicalize,
    derive,
    signing,
    verify_group
);
criterion_main!(benches);
