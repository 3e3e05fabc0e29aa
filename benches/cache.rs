//! The `per-service` signing-key cache on its own: a hit, and a miss that
//! derives the key (the `per-region` work: two HMACs) and fills the cache,
//! for each backend, at 1,000, 10,000 and 1,000,000 hot keys, from one
//! thread and from two at once. `control/derive` is the derivation alone:
//! what a miss adds to a lookup, and what `per-region` pays on every request.
//!
//! A backend's break-even hit ratio against `per-region` follows from three
//! figures: h* = (miss - derive) / (miss - hit). Below it, caching costs more
//! than deriving every time.
//!
//! Keys are looked up in a shuffled order fixed before timing, so a large
//! working set defeats the CPU caches as real traffic would. A hit that costs
//! less than a plain hash of the key (`control/hash`), or a miss cheaper
//! than `control/derive`, would mean the measurement is broken (the lookup
//! optimized away, or the miss path not deriving).

use std::hash::BuildHasher;
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sigstorm::cache::{CacheBackend, KeyCache, Lookup};
use sigstorm::data_plane::CacheKey;
use sigstorm::identity::AccessKeyId;
use sigstorm::service::Service;
use sigstorm::sigv4::crypto::{self, RegionKey, Ring, SigningKey};

const SIZES: [usize; 3] = [1_000, 10_000, 1_000_000];

fn key(i: usize, version: u32) -> CacheKey {
    // Ids of the real shape: AKIA and 16 characters.
    let id = format!("AKIA{i:016}");
    CacheKey {
        key: AccessKeyId::new(&id).unwrap(),
        version,
        date: 20260601,
        region: (i % 4) as u16,
        service: Service::ALL[i % Service::ALL.len()],
    }
}

fn derive(region_key: &RegionKey) -> SigningKey {
    crypto::signing_key::<Ring>(region_key, "s3")
}

/// A pseudo-random permutation of `0..n`, fixed by a seed.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    order
}

fn controls(c: &mut Criterion) {
    let region_key = RegionKey([3; 32]);
    let mut group = c.benchmark_group("cache");
    group.bench_function("control/derive", |b| {
        b.iter(|| derive(black_box(&region_key)))
    });
    let hasher = foldhash::fast::RandomState::default();
    let k = key(7, 1);
    group.bench_function("control/hash", |b| {
        b.iter(|| hasher.hash_one(black_box(&k)))
    });
    group.finish();
}

fn hits(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache");
    for size in SIZES {
        group.sample_size(if size >= 1_000_000 { 10 } else { 50 });
        let keys: Vec<CacheKey> = (0..size).map(|i| key(i, 1)).collect();
        let order = shuffled(size);
        for backend in CacheBackend::ALL {
            // One thread: the cache filled on this thread (per-thread maps are
            // this thread's own).
            let cache: KeyCache<CacheKey, SigningKey> = KeyCache::new(backend, size as u64 * 2);
            for k in &keys {
                cache.get_or_derive(*k, || SigningKey([1; 32]));
            }
            let mut i = 0;
            group.bench_with_input(
                BenchmarkId::new(format!("hit/{backend}/1-thread"), size),
                &size,
                |b, _| {
                    b.iter(|| {
                        i = (i + 1) % size;
                        cache.get(black_box(&keys[order[i]])).map(|k| k.0[0])
                    })
                },
            );
            let shared = Arc::new(cache);
            let keys = Arc::new(keys.clone());
            let order = Arc::new(order.clone());
            group.bench_with_input(
                BenchmarkId::new(format!("hit/{backend}/2-threads"), size),
                &size,
                |b, _| b.iter_custom(|iters| two_threads(iters, &shared, &keys, &order, true)),
            );
        }
    }
    group.finish();
}

/// Time `iters` lookups on each of two threads running together; returns the
/// slower thread's time. Per-thread maps are filled on each thread first.
fn two_threads(
    iters: u64,
    cache: &Arc<KeyCache<CacheKey, SigningKey>>,
    keys: &Arc<Vec<CacheKey>>,
    order: &Arc<Vec<usize>>,
    fill: bool,
) -> Duration {
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (cache, keys, order, barrier) =
                (cache.clone(), keys.clone(), order.clone(), barrier.clone());
            std::thread::spawn(move || {
                if fill && cache.get(&keys[0]).is_none() {
                    for k in keys.iter() {
                        cache.get_or_derive(*k, || SigningKey([1; 32]));
                    }
                }
                barrier.wait();
                let start = Instant::now();
                let mut found = 0u64;
                for n in 0..iters as usize {
                    let i = (n * 2 + t) % order.len();
                    found += u64::from(cache.get(&keys[order[i]]).is_some());
                }
                black_box(found);
                start.elapsed()
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .max()
        .unwrap_or_default()
}

fn misses(c: &mut Criterion) {
    let region_key = RegionKey([3; 32]);
    let mut group = c.benchmark_group("cache");
    for size in SIZES {
        group.sample_size(if size >= 1_000_000 { 10 } else { 50 });
        for backend in CacheBackend::ALL {
            // A full cache of `size` entries; every lookup is for a key it has
            // never seen (a new version), so it misses, derives and inserts,
            // evicting to stay at `size`.
            let cache: KeyCache<CacheKey, SigningKey> = KeyCache::new(backend, size as u64);
            for i in 0..size {
                cache.get_or_derive(key(i, 0), || SigningKey([1; 32]));
            }
            let fresh: Vec<CacheKey> = (0..size.min(100_000)).map(|i| key(i, 0)).collect();
            let mut version = 1u32;
            let mut i = 0;
            group.bench_with_input(
                BenchmarkId::new(format!("miss-then-fill/{backend}/1-thread"), size),
                &size,
                |b, _| {
                    b.iter(|| {
                        i += 1;
                        if i == fresh.len() {
                            i = 0;
                            version += 1;
                        }
                        let k = CacheKey {
                            version,
                            ..fresh[i]
                        };
                        let (v, lookup) = cache.get_or_derive(k, || derive(&region_key));
                        debug_assert_eq!(lookup, Lookup::Derived);
                        v.0[0]
                    })
                },
            );
            let shared = Arc::new(cache);
            let fresh = Arc::new(fresh);
            let next = Arc::new(AtomicU32::new(1_000_000));
            group.bench_with_input(
                BenchmarkId::new(format!("miss-then-fill/{backend}/2-threads"), size),
                &size,
                |b, _| {
                    b.iter_custom(|iters| {
                        let barrier = Arc::new(Barrier::new(2));
                        let threads: Vec<_> = (0..2)
                            .map(|t| {
                                let (cache, fresh, next, barrier) =
                                    (shared.clone(), fresh.clone(), next.clone(), barrier.clone());
                                std::thread::spawn(move || {
                                    // Every (version, key) pair is new: a version
                                    // is taken from the shared counter per pass.
                                    let mut version = next.fetch_add(1, Ordering::Relaxed);
                                    barrier.wait();
                                    let start = Instant::now();
                                    for n in 0..iters as usize {
                                        let i = (n * 2 + t) % fresh.len();
                                        if n > 0 && i < 2 {
                                            version = next.fetch_add(1, Ordering::Relaxed);
                                        }
                                        let k = CacheKey {
                                            version,
                                            ..fresh[i]
                                        };
                                        black_box(cache.get_or_derive(k, || derive(&region_key)));
                                    }
                                    start.elapsed()
                                })
                            })
                            .collect();
                        threads
                            .into_iter()
                            .map(|t| t.join().unwrap())
                            .max()
                            .unwrap_or_default()
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, controls, hits, misses);
criterion_main!(benches);
