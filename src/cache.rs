//! The `per-service` signing-key cache of an AZ replica, with interchangeable
//! backends so that runs and benchmarks compare them the way they compare
//! strategies:
//!
//! | backend | what it is | concurrent misses for one key |
//! | --- | --- | --- |
//! | `moka` | `moka::sync::Cache` (TinyLFU admission, LRU eviction) | computed once |
//! | `quick-cache` | `quick_cache::sync::Cache` (CLOCK-Pro, sharded) | computed once |
//! | `sharded` | 64 `RwLock<HashMap>` shards, `foldhash`, first-in first-out eviction per shard | each computes |
//! | `per-thread` | a `HashMap` per thread (no sharing, no lock), same eviction | each thread computes its own |
//!
//! The cache key carries the access key's version, so an entry of a key that
//! changed is never used again; a revoked key is refused before any lookup
//! ([`crate::data_plane`]).

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

/// A cache backend.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum CacheBackend {
    /// `moka::sync::Cache` (the default).
    #[default]
    Moka,
    /// `quick_cache::sync::Cache`.
    QuickCache,
    /// Sharded `RwLock<HashMap>`.
    Sharded,
    /// A map per thread.
    PerThread,
}

impl CacheBackend {
    /// Every backend.
    pub const ALL: [CacheBackend; 4] = [
        CacheBackend::Moka,
        CacheBackend::QuickCache,
        CacheBackend::Sharded,
        CacheBackend::PerThread,
    ];

    /// The name in workloads, flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            CacheBackend::Moka => "moka",
            CacheBackend::QuickCache => "quick-cache",
            CacheBackend::Sharded => "sharded",
            CacheBackend::PerThread => "per-thread",
        }
    }
}

impl fmt::Display for CacheBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CacheBackend {
    type Err = String;

    fn from_str(s: &str) -> Result<CacheBackend, String> {
        CacheBackend::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| {
                format!("unknown cache backend '{s}' (expected moka, quick-cache, sharded or per-thread)")
            })
    }
}

/// Whether a lookup found the value or derived it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// Found.
    Hit,
    /// Derived by this call.
    Derived,
    /// Absent, but a concurrent call derived it while this one waited.
    Joined,
}

const SHARDS: usize = 64;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A map bounded by first-in first-out eviction: O(1) per insert.
struct Bounded<K, V> {
    map: FastMap<K, V>,
    order: VecDeque<K>,
}

