//! Replication from the control plane to the AZ replicas: the numbered change
//! log, the replicated store each AZ replica holds, and the applier that
//! delivers log entries to one replica in order after a propagation delay, at a
//! bounded apply rate.
//!
//! The replicated store holds region-scoped keys (`kRegion`), never a secret:
//! [`Change`] has no field that could carry one. An older state never
//! overwrites a newer one: a replica applies version `v` only right after
//! `v - 1`, so a late, repeated or reordered delivery is ignored.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, LogNormal};
use tokio::sync::Notify;

use crate::iam::Policy;
use crate::identity::{AccessKeyId, KeyStatus, User, UserId};
use crate::sigv4::crypto::RegionKey;

/// The region keys of one access key for one region: one per scope date
/// (today's and, ahead of midnight, tomorrow's).
pub type RegionKeys = smallvec::SmallVec<[(u32, RegionKey); 2]>;

/// A control-plane write as it is replicated.
#[derive(Clone, Debug)]
pub enum Change {
    /// A user was created.
    PutUser(User),
    /// An access key was created (or replaced) with its region keys, one
    /// entry per region in the world's region order.
    PutKey {
        /// The key.
        key: AccessKeyId,
        /// Its owner.
        user: UserId,
        /// Its status.
        status: KeyStatus,
        /// Its version; bumped on every change of the key.
        version: u32,
        /// Region keys, indexed by region.
        region_keys: Arc<[RegionKeys]>,
    },
    /// More region keys for existing keys (tomorrow's, pushed ahead of
    /// midnight), indexed by region.
    PushRegionKeys {
        /// The scope date the keys are for (`YYYYMMDD`).
        date: u32,
        /// Per key, per region.
        keys: Arc<[(AccessKeyId, Arc<[RegionKey]>)]>,
    },
    /// A key's status changed.
    SetKeyStatus {
        /// The key.
        key: AccessKeyId,
        /// The new status.
        status: KeyStatus,
        /// The key's new version.
        version: u32,
    },
    /// An inline policy was attached to (or replaced on) a user.
    PutUserPolicy {
        /// The user.
        user: UserId,
        /// The policy's name.
        name: String,
        /// The parsed policy.
        policy: Arc<Policy>,
    },
    /// An inline policy was removed.
    DeleteUserPolicy {
        /// The user.
        user: UserId,
        /// The policy's name.
        name: String,
    },
}

/// One numbered entry of the change log.
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// Its version, starting at 1 and increasing by one.
    pub version: u64,
    /// Simulated time of the control-plane write, Unix milliseconds.
    pub committed_ms: i64,
    /// What changed.
    pub change: Change,
}

/// The control plane's append-only change log.
#[derive(Debug, Default)]
pub struct ChangeLog {
    entries: RwLock<Vec<Arc<LogEntry>>>,
    head: AtomicU64,
    appended: Notify,
}

impl ChangeLog {
    /// An empty log.
    pub fn new() -> ChangeLog {
        ChangeLog::default()
    }

    /// Append `change` as the next version; returns that version.
    pub fn append(&self, committed_ms: i64, change: Change) -> u64 {
        let version = {
            let mut entries = self.entries.write();
            let version = entries.len() as u64 + 1;
            entries.push(Arc::new(LogEntry {
                version,
                committed_ms,
                change,
            }));
            self.head.store(version, Ordering::Release);
            version
        };
        self.appended.notify_waiters();
        version
    }

    /// The latest version (0 when empty).
    pub fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// The entry with `version`, if written.
    pub fn get(&self, version: u64) -> Option<Arc<LogEntry>> {
        let i = usize::try_from(version.checked_sub(1)?).ok()?;
        self.entries.read().get(i).cloned()
    }

    /// Wait until the log holds `version`.
    pub async fn wait_for(&self, version: u64) {
        loop {
            let notified = self.appended.notified();
            if self.head() >= version {
                return;
            }
            notified.await;
        }
    }
}

