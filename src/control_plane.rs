//! The control plane: the one authority, in the home region, that owns users,
//! access keys with their secrets, and policies. Every write appends to the
//! change log ([`crate::replication`]); the regions hold only what it
//! replicates, which includes each key's region-scoped `kRegion` for today
//! (and, ahead of UTC midnight, tomorrow) but never a secret.
//!
//! Under the `none` strategy the control plane also answers every
//! verification ([`ControlPlane::verify_call`]): a simulated round trip from
//! the calling region, a wait for one of its bounded workers, the full key
//! derivation from the secret, and a simulated service time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use thiserror::Error;
use tokio::sync::Semaphore;

use crate::clock::SimClock;
use crate::iam::Policy;
use crate::identity::{AccessKeyId, KeyStatus, User, UserId};
use crate::replication::{Change, ChangeLog, RegionKeys, ReplicaStore};
use crate::service::Target;
use crate::sigv4::amz_date::AmzDate;
use crate::sigv4::crypto::{self, Backend, Crypto, RegionKey, SecretAccessKey};
use crate::sigv4::verify::Prepared;
use crate::sigv4::{ErrorCode, Rejection};

/// IAM's limit on access keys per user.
pub const MAX_KEYS_PER_USER: usize = 2;

/// IAM's limit on the size of a user's inline policy, in bytes without
/// white space.
pub const MAX_INLINE_POLICY_BYTES: usize = 2048;

/// A control-plane API error, named as IAM names it.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ApiError {
    /// The user or key does not exist.
    #[error("NoSuchEntity: {0}")]
    NoSuchEntity(String),
    /// A limit such as two keys per user would be exceeded.
    #[error("LimitExceeded: {0}")]
    LimitExceeded(String),
    /// The policy document is not valid.
    #[error("MalformedPolicyDocument: {0}")]
    MalformedPolicyDocument(String),
    /// The entity already exists.
    #[error("EntityAlreadyExists: {0}")]
    EntityAlreadyExists(String),
    /// The service failed to answer (during an incident).
    #[error("ServiceFailure: {0}")]
    ServiceFailure(String),
}

impl ApiError {
    /// IAM's name of the error.
    pub fn name(&self) -> &'static str {
        match self {
            ApiError::NoSuchEntity(_) => "NoSuchEntity",
            ApiError::LimitExceeded(_) => "LimitExceeded",
            ApiError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            ApiError::EntityAlreadyExists(_) => "EntityAlreadyExists",
            ApiError::ServiceFailure(_) => "ServiceFailure",
        }
    }
}

/// How the control plane is sized, and where it lives.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The home region.
    pub home_region: String,
    /// All regions in world order (the home region among them).
    pub regions: Vec<String>,
    /// The 12-digit account id.
    pub account_id: String,
    /// Crypto backend.
    pub backend: Backend,
    /// Verification calls served at once.
    pub workers: usize,
    /// Simulated time a call holds a worker.
    pub service_time: Duration,
    /// Calls allowed to wait for a worker.
    pub max_queue: usize,
    /// Seconds before midnight from which tomorrow's keys are derived too.
    pub push_ahead_s: f64,
    /// Seed for key ids and secrets.
    pub seed: u64,
}

struct KeyRecord {
    user: UserId,
    secret: SecretAccessKey,
    status: KeyStatus,
    version: u32,
}

struct UserRecord {
    user: User,
    keys: Vec<AccessKeyId>,
    policies: Vec<(String, Arc<Policy>)>,
}

#[derive(Default)]
struct Directory {
    users: Vec<UserRecord>,
    names: HashMap<String, UserId>,
    keys: HashMap<AccessKeyId, KeyRecord>,
}

/// The control plane in the home region.
pub struct ControlPlane {
    settings: Settings,
    clock: SimClock,
    directory: Mutex<Directory>,
    log: Arc<ChangeLog>,
    rng: Mutex<StdRng>,
    workers: Semaphore,
    waiting: AtomicUsize,
    calls: AtomicU64,
    truth: RwLock<Truth>,
    incident: RwLock<Option<Incident>>,
    api_calls: AtomicU64,
    api_errors: AtomicU64,
}

/// What the control plane has written that refuses requests, by log
/// version: the measure of the regions' exposure while they catch up.
#[derive(Default)]
struct Truth {
    /// Keys deactivated or deleted, and at which version.
    revoked: HashMap<AccessKeyId, u64>,
    /// Each user's latest inline policies, and the version that set them.
    policies: HashMap<UserId, (u64, Vec<Arc<Policy>>)>,
}

