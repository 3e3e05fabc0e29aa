//! Zero heap allocations per verification on a cache hit, proven with a
//! counting global allocator (in a test binary of its own, since a global
//! allocator is per binary).
//!
//! Each check warms the path first (the thread's scratch buffers grow, the
//! cache fills), then counts every allocation the calling thread makes while
//! the data plane parses, verifies, authorizes and checks many requests.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use sigstorm::cache::CacheBackend;
use sigstorm::clock::SimClock;
use sigstorm::control_plane::{self, ControlPlane};
use sigstorm::data_plane::{CacheKey, CacheUse, DataPlanes, Decision, Outcome, Sizing};
use sigstorm::identity::AccessKeyId;
use sigstorm::service::Service;
use sigstorm::sigv4::canonical::Rules;
use sigstorm::sigv4::crypto::{Backend, SigningKey};
use sigstorm::sigv4::http::Request;
use sigstorm::sigv4::sign::{sign, Credentials, Options, Payload};
use sigstorm::strategy::Strategy;

struct Counting;

thread_local! {
    /// Whether this thread's allocations are being counted.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// This thread's counted allocations (per thread, so that tests running
    /// in parallel do not count each other's).
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    if COUNTING.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only counts calls made while the current thread asked it to.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `realloc`'s contract, which we pass on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations the calling thread makes while running `f`.
fn allocations_in<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCATIONS.with(Cell::get) - before)
}

const NOW_MS: i64 = 1_780_315_200_000;

fn planes(strategy: Strategy, backend: CacheBackend) -> (DataPlanes, Vec<u8>) {
    let clock = SimClock::manual(NOW_MS);
    let cp = Arc::new(ControlPlane::new(
        control_plane::Settings {
            home_region: "us-east-1".into(),
            regions: vec!["us-east-1".into(), "eu-north-1".into()],
            account_id: "123456789012".into(),
            backend: Backend::Ring,
            workers: 2,
            service_time: Duration::ZERO,
            max_queue: 10,
            push_ahead_s: 3600.0,
            seed: 5,
        },
        clock.clone(),
    ));
    let user = cp.create_user("alice").unwrap();
    let policy = sigstorm::loadgen::traffic::user_policy("123456789012");
    cp.put_user_policy(user, "p", &policy).unwrap();
    let key = cp.create_access_key(user).unwrap();
    let sizing = Sizing {
        azs: 3,
        az_concurrency: 8,
        cache_capacity: 1000,
        cache_backend: backend,
    };
    let regions = [
        ("us-east-1".to_string(), Duration::from_millis(1)),
        ("eu-north-1".to_string(), Duration::from_millis(2)),
    ];
    let planes = DataPlanes::new(&regions, &sizing, strategy, Backend::Ring, clock, cp);

    let raw = b"GET /objects/obj-1.dat HTTP/1.1\r\nHost: sigstorm-data.s3.eu-north-1.amazonaws.com\r\nUser-Agent: sigstorm/0.1\r\n\r\n";
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
    let signed = sign(&request, raw, &creds, &opts).unwrap().request;
    (planes, signed)
}

/// Run the data plane's handler to completion on this thread. The cached
/// strategies never wait, so one poll must finish it.
fn handle(planes: &DataPlanes, raw: &[u8]) -> Decision {
    let mut future = std::pin::pin!(planes.handle(1, Service::S3, raw, 0));
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(decision) => decision,
        Poll::Pending => panic!("a local verification never waits"),
    }
}

/// Allocations of `rounds` verifications that hit a warm cache.
fn verification_allocations(strategy: Strategy, backend: CacheBackend, rounds: usize) -> u64 {
    let (planes, raw) = planes(strategy, backend);
    let warm = handle(&planes, &raw);
    assert_eq!(warm.outcome, Outcome::Allowed, "{strategy} {backend}");
    let (allowed, allocations) = allocations_in(|| {
        (0..rounds)
            .map(|_| handle(&planes, &raw))
            .filter(|d| d.outcome == Outcome::Allowed)
            .count()
    });
    assert_eq!(
        allowed, rounds,
        "{strategy} {backend}: every request allowed"
    );
    if strategy.uses_cache() {
        assert_eq!(
            handle(&planes, &raw).cache,
            CacheUse::Hit,
            "{strategy} {backend}"
        );
    }
    allocations
}

fn assert_no_allocations(strategy: Strategy, backend: CacheBackend) {
    let allocations = verification_allocations(strategy, backend, 10_000);
    assert_eq!(
        allocations, 0,
        "{strategy} {backend}: {allocations} allocations in 10,000 verifications"
    );
}

#[test]
fn per_service_cache_hits_allocate_nothing() {
    for backend in [
        CacheBackend::QuickCache,
        CacheBackend::Sharded,
        CacheBackend::PerThread,
    ] {
        assert_no_allocations(Strategy::PerService, backend);
    }
}

#[test]
fn per_service_prekeyed_cache_hits_allocate_nothing() {
    for backend in [
        CacheBackend::QuickCache,
        CacheBackend::Sharded,
        CacheBackend::PerThread,
    ] {
        assert_no_allocations(Strategy::PerServicePrekeyed, backend);
    }
}

/// moka allocates now and then on reads of its own: its maintenance drains
/// a read log in batches. A verification that hits moka may allocate only
/// what the same number of bare moka reads allocate, filled the way the
/// data plane fills its cache (`entry().or_insert_with`), in the same process.
#[test]
fn moka_hits_allocate_only_what_moka_reads_do() {
    let rounds = 10_000;
    let key = CacheKey {
        key: AccessKeyId::new("AKIAEXAMPLE").unwrap(),
        version: 1,
        date: 20260601,
        region: 1,
        service: Service::S3,
    };
    let bare_reads = || {
        let cache: moka::sync::Cache<CacheKey, SigningKey> = moka::sync::Cache::new(1000);
        cache.entry(key).or_insert_with(|| SigningKey([0; 32]));
        allocations_in(|| (0..rounds).filter_map(|_| cache.get(&key)).count()).1
    };
    let bare = bare_reads();
    for strategy in [Strategy::PerService, Strategy::PerServicePrekeyed] {
        let ours = verification_allocations(strategy, CacheBackend::Moka, rounds);
        let bare = bare.max(bare_reads());
        eprintln!("{rounds} hits: {strategy} with moka {ours} allocations, bare moka reads {bare}");
        assert!(
            bare <= rounds as u64 / 50,
            "moka reads allocate {bare} times in {rounds}"
        );
        assert!(
            ours <= bare + bare / 10 + 2,
            "{strategy}: {ours} allocations, bare moka {bare}"
        );
    }
}

#[test]
fn per_region_verifications_allocate_nothing() {
    assert_no_allocations(Strategy::PerRegion, CacheBackend::Moka);
}

#[test]
fn the_counter_counts() {
    let (_, n) = allocations_in(|| std::hint::black_box(vec![1u8; 64]));
    assert!(n >= 1);
}