/// A key as an AZ replica holds it: no secret, only region keys.
#[derive(Clone, Debug)]
pub struct ReplicatedKey {
    /// Its owner.
    pub user: UserId,
    /// Its status.
    pub status: KeyStatus,
    /// Its version.
    pub version: u32,
    /// This region's `kRegion` per scope date.
    pub region_keys: RegionKeys,
    /// The log version at which the key stopped being active, if it has.
    pub revoked_at: Option<u64>,
}

impl ReplicatedKey {
    /// The region key for scope date `date` (`YYYYMMDD`), if replicated.
    pub fn region_key(&self, date: u32) -> Option<&RegionKey> {
        self.region_keys
            .iter()
            .find(|(d, _)| *d == date)
            .map(|(_, k)| k)
    }
}

/// A user as an AZ replica holds it, with its inline policies.
#[derive(Clone, Debug)]
pub struct ReplicatedUser {
    /// The user.
    pub user: User,
    /// Inline policies by name.
    pub policies: Vec<(String, Arc<Policy>)>,
}

/// The state one AZ replica has applied.
#[derive(Clone, Debug, Default)]
pub struct ReplicaStore {
    /// The last applied log version.
    pub version: u64,
    /// Users by id.
    pub users: HashMap<UserId, ReplicatedUser>,
    /// Keys by id.
    pub keys: HashMap<AccessKeyId, ReplicatedKey>,
}

impl ReplicaStore {
    /// Apply `entry` for the region with index `region`, if it is the next
    /// version; returns whether it was applied. Older or future versions are
    /// ignored, so a stale delivery can never overwrite newer state.
    pub fn apply(&mut self, entry: &LogEntry, region: usize) -> bool {
        if entry.version != self.version + 1 {
            return false;
        }
        match &entry.change {
            Change::PutUser(user) => {
                self.users
                    .entry(user.id)
                    .and_modify(|u| u.user = user.clone())
                    .or_insert_with(|| ReplicatedUser {
                        user: user.clone(),
                        policies: Vec::new(),
                    });
            }
            Change::PutKey {
                key,
                user,
                status,
                version,
                region_keys,
            } => {
                let revoked_at = (*status != KeyStatus::Active).then_some(entry.version);
                self.keys.insert(
                    *key,
                    ReplicatedKey {
                        user: *user,
                        status: *status,
                        version: *version,
                        region_keys: region_keys.get(region).cloned().unwrap_or_default(),
                        revoked_at,
                    },
                );
            }
            Change::PushRegionKeys { date, keys } => {
                for (key, per_region) in keys.iter() {
                    let (Some(k), Some(region_key)) =
                        (self.keys.get_mut(key), per_region.get(region))
                    else {
                        continue;
                    };
                    k.region_keys.retain(|(d, _)| *d != *date);
                    k.region_keys.push((*date, *region_key));
                    // Keep the two newest dates.
                    k.region_keys.sort_by_key(|(d, _)| std::cmp::Reverse(*d));
                    k.region_keys.truncate(2);
                }
            }
            Change::SetKeyStatus {
                key,
                status,
                version,
            } => {
                if let Some(k) = self.keys.get_mut(key) {
                    k.status = *status;
                    k.version = *version;
                    k.revoked_at = match status {
                        KeyStatus::Active => None,
                        _ => k.revoked_at.or(Some(entry.version)),
                    };
                    if *status == KeyStatus::Deleted {
                        k.region_keys.clear();
                    }
                }
            }
            Change::PutUserPolicy { user, name, policy } => {
                if let Some(u) = self.users.get_mut(user) {
                    u.policies.retain(|(n, _)| n != name);
                    u.policies.push((name.clone(), policy.clone()));
                }
            }
            Change::DeleteUserPolicy { user, name } => {
                if let Some(u) = self.users.get_mut(user) {
                    u.policies.retain(|(n, _)| n != name);
                }
            }
        }
        self.version = entry.version;
        true
    }
}