/// A control-plane incident: every API call (and every `none`-strategy
/// verification) is slower, and a share of them fail.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Incident {
    /// Extra latency of each call.
    pub api_latency: Duration,
    /// Share of calls that fail (0 to 1).
    pub error_rate: f64,
}

/// What a push of region keys did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PushReport {
    /// Active keys whose region keys were derived.
    pub keys: usize,
    /// Regions each key was derived for.
    pub regions: usize,
    /// HMAC computations (two per key and region).
    pub hmacs: u64,
    /// Wall-clock time of the derivation, milliseconds.
    pub duration_ms: u64,
}

/// A key pair handed to a client when the key is created.
#[derive(Clone, Debug)]
pub struct IssuedKey {
    /// The access key id.
    pub access_key_id: AccessKeyId,
    /// The secret: the client's copy.
    pub secret: SecretAccessKey,
    /// The owner.
    pub user: UserId,
}

impl ControlPlane {
    /// An empty control plane writing to a new change log.
    pub fn new(settings: Settings, clock: SimClock) -> ControlPlane {
        let rng = StdRng::seed_from_u64(settings.seed ^ 0xC0_47_80_1A);
        ControlPlane {
            workers: Semaphore::new(settings.workers),
            settings,
            clock,
            directory: Mutex::new(Directory::default()),
            log: Arc::new(ChangeLog::new()),
            rng: Mutex::new(rng),
            waiting: AtomicUsize::new(0),
            calls: AtomicU64::new(0),
            truth: RwLock::new(Truth::default()),
            incident: RwLock::new(None),
            api_calls: AtomicU64::new(0),
            api_errors: AtomicU64::new(0),
        }
    }

    /// Start (`Some`) or end (`None`) an incident.
    pub fn set_incident(&self, incident: Option<Incident>) {
        *self.incident.write() = incident;
    }

    /// API calls made so far and how many failed.
    pub fn api_stats(&self) -> (u64, u64) {
        (
            self.api_calls.load(Ordering::Relaxed),
            self.api_errors.load(Ordering::Relaxed),
        )
    }

    /// Run one API call as a client would: it waits the incident's extra
    /// latency (on the calling thread) and may fail with `ServiceFailure`.
    ///
    /// # Errors
    ///
    /// `ServiceFailure` during an incident, or the call's own error.
    pub fn api<T>(
        &self,
        call: impl FnOnce(&ControlPlane) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.api_calls.fetch_add(1, Ordering::Relaxed);
        let incident = *self.incident.read();
        if let Some(incident) = incident {
            std::thread::sleep(incident.api_latency);
            if self.rng.lock().random::<f64>() < incident.error_rate {
                self.api_errors.fetch_add(1, Ordering::Relaxed);
                return Err(ApiError::ServiceFailure(
                    "the control plane is impaired (a simulated incident)".to_string(),
                ));
            }
        }
        call(self)
    }

    /// Whether what the control plane has written after log version
    /// `applied` refuses an allowed request: its key revoked, or its owner's
    /// latest policies not allowing `target`. Cheap when nothing is pending.
    pub fn refuses_beyond(
        &self,
        applied: u64,
        key: Option<&AccessKeyId>,
        user: Option<UserId>,
        target: &Target,
    ) -> bool {
        if self.log.head() <= applied {
            return false;
        }
        let truth = self.truth.read();
        if key
            .and_then(|k| truth.revoked.get(k))
            .is_some_and(|v| *v > applied)
        {
            return true;
        }
        match user.and_then(|u| truth.policies.get(&u)) {
            Some((version, policies)) if *version > applied && !target.always_allowed => {
                crate::iam::evaluate(
                    policies.iter().map(|p| &**p),
                    &target.action,
                    &target.resource,
                ) != crate::iam::Decision::Allow
            }
            _ => false,
        }
    }