impl<K: Hash + Eq + Copy, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Bounded {
            map: FastMap::default(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Copy, V> Bounded<K, V> {
    fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// Insert, first evicting the oldest entry when the map is full.
    fn insert(&mut self, key: K, value: V, capacity: usize) {
        if self.map.insert(key, value).is_none() {
            self.order.push_back(key);
            while self.order.len() > capacity {
                if let Some(oldest) = self.order.pop_front() {
                    self.map.remove(&oldest);
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }
}

/// A bounded cache of derived keys with one of the [`CacheBackend`]s.
pub struct KeyCache<K, V> {
    inner: Inner<K, V>,
    capacity: usize,
}

enum Inner<K, V> {
    Moka(moka::sync::Cache<K, V>),
    QuickCache(quick_cache::sync::Cache<K, V>),
    Sharded(Box<[RwLock<Bounded<K, V>>]>, foldhash::fast::RandomState),
    PerThread(u64),
}

/// Ids that tell per-thread caches apart inside one thread's storage.
static NEXT_PER_THREAD_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Per-thread caches of every type, by cache id; a `Box<dyn Any>` map
    /// so that one thread-local serves every key and value type.
    static PER_THREAD: RefCell<HashMap<u64, Box<dyn std::any::Any>>> = RefCell::new(HashMap::new());
}

impl<K, V> KeyCache<K, V>
where
    K: Hash + Eq + Copy + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `capacity` entries (per thread for `per-thread`).
    pub fn new(backend: CacheBackend, capacity: u64) -> KeyCache<K, V> {
        let capacity = capacity.max(1) as usize;
        let inner = match backend {
            CacheBackend::Moka => Inner::Moka(moka::sync::Cache::new(capacity as u64)),
            CacheBackend::QuickCache => Inner::QuickCache(quick_cache::sync::Cache::new(capacity)),
            CacheBackend::Sharded => Inner::Sharded(
                (0..SHARDS)
                    .map(|_| RwLock::new(Bounded::default()))
                    .collect(),
                foldhash::fast::RandomState::default(),
            ),
            CacheBackend::PerThread => {
                Inner::PerThread(NEXT_PER_THREAD_ID.fetch_add(1, Ordering::Relaxed))
            }
        };
        KeyCache { inner, capacity }
    }

    /// The value of `key`, if cached.
    pub fn get(&self, key: &K) -> Option<V> {
        match &self.inner {
            Inner::Moka(c) => c.get(key),
            Inner::QuickCache(c) => c.get(key),
            Inner::Sharded(shards, hasher) => {
                shards[shard_of(hasher, key)].read().get(key).cloned()
            }
            Inner::PerThread(id) => with_thread_map::<K, V, _>(*id, |m| m.get(key).cloned()),
        }
    }

    /// The value of `key`, derived with `derive` when absent; says whether
    /// this call derived it.
    pub fn get_or_derive(&self, key: K, derive: impl FnOnce() -> V) -> (V, Lookup) {
        if let Some(v) = self.get(&key) {
            return (v, Lookup::Hit);
        }
        match &self.inner {
            Inner::Moka(c) => {
                let entry = c.entry(key).or_insert_with(derive);
                let lookup = if entry.is_fresh() {
                    Lookup::Derived
                } else {
                    Lookup::Joined
                };
                (entry.into_value(), lookup)
            }
            Inner::QuickCache(c) => match c.get_value_or_guard(&key, None) {
                quick_cache::sync::GuardResult::Value(v) => (v, Lookup::Joined),
                quick_cache::sync::GuardResult::Guard(guard) => {
                    let v = derive();
                    let _ = guard.insert(v.clone());
                    (v, Lookup::Derived)
                }
                quick_cache::sync::GuardResult::Timeout => {
                    // Waiting without a timeout never times out.
                    (derive(), Lookup::Derived)
                }
            },
            Inner::Sharded(shards, hasher) => {
                let v = derive();
                let mut shard = shards[shard_of(hasher, &key)].write();
                let per_shard = self.capacity.div_ceil(SHARDS);
                shard.insert(key, v.clone(), per_shard);
                (v, Lookup::Derived)
            }
            Inner::PerThread(id) => {
                let v = derive();
                let capacity = self.capacity;
                with_thread_map::<K, V, _>(*id, |m| m.insert(key, v.clone(), capacity));
                (v, Lookup::Derived)
            }
        }
    }

    /// Entries held (for `per-thread`: by the calling thread).
    pub fn len(&self) -> usize {
        match &self.inner {
            Inner::Moka(c) => {
                c.run_pending_tasks();
                c.entry_count() as usize
            }
            Inner::QuickCache(c) => c.len(),
            Inner::Sharded(shards, _) => shards.iter().map(|s| s.read().len()).sum(),
            Inner::PerThread(id) => with_thread_map::<K, V, _>(*id, |m| m.len()),
        }
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn shard_of<K: Hash>(hasher: &foldhash::fast::RandomState, key: &K) -> usize {
    (hasher.hash_one(key) as usize) % SHARDS
}

fn with_thread_map<K, V, R>(id: u64, f: impl FnOnce(&mut Bounded<K, V>) -> R) -> R
where
    K: Hash + Eq + Copy + 'static,
    V: 'static,
{
    PER_THREAD.with(|maps| {
        let mut maps = maps.borrow_mut();
        let any = maps
            .entry(id)
            .or_insert_with(|| Box::new(Bounded::<K, V>::default()));
        // Each id is created for one KeyCache<K, V>, so the type always matches.
        let map = any
            .downcast_mut::<Bounded<K, V>>()
            .unwrap_or_else(|| unreachable!("a per-thread cache id is used with one type"));
        f(map)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn every_backend_derives_once_then_hits() {
        for backend in CacheBackend::ALL {
            let cache: KeyCache<u32, u64> = KeyCache::new(backend, 100);
            assert_eq!(
                cache.get_or_derive(7, || 49),
                (49, Lookup::Derived),
                "{backend}"
            );
            assert_eq!(cache.get_or_derive(7, || 0), (49, Lookup::Hit), "{backend}");
            assert_eq!(cache.get(&8), None, "{backend}");
            assert_eq!(cache.len(), 1, "{backend}");
        }
    }

    #[test]
    fn every_backend_stays_bounded() {
        for backend in CacheBackend::ALL {
            let cache: KeyCache<u32, u32> = KeyCache::new(backend, 128);
            for k in 0..10_000 {
                cache.get_or_derive(k, || k);
            }
            // moka and quick-cache evict on their own schedule; allow slack.
            assert!(cache.len() <= 256, "{backend}: {}", cache.len());
        }
    }

    #[test]
    fn coalescing_backends_derive_a_contended_key_once() {
        for backend in [CacheBackend::Moka, CacheBackend::QuickCache] {
            let cache: Arc<KeyCache<u32, u32>> = Arc::new(KeyCache::new(backend, 100));
            let derived = Arc::new(AtomicUsize::new(0));
            let barrier = Arc::new(std::sync::Barrier::new(8));
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    let (cache, derived, barrier) =
                        (cache.clone(), derived.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        cache.get_or_derive(1, || {
                            derived.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(20));
                            5
                        })
                    })
                })
                .collect();
            for t in threads {
                assert_eq!(t.join().unwrap().0, 5);
            }
            assert_eq!(derived.load(Ordering::SeqCst), 1, "{backend}");
        }
    }

    #[test]
    fn per_thread_caches_are_separate_per_thread_and_per_cache() {
        let a: Arc<KeyCache<u32, u32>> = Arc::new(KeyCache::new(CacheBackend::PerThread, 10));
        let b: KeyCache<u32, u32> = KeyCache::new(CacheBackend::PerThread, 10);
        a.get_or_derive(1, || 1);
        assert_eq!(b.get(&1), None);
        let a2 = a.clone();
        let other = std::thread::spawn(move || a2.get(&1)).join().unwrap();
        assert_eq!(other, None);
        assert_eq!(a.get(&1), Some(1));
    }

    #[test]
    fn bounded_maps_evict_the_oldest_entry() {
        let mut m: Bounded<u32, u32> = Bounded::default();
        for k in 0..5 {
            m.insert(k, k, 3);
        }
        m.insert(4, 40, 3);
        assert_eq!(m.len(), 3);
        assert_eq!(
            (m.get(&1), m.get(&2), m.get(&4)),
            (None, Some(&2), Some(&40))
        );
    }

    #[test]
    fn names_round_trip() {
        for b in CacheBackend::ALL {
            assert_eq!(b.name().parse::<CacheBackend>(), Ok(b));
        }
        assert!("lru".parse::<CacheBackend>().is_err());
    }
}
