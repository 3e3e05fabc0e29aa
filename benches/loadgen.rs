//! The load generator's cost per request, which it pays on the same cores as
//! the data planes: building and signing the next request as a client SDK
//! would (a cached signing key: one SHA-256 and one HMAC plus the request
//! bytes), and dispatching it (recording the dispatch and spawning the task
//! that hands it to a data plane on a one-thread tokio runtime).
//!
//! `control/clock` reads the clock the pacer polls. Signing faster than
//! `sign/with-cached-key/ring` in the `sigv4` bench, or a dispatch faster than
//! a clock read, would mean the measurement is broken.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use sigstorm::control_plane::IssuedKey;
use sigstorm::identity::{AccessKeyId, UserId};
use sigstorm::loadgen::traffic::{Factory, Mix};
use sigstorm::service::Service;
use sigstorm::sigv4::crypto::{Backend, SecretAccessKey};

fn mix() -> Mix {
    Mix {
        region_weights: vec![2.0, 1.0, 1.0, 1.0],
        region_names: ["us-east-1", "eu-north-1", "me-south-1", "ap-northeast-1"]
            .map(String::from)
            .to_vec(),
        services: Service::ALL.iter().map(|s| (*s, 1.0)).collect(),
        presigned_share: 0.05,
        wrong_secret: 0.005,
        unknown_key: 0.005,
        skewed_clock: 0.005,
        policy_denied: 0.01,
        zipf_exponent: 1.1,
        account_id: "123456789012".into(),
    }
}

fn clients() -> Vec<IssuedKey> {
    (0..100)
        .map(|i| IssuedKey {
            access_key_id: AccessKeyId::new(&format!("AKIABENCH{i:011}")).unwrap(),
            secret: SecretAccessKey::new(format!("bench-secret-{i:028}")).unwrap(),
            user: UserId(i),
        })
        .collect()
}

fn generator(c: &mut Criterion) {
    let mut group = c.benchmark_group("loadgen");
    group.bench_function("control/clock", |b| b.iter(Instant::now));
    let mut factory = Factory::new(mix(), clients(), Backend::Ring, 1).unwrap();
    // Warm the clients' signing-key caches, as a running generator has.
    for _ in 0..20_000 {
        factory.next(1_780_315_200_000);
    }
    group.bench_function("next-signed-request", |b| {
        b.iter(|| factory.next(black_box(1_780_315_200_000)).raw.len())
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let done = Arc::new(AtomicU64::new(0));
    group.bench_function("dispatch/spawn", |b| {
        b.iter(|| {
            let done = done.clone();
            let raw = black_box(vec![0u8; 256]);
            runtime.spawn(async move {
                done.fetch_add(raw.len() as u64, Ordering::Relaxed);
            });
        })
    });
    group.finish();
    drop(runtime);
    assert!(done.load(Ordering::Relaxed) > 0);
}

criterion_group!(benches, generator);
criterion_main!(benches);