    /// The change log the regions replicate.
    pub fn log(&self) -> Arc<ChangeLog> {
        self.log.clone()
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Verification calls served so far (`none` strategy).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Create a user named `name`.
    ///
    /// # Errors
    ///
    /// `EntityAlreadyExists` when the name is taken.
    pub fn create_user(&self, name: &str) -> Result<UserId, ApiError> {
        let mut dir = self.directory.lock();
        if dir.names.contains_key(name) {
            return Err(ApiError::EntityAlreadyExists(format!(
                "user {name} already exists"
            )));
        }
        let id = UserId(dir.users.len() as u32);
        let user = User {
            id,
            name: name.to_string(),
            arn: format!("arn:aws:iam::{}:user/{name}", self.settings.account_id),
        };
        dir.names.insert(name.to_string(), id);
        dir.users.push(UserRecord {
            user: user.clone(),
            keys: Vec::new(),
            policies: Vec::new(),
        });
        self.log.append(self.clock.now_ms(), Change::PutUser(user));
        Ok(id)
    }

    /// Create an access key for `user` and replicate its region keys.
    ///
    /// # Errors
    ///
    /// `NoSuchEntity` for an unknown user, `LimitExceeded` when the user
    /// already has two keys.
    pub fn create_access_key(&self, user: UserId) -> Result<IssuedKey, ApiError> {
        let issued = self.reserve_key(user)?;
        let region_keys = self.derive_region_keys(&issued.secret);
        self.log.append(
            self.clock.now_ms(),
            Change::PutKey {
                key: issued.access_key_id,
                user,
                status: KeyStatus::Active,
                version: 1,
                region_keys,
            },
        );
        Ok(issued)
    }

    /// Create `count` keys for each of `users` in bulk, deriving every region
    /// key in parallel (rayon), as an onboarding run does.
    ///
    /// # Errors
    ///
    /// As [`ControlPlane::create_access_key`].
    pub fn create_access_keys_bulk(
        &self,
        users: &[UserId],
        count: usize,
    ) -> Result<Vec<IssuedKey>, ApiError> {
        let mut issued = Vec::with_capacity(users.len() * count);
        for &user in users {
            for _ in 0..count {
                issued.push(self.reserve_key(user)?);
            }
        }
        let derived: Vec<Arc<[RegionKeys]>> = issued
            .par_iter()
            .map(|k| self.derive_region_keys(&k.secret))
            .collect();
        let now = self.clock.now_ms();
        for (k, region_keys) in issued.iter().zip(derived) {
            self.log.append(
                now,
                Change::PutKey {
                    key: k.access_key_id,
                    user: k.user,
                    status: KeyStatus::Active,
                    version: 1,
                    region_keys,
                },
            );
        }
        Ok(issued)
    }

    /// Set the status of `key` (deactivate, reactivate or delete).
    ///
    /// # Errors
    ///
    /// `NoSuchEntity` for an unknown or deleted key.
    pub fn set_access_key_status(
        &self,
        key: AccessKeyId,
        status: KeyStatus,
    ) -> Result<(), ApiError> {
        let mut dir = self.directory.lock();
        let record = dir
            .keys
            .get_mut(&key)
            .filter(|r| r.status != KeyStatus::Deleted)
            .ok_or_else(|| ApiError::NoSuchEntity(format!("access key {key} does not exist")))?;
        record.status = status;
        record.version += 1;
        let (user, version) = (record.user, record.version);
        if status == KeyStatus::Deleted {
            dir.users[user.0 as usize].keys.retain(|k| *k != key);
        }
        let logged = self.log.append(
            self.clock.now_ms(),
            Change::SetKeyStatus {
                key,
                status,
                version,
            },
        );
        let mut truth = self.truth.write();
        match status {
            KeyStatus::Active => truth.revoked.remove(&key),
            _ => truth.revoked.insert(key, logged),
        };
        Ok(())
    }

    /// Attach (or replace) the inline policy `name` of `user`.
    ///
    /// # Errors
    ///
    /// `NoSuchEntity`, `MalformedPolicyDocument`, or `LimitExceeded` for a
    /// policy over 2,048 bytes.
    pub fn put_user_policy(
        &self,
        user: UserId,
        name: &str,
        document: &str,
    ) -> Result<(), ApiError> {
        let policy = Arc::new(parse_policy(document)?);
        self.attach_policy(user, name, policy)
    }

    /// Attach the same inline policy to many users, parsing it once.
    ///
    /// # Errors
    ///
    /// As [`ControlPlane::put_user_policy`].
    pub fn put_user_policy_bulk(
        &self,
        users: &[UserId],
        name: &str,
        document: &str,
    ) -> Result<(), ApiError> {
        let policy = Arc::new(parse_policy(document)?);
        users
            .iter()
            .try_for_each(|u| self.attach_policy(*u, name, policy.clone()))
    }

    fn attach_policy(&self, user: UserId, name: &str, policy: Arc<Policy>) -> Result<(), ApiError> {
        let mut dir = self.directory.lock();
        let record = dir
            .users
            .get_mut(user.0 as usize)
            .ok_or_else(|| ApiError::NoSuchEntity(format!("user {} does not exist", user.0)))?;
        record.policies.retain(|(n, _)| n != name);
        record.policies.push((name.to_string(), policy.clone()));
        let latest: Vec<Arc<Policy>> = record.policies.iter().map(|(_, p)| p.clone()).collect();
        let logged = self.log.append(
            self.clock.now_ms(),
            Change::PutUserPolicy {
                user,
                name: name.to_string(),
                policy,
            },
        );
        self.truth.write().policies.insert(user, (logged, latest));
        Ok(())
    }

    /// Remove the inline policy `name` from `user`.
    ///
    /// # Errors
    ///
    /// `NoSuchEntity` when the user or the policy does not exist.
    pub fn delete_user_policy(&self, user: UserId, name: &str) -> Result<(), ApiError> {
        let mut dir = self.directory.lock();
        let record = dir
            .users
            .get_mut(user.0 as usize)
            .ok_or_else(|| ApiError::NoSuchEntity(format!("user {} does not exist", user.0)))?;
        if !record.policies.iter().any(|(n, _)| n == name) {
            return Err(ApiError::NoSuchEntity(format!(
                "user {} has no policy {name}",
                record.user.name
            )));
        }
        record.policies.retain(|(n, _)| n != name);
        let latest: Vec<Arc<Policy>> = record.policies.iter().map(|(_, p)| p.clone()).collect();
        let logged = self.log.append(
            self.clock.now_ms(),
            Change::DeleteUserPolicy {
                user,
                name: name.to_string(),
            },
        );
        self.truth.write().policies.insert(user, (logged, latest));
        Ok(())
    }

    /// Derive every active key's region keys for `date` in every region, in
    /// parallel (rayon), and replicate them: the push of tomorrow's keys
    /// ahead of UTC midnight.
    pub fn push_region_keys(&self, date: AmzDate) -> PushReport {
        let started = std::time::Instant::now();
        let keys: Vec<(AccessKeyId, SecretAccessKey)> = {
            let dir = self.directory.lock();
            dir.keys
                .iter()
                .filter(|(_, r)| r.status == KeyStatus::Active)
                .map(|(k, r)| (*k, r.secret.clone()))
                .collect()
        };
        let backend = self.settings.backend;
        let regions = &self.settings.regions;
        let derived: Vec<(AccessKeyId, Arc<[RegionKey]>)> = keys
            .par_iter()
            .map(|(k, secret)| {
                let per_region: Arc<[RegionKey]> = regions
                    .iter()
                    .map(|r| backend.region_key(secret, date.date(), r))
                    .collect();
                (*k, per_region)
            })
            .collect();
        let report = PushReport {
            keys: derived.len(),
            regions: regions.len(),
            hmacs: 2 * (derived.len() * regions.len()) as u64,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        self.log.append(
            self.clock.now_ms(),
            Change::PushRegionKeys {
                date: date.date().parse().unwrap_or(0),
                keys: Arc::from(derived),
            },
        );
        report
    }

    /// The state a replica of region `region` starts from: everything written
    /// so far, at the log's head version.
    pub fn snapshot_for(&self, region: usize) -> ReplicaStore {
        let mut store = ReplicaStore::default();
        let head = self.log.head();
        for v in 1..=head {
            if let Some(entry) = self.log.get(v) {
                store.apply(&entry, region);
            }
        }
        store
    }

    /// Verify a prepared request here, as the `none` strategy does for every
    /// request: travel from the region (half of `rtt`), wait for a worker,
    /// derive the signing key from the secret (four HMACs), check the
    /// signature (one HMAC), hold the worker for the simulated service time,
    /// travel back. Returns the key's owner and the HMACs computed.
    ///
    /// # Errors
    ///
    /// `ServiceUnavailable` when the queue is full; the verification's own
    /// rejection otherwise (with the HMACs computed before it).
    pub async fn verify_call<C: Crypto>(
        &self,
        rtt: Duration,
        prepared: &Prepared<'_>,
    ) -> (Result<UserId, Rejection>, u32) {
        simulated_wait(rtt / 2).await;
        let result = self.serve::<C>(prepared).await;
        simulated_wait(rtt / 2).await;
        result
    }

    async fn serve<C: Crypto>(&self, prepared: &Prepared<'_>) -> (Result<UserId, Rejection>, u32) {
        let incident = *self.incident.read();
        if let Some(incident) = incident {
            simulated_wait(incident.api_latency).await;
            if self.rng.lock().random::<f64>() < incident.error_rate {
                return (
                    Err(Rejection::new(
                        ErrorCode::ServiceUnavailable,
                        "the control plane is impaired (a simulated incident)",
                    )),
                    0,
                );
            }
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.settings.max_queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return (
                Err(Rejection::new(
                    ErrorCode::ServiceUnavailable,
                    "the control plane's queue is full",
                )),
                0,
            );
        }
        let permit = self.workers.acquire().await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let result = self.derive_and_check::<C>(prepared);
        simulated_wait(self.settings.service_time).await;
        drop(permit);
        result
    }

    fn derive_and_check<C: Crypto>(
        &self,
        prepared: &Prepared<'_>,
    ) -> (Result<UserId, Rejection>, u32) {
        let cred = prepared.credential();
        let unknown = Rejection::new(
            ErrorCode::InvalidAccessKeyId,
            "the access key id is not known",
        );
        let Some(key_id) = AccessKeyId::new(cred.access_key_id) else {
            return (Err(unknown), 0);
        };
        let (secret, user) = {
            let dir = self.directory.lock();
            match dir.keys.get(&key_id) {
                Some(r) if r.status == KeyStatus::Active => (r.secret.clone(), r.user),
                _ => return (Err(unknown), 0),
            }
        };
        if prepared.security_token().is_some() {
            return (
                Err(Rejection::new(
                    ErrorCode::InvalidClientTokenId,
                    "the session token is not valid",
                )),
                0,
            );
        }
        let region_key = crypto::region_key::<C>(&secret, cred.date, cred.region);
        let signing = crypto::signing_key::<C>(&region_key, cred.service);
        (prepared.check::<C>(&signing).map(|()| user), 5)
    }

    fn reserve_key(&self, user: UserId) -> Result<IssuedKey, ApiError> {
        let mut dir = self.directory.lock();
        let record = dir
            .users
            .get(user.0 as usize)
            .ok_or_else(|| ApiError::NoSuchEntity(format!("user {} does not exist", user.0)))?;
        if record.keys.len() >= MAX_KEYS_PER_USER {
            return Err(ApiError::LimitExceeded(format!(
                "user {} already has {MAX_KEYS_PER_USER} access keys",
                record.user.name
            )));
        }
        let (access_key_id, secret) = loop {
            let (id, secret) = self.new_key_material();
            if !dir.keys.contains_key(&id) {
                break (id, secret);
            }
        };
        dir.users[user.0 as usize].keys.push(access_key_id);
        dir.keys.insert(
            access_key_id,
            KeyRecord {
                user,
                secret: secret.clone(),
                status: KeyStatus::Active,
                version: 1,
            },
        );
        Ok(IssuedKey {
            access_key_id,
            secret,
            user,
        })
    }

    fn new_key_material(&self) -> (AccessKeyId, SecretAccessKey) {
        const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const SECRET_CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut rng = self.rng.lock();
        let mut id = String::from("AKIA");
        id.extend((0..16).map(|_| ID_CHARS[rng.random_range(0..ID_CHARS.len())] as char));
        let secret: String = (0..40)
            .map(|_| SECRET_CHARS[rng.random_range(0..SECRET_CHARS.len())] as char)
            .collect();
        // Both are built from their alphabets, so both are valid.
        (
            AccessKeyId::new(&id).unwrap_or_else(|| unreachable!("generated ids are valid")),
            SecretAccessKey::new(secret)
                .unwrap_or_else(|_| unreachable!("generated secrets are valid")),
        )
    }

    /// Scope dates whose region keys are replicated now: today's, and
    /// tomorrow's within `push_ahead_s` of midnight.
    pub fn key_dates(&self) -> Vec<AmzDate> {
        let now_s = self.clock.now_secs();
        let mut dates = vec![AmzDate::from_unix(now_s)];
        let next_midnight = (now_s.div_euclid(86_400) + 1) * 86_400;
        if (next_midnight - now_s) as f64 <= self.settings.push_ahead_s {
            dates.push(AmzDate::from_unix(next_midnight));
        }
        dates
    }

    fn derive_region_keys(&self, secret: &SecretAccessKey) -> Arc<[RegionKeys]> {
        let dates = self.key_dates();
        self.settings
            .regions
            .iter()
            .map(|region| {
                dates
                    .iter()
                    .map(|d| {
                        let key: RegionKey =
                            self.settings.backend.region_key(secret, d.date(), region);
                        (d.date().parse::<u32>().unwrap_or(0), key)
                    })
                    .collect()
            })
            .collect()
    }
}

/// Wait a simulated duration. tokio's timer rounds every sleep up to its
/// next millisecond tick, so a zero duration must not sleep at all.
async fn simulated_wait(duration: Duration) {
    if !duration.is_zero() {
        tokio::time::sleep(duration).await;
    }
}

fn parse_policy(document: &str) -> Result<Policy, ApiError> {
    let policy =
        Policy::parse(document).map_err(|e| ApiError::MalformedPolicyDocument(e.to_string()))?;
    if policy.size_bytes() > MAX_INLINE_POLICY_BYTES {
        return Err(ApiError::LimitExceeded(format!(
            "the policy is {} bytes; a user's inline policy may have at most {MAX_INLINE_POLICY_BYTES}",
            policy.size_bytes()
        )));
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn control_plane(start_ms: i64) -> ControlPlane {
        ControlPlane::new(
            Settings {
                home_region: "us-east-1".into(),
                regions: vec!["us-east-1".into(), "eu-north-1".into()],
                account_id: "123456789012".into(),
                backend: Backend::Ring,
                workers: 2,
                service_time: Duration::ZERO,
                max_queue: 10,
                push_ahead_s: 3600.0,
                seed: 1,
            },
            SimClock::manual(start_ms),
        )
    }

    #[test]
    fn every_write_appends_the_next_version() {
        let cp = control_plane(1_700_000_000_000);
        let alice = cp.create_user("alice").unwrap();
        assert_eq!(cp.log().head(), 1);
        cp.create_access_key(alice).unwrap();
        cp.create_access_key(alice).unwrap();
        assert_eq!(cp.log().head(), 3);
        assert!(matches!(
            cp.create_access_key(alice),
            Err(ApiError::LimitExceeded(_))
        ));
        assert_eq!(
            cp.create_user("alice"),
            Err(ApiError::EntityAlreadyExists(
                "user alice already exists".into()
            ))
        );
        assert_eq!(cp.log().head(), 3);
    }

    #[test]
    fn replicas_get_region_keys_but_no_secret() {
        let cp = control_plane(1_700_000_000_000);
        let alice = cp.create_user("alice").unwrap();
        let issued = cp.create_access_key(alice).unwrap();
        let store = cp.snapshot_for(1);
        let key = &store.keys[&issued.access_key_id];
        let date = AmzDate::from_unix(1_700_000_000);
        let expected = Backend::Ring.region_key(&issued.secret, date.date(), "eu-north-1");
        assert_eq!(
            key.region_key(date.date().parse().unwrap()),
            Some(&expected)
        );
        assert_eq!(key.region_keys.len(), 1);
    }

    #[test]
    fn tomorrows_keys_are_derived_ahead_of_midnight() {
        // 23:30 UTC: within the default hour before midnight.
        let cp = control_plane((1_700_006_400 - 1800) * 1000);
        let dates: Vec<String> = cp
            .key_dates()
            .iter()
            .map(|d| d.date().to_string())
            .collect();
        assert_eq!(dates, ["20231114", "20231115"]);
        let noon = control_plane((1_700_006_400 - 43_200) * 1000);
        assert_eq!(noon.key_dates().len(), 1);
    }

    #[test]
    fn oversized_and_malformed_policies_are_refused() {
        let cp = control_plane(0);
        let alice = cp.create_user("alice").unwrap();
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}]}}"#,
            "b".repeat(2100)
        );
        assert!(matches!(
            cp.put_user_policy(alice, "p", &big),
            Err(ApiError::LimitExceeded(_))
        ));
        assert!(matches!(
            cp.put_user_policy(alice, "p", "{"),
            Err(ApiError::MalformedPolicyDocument(_))
        ));
    }
}
