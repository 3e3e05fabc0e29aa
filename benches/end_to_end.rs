//! One request through an in-process region, for each strategy: the data
//! plane's whole handler (AZ choice, concurrency permit, parse, keyless
//! checks, key lookup or control-plane call, signature, authorization, the
//! correctness check), driven on a current-thread tokio runtime. The signing
//! key caches are warm, as in steady state. `none` pays no simulated round
//! trip or service time here (both are set to zero), only its real work and
//! its timer and queue machinery.
//!
//! `control/block-on` is the runtime's cost of driving a ready future. Any
//! strategy faster than `per-service` on a hit, or `per-region` faster than
//! `per-service-prekeyed`, would mean the measurement is broken (a request
//! refused early passes as fast, so each closure asserts it was allowed).

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use sigstorm::cache::CacheBackend;
use sigstorm::clock::SimClock;
use sigstorm::control_plane::{self, ControlPlane};
use sigstorm::data_plane::{DataPlanes, Outcome, Sizing};
use sigstorm::loadgen::traffic::user_policy;
use sigstorm::service::Service;
use sigstorm::sigv4::canonical::Rules;
use sigstorm::sigv4::crypto::Backend;
use sigstorm::sigv4::http::Request;
use sigstorm::sigv4::sign::{sign, Credentials, Options, Payload};
use sigstorm::strategy::Strategy;

const NOW_MS: i64 = 1_780_315_200_000;

fn world(strategy: Strategy, backend: CacheBackend) -> (DataPlanes, Vec<u8>) {
    let clock = SimClock::manual(NOW_MS);
    let cp = Arc::new(ControlPlane::new(
        control_plane::Settings {
            home_region: "us-east-1".into(),
            regions: vec!["us-east-1".into(), "eu-north-1".into()],
            account_id: "123456789012".into(),
            backend: Backend::Ring,
            workers: 4,
            service_time: Duration::ZERO,
            max_queue: 1000,
            push_ahead_s: 3600.0,
            seed: 9,
        },
        clock.clone(),
    ));
    let user = cp.create_user("bench").unwrap();
    cp.put_user_policy(user, "p", &user_policy("123456789012"))
        .unwrap();
    let key = cp.create_access_key(user).unwrap();
    let sizing = Sizing {
        azs: 3,
        az_concurrency: 64,
        cache_capacity: 10_000,
        cache_backend: backend,
    };
    let regions = [
        ("us-east-1".to_string(), Duration::ZERO),
        ("eu-north-1".to_string(), Duration::ZERO),
    ];
    let planes = DataPlanes::new(&regions, &sizing, strategy, Backend::Ring, clock, cp);
    let raw = b"GET /objects/obj-17.dat HTTP/1.1\r\nHost: sigstorm-data.s3.eu-north-1.amazonaws.com\r\nUser-Agent: sigstorm/0.1\r\n\r\n";
    let request = Request::parse(raw).unwrap();
    let creds = Credentials {
        access_key_id: key.access_key_id.as_str(),
        secret: &key.secret,
        session_token: None,
    };
    let opts = Options {
        region: "eu-north-1",
        service: "s3",
        time: NOW_MS / 1000,
        rules: Rules::for_service("s3"),
        payload: Payload::HashHeader,
        presign: None,
        backend: Backend::Ring,
    };
    (planes, sign(&request, raw, &creds, &opts).unwrap().request)
}

fn end_to_end(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("end_to_end");
    group.bench_function("control/block-on", |b| {
        b.iter(|| runtime.block_on(async { 1 }))
    });
    for (id, strategy, backend) in [
        ("per-service/moka", Strategy::PerService, CacheBackend::Moka),
        (
            "per-service/quick-cache",
            Strategy::PerService,
            CacheBackend::QuickCache,
        ),
        (
            "per-service/sharded",
            Strategy::PerService,
            CacheBackend::Sharded,
        ),
        (
            "per-service/per-thread",
            Strategy::PerService,
            CacheBackend::PerThread,
        ),
        (
            "per-service-prekeyed/moka",
            Strategy::PerServicePrekeyed,
            CacheBackend::Moka,
        ),
        (
            "per-service-prekeyed/quick-cache",
            Strategy::PerServicePrekeyed,
            CacheBackend::QuickCache,
        ),
        ("per-region", Strategy::PerRegion, CacheBackend::Moka),
        ("none", Strategy::None, CacheBackend::Moka),
    ] {
        let (planes, raw) = world(strategy, backend);
        let mut seq = 0u64;
        group.bench_function(id, |b| {
            b.iter(|| {
                // The same AZ replica every time: its cache is warm after the
                // first request.
                seq += 3;
                let decision = runtime.block_on(planes.handle(1, Service::S3, &raw, seq));
                assert_eq!(decision.outcome, Outcome::Allowed);
                decision.hmacs
            })
        });
    }
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