/// One AZ replica's copy of the replicated store and its applied version.
#[derive(Debug)]
pub struct Replica {
    /// Index of the replica's region.
    pub region: usize,
    store: RwLock<ReplicaStore>,
    applied: AtomicU64,
}

impl Replica {
    /// A replica of region `region` starting from `snapshot`.
    pub fn from_snapshot(region: usize, snapshot: ReplicaStore) -> Replica {
        let applied = AtomicU64::new(snapshot.version);
        Replica {
            region,
            store: RwLock::new(snapshot),
            applied,
        }
    }

    /// The last applied log version; readable at any time without a lock.
    pub fn applied_version(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Read the store.
    pub fn read(&self) -> parking_lot::RwLockReadGuard<'_, ReplicaStore> {
        self.store.read()
    }

    /// Apply `entry` if it is the next version; see [`ReplicaStore::apply`].
    pub fn apply(&self, entry: &LogEntry) -> bool {
        let mut store = self.store.write();
        let applied = store.apply(entry, self.region);
        if applied {
            self.applied.store(store.version, Ordering::Release);
        }
        applied
    }
}

/// The propagation delay of one replica: lognormal with the given median and
/// 99th percentile (a point mass when they are equal).
#[derive(Clone, Debug)]
pub struct DelayModel {
    dist: Option<LogNormal<f64>>,
    median_ms: f64,
}

impl DelayModel {
    /// A lognormal delay with `median_ms` and `p99_ms`.
    pub fn lognormal(median_ms: f64, p99_ms: f64) -> DelayModel {
        // For a lognormal, p99 = median * exp(2.326 * sigma).
        const Z99: f64 = 2.326_347_874;
        let dist = if median_ms > 0.0 && p99_ms > median_ms {
            let sigma = (p99_ms / median_ms).ln() / Z99;
            LogNormal::new(median_ms.ln(), sigma).ok()
        } else {
            None
        };
        DelayModel { dist, median_ms }
    }

    /// Draw one delay, milliseconds.
    pub fn sample(&self, rng: &mut StdRng) -> f64 {
        match &self.dist {
            Some(d) => d.sample(rng),
            None => self.median_ms,
        }
    }
}

/// Decides when each log entry reaches one replica: after its propagation
/// delay, never before its predecessor, and no faster than the apply rate
/// allows.
///
/// The delay is the stream's, not the entry's: one draw per second of write
/// time ([`DELAY_SLOT_MS`]), shared by every entry written in that second.
/// Drawing per entry would make an in-order stream hold every burst behind
/// the slowest of its thousands of draws, so a storm's observed delays would
/// be the tail's, not the distribution the workload asked for.
#[derive(Debug)]
pub struct ApplySchedule {
    delay: DelayModel,
    min_gap_ms: f64,
    last_due_ms: f64,
    slot: Option<(i64, f64)>,
    rng: StdRng,
}

/// Write time over which a replica stream's propagation delay stays the
/// same, milliseconds.
pub const DELAY_SLOT_MS: i64 = 1000;

impl ApplySchedule {
    /// The least time between two applies, milliseconds.
    pub fn min_gap_ms(&self) -> f64 {
        self.min_gap_ms
    }
}

impl ApplySchedule {
    /// A schedule drawing delays from `delay` with `seed`, applying at most
    /// `apply_rate_per_sec` entries per second.
    pub fn new(delay: DelayModel, apply_rate_per_sec: f64, seed: u64) -> ApplySchedule {
        ApplySchedule {
            delay,
            min_gap_ms: 1000.0 / apply_rate_per_sec,
            last_due_ms: f64::MIN,
            slot: None,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// When (simulated Unix milliseconds) the next entry, committed at
    /// `committed_ms`, is applied.
    pub fn due_ms(&mut self, committed_ms: i64) -> f64 {
        let slot = committed_ms.div_euclid(DELAY_SLOT_MS);
        let delay = match self.slot {
            Some((s, delay)) if s == slot => delay,
            _ => {
                let delay = self.delay.sample(&mut self.rng);
                self.slot = Some((slot, delay));
                delay
            }
        };
        let arrival = committed_ms as f64 + delay;
        let due = arrival.max(self.last_due_ms + self.min_gap_ms);
        self.last_due_ms = due;
        due
    }
}

/// Whether a region's replication stream flows. Closing it stalls every AZ
/// replica of the region (a propagation outage); reopening it lets the
/// backlog drain at the apply rate.
#[derive(Debug, Default)]
pub struct StreamGate {
    closed: AtomicBool,
    reopened: Notify,
}

impl StreamGate {
    /// Stall the stream.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Let it flow again.
    pub fn open(&self) {
        self.closed.store(false, Ordering::Release);
        self.reopened.notify_waiters();
    }

    /// Whether it is stalled.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Wait until it flows; returns whether it had been stalled.
    pub async fn wait_open(&self) -> bool {
        let mut waited = false;
        loop {
            let reopened = self.reopened.notified();
            if !self.is_closed() {
                return waited;
            }
            waited = true;
            reopened.await;
        }
    }
}

/// Delivers the change log to one replica: each entry after its propagation
/// delay, in order, at the apply rate, and not while the stream is stalled.
/// [`Applier::poll`] does the work at a given simulated time, so tests drive
/// it with a clock they advance by hand; [`run_applier`] drives it in real
/// time.
#[derive(Debug)]
pub struct Applier {
    log: Arc<ChangeLog>,
    replica: Arc<Replica>,
    schedule: ApplySchedule,
    /// The next entry and when it is due (simulated Unix milliseconds).
    pending: Option<(Arc<LogEntry>, f64)>,
}

impl Applier {
    /// An applier of `log` to `replica` with `schedule`.
    pub fn new(log: Arc<ChangeLog>, replica: Arc<Replica>, schedule: ApplySchedule) -> Applier {
        Applier {
            log,
            replica,
            schedule,
            pending: None,
        }
    }

    /// When the next entry is due, if the log has one.
    pub fn next_due_ms(&mut self) -> Option<f64> {
        if self.pending.is_none() {
            let entry = self.log.get(self.replica.applied_version() + 1)?;
            let due = self.schedule.due_ms(entry.committed_ms);
            self.pending = Some((entry, due));
        }
        self.pending.as_ref().map(|(_, due)| *due)
    }

    /// Apply every entry due by `now_ms`; `applied` hears each entry's delay
    /// from its write to its apply, milliseconds. Returns how many applied.
    pub fn poll(&mut self, now_ms: i64, mut applied: impl FnMut(f64)) -> usize {
        let mut count = 0;
        while let Some(due) = self.next_due_ms() {
            if due > now_ms as f64 {
                break;
            }
            if let Some((entry, _)) = self.pending.take() {
                if self.replica.apply(&entry) {
                    applied((now_ms - entry.committed_ms) as f64);
                    count += 1;
                }
            }
        }
        count
    }

    /// After a stall: entries already due are applied from `now_ms` on at the
    /// apply rate, not all at once.
    pub fn resume_at(&mut self, now_ms: i64) {
        self.schedule.last_due_ms = self
            .schedule
            .last_due_ms
            .max(now_ms as f64 - self.schedule.min_gap_ms);
        self.pending = None;
    }
}

/// Keep `applier` applying in real time, forever: the task each AZ replica
/// runs. `applied` hears each entry's propagation delay.
pub async fn run_applier(
    mut applier: Applier,
    gate: Arc<StreamGate>,
    clock: crate::clock::SimClock,
    applied: impl Fn(f64) + Send + 'static,
) {
    loop {
        let due = match applier.next_due_ms() {
            Some(due) => due,
            None => {
                let next = applier.replica.applied_version() + 1;
                applier.log.wait_for(next).await;
                continue;
            }
        };
        let wait_ms = due - clock.now_ms() as f64;
        if wait_ms > 0.0 {
            tokio::time::sleep(std::time::Duration::from_micros((wait_ms * 1000.0) as u64)).await;
        }
        if gate.wait_open().await {
            applier.resume_at(clock.now_ms());
            continue;
        }
        applier.poll(clock.now_ms(), &applied);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(n: u32) -> AccessKeyId {
        AccessKeyId::new(&format!("AKIA{n:016}")).unwrap()
    }

    fn put_key(version: u64, n: u32, status: KeyStatus, key_version: u32) -> LogEntry {
        LogEntry {
            version,
            committed_ms: 0,
            change: Change::PutKey {
                key: key(n),
                user: UserId(n),
                status,
                version: key_version,
                region_keys: Arc::from(vec![RegionKeys::new()]),
            },
        }
    }

    fn status(version: u64, n: u32, status: KeyStatus, key_version: u32) -> LogEntry {
        LogEntry {
            version,
            committed_ms: 0,
            change: Change::SetKeyStatus {
                key: key(n),
                status,
                version: key_version,
            },
        }
    }

    #[test]
    fn applies_only_the_next_version() {
        let mut store = ReplicaStore::default();
        assert!(!store.apply(&put_key(2, 1, KeyStatus::Active, 1), 0));
        assert!(store.apply(&put_key(1, 1, KeyStatus::Active, 1), 0));
        assert!(store.apply(&status(2, 1, KeyStatus::Inactive, 2), 0));
        assert!(!store.apply(&put_key(1, 1, KeyStatus::Active, 1), 0));
        let k = &store.keys[&key(1)];
        assert_eq!(
            (k.status, k.version, k.revoked_at),
            (KeyStatus::Inactive, 2, Some(2))
        );
    }

    #[test]
    fn apply_schedule_keeps_order_and_rate() {
        let mut s = ApplySchedule::new(DelayModel::lognormal(100.0, 1000.0), 10.0, 7);
        let mut last = f64::MIN;
        for committed in [0, 0, 0, 5, 10] {
            let due = s.due_ms(committed);
            assert!(due >= last + 100.0 - 1e-9, "{due} after {last}");
            assert!(due >= committed as f64);
            last = due;
        }
    }

    #[test]
    fn a_burst_shares_its_second_s_delay_and_seconds_follow_the_distribution() {
        let mut s = ApplySchedule::new(DelayModel::lognormal(800.0, 6000.0), 1e9, 3);
        // 5000 entries written within one second arrive with one delay.
        let delays: Vec<f64> = (0..5000)
            .map(|i| s.due_ms(10_000 + i / 5) - (10_000 + i / 5) as f64)
            .collect();
        let spread = delays.iter().copied().fold(f64::MIN, f64::max)
            - delays.iter().copied().fold(f64::MAX, f64::min);
        assert!(spread < 1.0, "one delay per second: spread {spread} ms");
        // One write a minute (more than any delay, so none waits for its
        // predecessor): the delays are the model's.
        let mut s = ApplySchedule::new(DelayModel::lognormal(800.0, 6000.0), 1e9, 4);
        let mut v: Vec<f64> = (0..4000i64)
            .map(|i| s.due_ms(i * 60_000) - (i * 60_000) as f64)
            .collect();
        v.sort_by(f64::total_cmp);
        assert!((v[2000] / 800.0 - 1.0).abs() < 0.1, "median {}", v[2000]);
        assert!((v[3960] / 6000.0 - 1.0).abs() < 0.35, "p99 {}", v[3960]);
    }

    #[test]
    fn lognormal_delay_has_the_asked_median_and_p99() {
        let model = DelayModel::lognormal(2000.0, 30_000.0);
        let mut rng = StdRng::seed_from_u64(1);
        let mut v: Vec<f64> = (0..20_000).map(|_| model.sample(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[10_000];
        let p99 = v[19_800];
        assert!((median / 2000.0 - 1.0).abs() < 0.06, "median {median}");
        assert!((p99 / 30_000.0 - 1.0).abs() < 0.15, "p99 {p99}");
    }

    #[test]
    fn a_stalled_stream_drains_at_the_apply_rate_when_it_reopens() {
        let log = Arc::new(ChangeLog::new());
        let replica = Arc::new(Replica::from_snapshot(0, ReplicaStore::default()));
        // 100 ms propagation, at most 10 entries a second.
        let schedule = ApplySchedule::new(DelayModel::lognormal(100.0, 100.0), 10.0, 1);
        let mut applier = Applier::new(log.clone(), replica.clone(), schedule);
        for v in 1..=5 {
            log.append(0, put_key(v, v as u32, KeyStatus::Active, 1).change);
        }
        let mut delays = Vec::new();
        assert_eq!(
            applier.poll(99, |d| delays.push(d)),
            0,
            "nothing before the delay"
        );
        assert_eq!(applier.poll(100, |d| delays.push(d)), 1);
        assert_eq!(applier.poll(250, |d| delays.push(d)), 1, "one per 100 ms");
        assert_eq!(delays, [100.0, 250.0]);
        // A stall of ten seconds, then the backlog drains at the apply rate.
        applier.resume_at(10_000);
        assert_eq!(applier.poll(10_000, |_| ()), 1);
        assert_eq!(applier.poll(10_050, |_| ()), 0);
        assert_eq!(applier.poll(10_100, |_| ()), 1);
        assert_eq!(applier.poll(10_200, |_| ()), 1);
        assert_eq!(replica.applied_version(), 5);
        assert_eq!(applier.next_due_ms(), None);
    }

    #[test]
    fn the_applier_delivers_every_write_in_order() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let clock = crate::clock::SimClock::starting_at(0);
        let log = Arc::new(ChangeLog::new());
        let replica = Arc::new(Replica::from_snapshot(0, ReplicaStore::default()));
        let schedule = ApplySchedule::new(DelayModel::lognormal(0.0, 0.0), 1e6, 1);
        let applier = Applier::new(log.clone(), replica.clone(), schedule);
        rt.spawn(run_applier(
            applier,
            Arc::new(StreamGate::default()),
            clock,
            |_| (),
        ));
        rt.block_on(async {
            for v in 1..=5 {
                log.append(0, put_key(v, v as u32, KeyStatus::Active, 1).change);
            }
            log.append(0, status(6, 2, KeyStatus::Deleted, 2).change);
            // Generous bound: the applier needs microseconds, not seconds.
            for _ in 0..1000 {
                if replica.applied_version() == 6 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        });
        assert_eq!(replica.applied_version(), 6);
        let store = replica.read();
        assert_eq!(store.keys.len(), 5);
        assert_eq!(store.keys[&key(2)].status, KeyStatus::Deleted);
        assert_eq!(store.keys[&key(2)].revoked_at, Some(6));
    }

    proptest! {
        /// Deliveries that are late, reordered and duplicated leave a replica
        /// exactly where in-order delivery does, and never move it backwards.
        #[test]
        fn delayed_reordered_duplicated_delivery_never_regresses(
            order in proptest::collection::vec(0usize..12, 1..80),
        ) {
            let entries: Vec<LogEntry> = (1..=12u64)
                .map(|v| if v % 3 == 0 {
                    status(v, (v % 4) as u32, KeyStatus::Inactive, v as u32)
                } else {
                    put_key(v, (v % 4) as u32, KeyStatus::Active, v as u32)
                })
                .collect();
            let mut store = ReplicaStore::default();
            let mut reference = ReplicaStore::default();
            for e in &entries {
                reference.apply(e, 0);
            }
            let mut last_version = 0;
            // Deliver in the random order, retrying the pending ones as a
            // replica does when it polls its stream again.
            for &i in &order {
                store.apply(&entries[i], 0);
                prop_assert!(store.version >= last_version);
                last_version = store.version;
            }
            for e in &entries {
                store.apply(e, 0);
            }
            prop_assert_eq!(store.version, reference.version);
            for (k, v) in &reference.keys {
                let got = &store.keys[k];
                prop_assert_eq!((got.status, got.version, got.revoked_at), (v.status, v.version, v.revoked_at));
            }
        }
    }
}
