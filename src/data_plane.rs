//! The regional IAM data planes: per region, AZ replicas that each hold a
//! replicated store, their own `per-service` cache and their own bounded
//! concurrency. A service endpoint hands every signed request to its region's
//! data plane, which authenticates it (SigV4, with the signing key obtained as
//! the strategy says) and authorizes it (the user's policies), then checks the
//! decision against the state the AZ replica had applied.
//!
//! Nothing here can hold a secret access key: the replicated store has
//! region keys only, and under the `none` strategy the data plane asks the
//! control plane ([`crate::control_plane`]) to verify.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{Notify, Semaphore};

use crate::cache::{CacheBackend, KeyCache, Lookup};
use crate::clock::SimClock;
use crate::control_plane::ControlPlane;
use crate::iam::{self, Decision as PolicyDecision};
use crate::identity::{AccessKeyId, KeyStatus, UserId};
use crate::replication::{Replica, ReplicaStore, StreamGate};
use crate::service::{Service, Target};
use crate::sigv4::amz_date::scope_date_number;
use crate::sigv4::auth::{self, Credential};
use crate::sigv4::crypto::{self, Backend, Crypto, PrekeyedKey, Ring, RustCrypto, SigningKey};
use crate::sigv4::http::Request;
use crate::sigv4::verify::{prepare, Context, Prepared};
use crate::sigv4::{ErrorCode, Rejection};
use crate::strategy::Strategy;

/// What happened to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Outcome {
    /// Authenticated and allowed by policy.
    Allowed,
    /// Authenticated, and a policy statement denies it.
    DeniedExplicit,
    /// Authenticated, and no policy statement allows it.
    DeniedImplicit,
    /// Refused before authorization, with AWS's code.
    Rejected(ErrorCode),
    /// Not an HTTP request, or no IAM action could be derived from it.
    BadRequest,
}

impl Outcome {
    /// Number of distinct outcomes ([`Outcome::index`] is below it).
    pub const COUNT: usize = 4 + ErrorCode::ALL.len();

    /// A dense index for counters.
    pub fn index(self) -> usize {
        match self {
            Outcome::Allowed => 0,
            Outcome::DeniedExplicit => 1,
            Outcome::DeniedImplicit => 2,
            Outcome::BadRequest => 3,
            Outcome::Rejected(code) => 4 + code.index(),
        }
    }

    /// The outcome with index `i`.
    pub fn from_index(i: usize) -> Option<Outcome> {
        match i {
            0 => Some(Outcome::Allowed),
            1 => Some(Outcome::DeniedExplicit),
            2 => Some(Outcome::DeniedImplicit),
            3 => Some(Outcome::BadRequest),
            i => ErrorCode::ALL.get(i - 4).map(|c| Outcome::Rejected(*c)),
        }
    }

    /// The name used in summaries: `allowed`, `denied_explicit`,
    /// `denied_implicit`, `bad_request`, or AWS's code.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::DeniedExplicit => "denied_explicit",
            Outcome::DeniedImplicit => "denied_implicit",
            Outcome::BadRequest => "bad_request",
            Outcome::Rejected(code) => code.as_str(),
        }
    }
}

/// How the `per-service` cache served a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheUse {
    /// No cache lookup happened.
    None,
    /// The signing key was cached.
    Hit,
    /// The signing key was derived and cached (by this request or a
    /// concurrent one for the same key).
    Miss,
}

/// The data plane's answer with what it cost and whether it was right.
#[derive(Clone, Copy, Debug)]
pub struct Decision {
    /// What happened.
    pub outcome: Outcome,
    /// When the answer was ready (before the correctness check ran).
    pub responded: Instant,
    /// The AZ replica that answered.
    pub az: usize,
    /// HMAC-SHA256 computations on the verifying side, derivations included.
    pub hmacs: u32,
    /// The cache's part.
    pub cache: CacheUse,
    /// Whether the control plane was called.
    pub control_plane_call: bool,
    /// Allowed although the AZ's applied state says the key is not active or
    /// the policy does not allow: a defect.
    pub stale_accept: bool,
    /// The AZ's applied state (key active, policy allows) would allow the
    /// request; used to find legitimate requests refused.
    pub state_allows: bool,
    /// Allowed while the control plane had already revoked the key or denied
    /// the action but the AZ had not yet applied it: the eventual-consistency
    /// exposure.
    pub exposure: bool,
}

/// The `per-service` cache key: everything that makes a signing key, plus the
/// key's version so that a changed key is never served from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CacheKey {
    /// The access key.
    pub key: AccessKeyId,
    /// Its version when cached.
    pub version: u32,
    /// Scope date, `YYYYMMDD` as a number.
    pub date: u32,
    /// Region index.
    pub region: u16,
    /// The service.
    pub service: Service,
}

/// One AZ replica of a region's data plane.
pub struct AzReplica {
    /// Its name, such as `eu-north-1a`.
    pub name: String,
    /// Its replicated store.
    pub replica: Arc<Replica>,
    keys: SigningKeys,
    permits: Semaphore,
    up: AtomicBool,
}

/// An AZ replica's signing-key cache, holding what its strategy caches.
enum SigningKeys {
    /// No cache (`none`, `per-region`).
    Uncached,
    /// `kSigning` (`per-service`).
    Plain(KeyCache<CacheKey, SigningKey>),
    /// `kSigning` as a pre-keyed HMAC state (`per-service-prekeyed`).
    Prekeyed(KeyCache<CacheKey, PrekeyedKey>),
}

impl AzReplica {
    /// Whether it is serving.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Acquire)
    }

    /// Stop or restart it (AZ loss).
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Release);
    }

    /// Entries in its signing-key cache (0 without one).
    pub fn cache_entries(&self) -> usize {
        match &self.keys {
            SigningKeys::Uncached => 0,
            SigningKeys::Plain(c) => c.len(),
            SigningKeys::Prekeyed(c) => c.len(),
        }
    }
}

/// One region's data plane.
pub struct Region {
    /// Region code.
    pub name: String,
    /// Simulated round trip to the home region.
    pub rtt: Duration,
    /// Its AZ replicas.
    pub azs: Vec<AzReplica>,
    /// Its replication stream (closed during a propagation outage).
    pub gate: Arc<StreamGate>,
    /// Simulated failures of its IAM data plane.
    pub fault: RegionFault,
}

/// Simulated failures of a region's IAM data plane: a share of requests
/// answered with `ServiceUnavailable`, or a stop-the-world pause during which
/// requests wait.
#[derive(Debug, Default)]
pub struct RegionFault {
    error_ppm: AtomicU32,
    paused: AtomicBool,
    resumed: Notify,
}

impl RegionFault {
    /// Fail `rate` (0 to 1) of requests from now on.
    pub fn set_error_rate(&self, rate: f64) {
        let ppm = (rate.clamp(0.0, 1.0) * 1_000_000.0).round() as u32;
        self.error_ppm.store(ppm, Ordering::Release);
    }

    /// Stop answering until [`RegionFault::resume`].
    pub fn pause(&self) {
        self.paused.store(true, Ordering::Release);
    }

    /// Answer again; waiting requests proceed.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::Release);
        self.resumed.notify_waiters();
    }

    /// Wait while paused.
    async fn wait_running(&self) {
        loop {
            let resumed = self.resumed.notified();
            if !self.paused.load(Ordering::Acquire) {
                return;
            }
            resumed.await;
        }
    }

    /// Whether the request numbered `seq` falls in the failing share: a
    /// fixed hash of `seq`, so runs repeat.
    fn fails(&self, seq: u64) -> bool {
        let ppm = self.error_ppm.load(Ordering::Acquire);
        ppm > 0 && (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % 1_000_000 < u64::from(ppm)
    }
}

/// How each region's AZ replicas are built.
#[derive(Clone, Debug)]
pub struct Sizing {
    /// AZ replicas per region.
    pub azs: usize,
    /// Requests an AZ replica serves at once.
    pub az_concurrency: usize,
    /// Signing-key cache entries per AZ replica.
    pub cache_capacity: u64,
    /// The cache's backend.
    pub cache_backend: CacheBackend,
}

/// All regional data planes, verifying with one strategy.
pub struct DataPlanes {
    /// The regions, in world order.
    pub regions: Vec<Region>,
    /// The strategy every endpoint uses.
    pub strategy: Strategy,
    backend: Backend,
    clock: SimClock,
    control_plane: Arc<ControlPlane>,
}

thread_local! {
    /// Per-thread buffers of the verification path, reused so that a warm
    /// thread allocates nothing per request.
    static SCRATCH: RefCell<(Vec<u8>, Target)> = RefCell::new((Vec::with_capacity(1024), Target::default()));
}

impl DataPlanes {
    /// Data planes for `regions` (name, round trip), each AZ replica
    /// starting from the control plane's current state.
    pub fn new(
        regions: &[(String, Duration)],
        sizing: &Sizing,
        strategy: Strategy,
        backend: Backend,
        clock: SimClock,
        control_plane: Arc<ControlPlane>,
    ) -> DataPlanes {
        let regions = regions
            .iter()
            .enumerate()
            .map(|(index, (name, rtt))| Region {
                name: name.clone(),
                rtt: *rtt,
                azs: (0..sizing.azs)
                    .map(|az| AzReplica {
                        name: format!("{name}{}", (b'a' + az as u8) as char),
                        replica: Arc::new(Replica::from_snapshot(
                            index,
                            control_plane.snapshot_for(index),
                        )),
                        keys: match strategy {
                            Strategy::PerService => SigningKeys::Plain(KeyCache::new(
                                sizing.cache_backend,
                                sizing.cache_capacity,
                            )),
                            Strategy::PerServicePrekeyed => SigningKeys::Prekeyed(KeyCache::new(
                                sizing.cache_backend,
                                sizing.cache_capacity,
                            )),
                            Strategy::None | Strategy::PerRegion => SigningKeys::Uncached,
                        },
                        permits: Semaphore::new(sizing.az_concurrency),
                        up: AtomicBool::new(true),
                    })
                    .collect(),
                gate: Arc::new(StreamGate::default()),
                fault: RegionFault::default(),
            })
            .collect();
        DataPlanes {
            regions,
            strategy,
            backend,
            clock,
            control_plane,
        }
    }

    /// The control plane they replicate from.
    pub fn control_plane(&self) -> &Arc<ControlPlane> {
        &self.control_plane
    }

    /// The simulated clock they verify against.
    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// Authenticate and authorize the raw request `raw` sent to `service` in
    /// region `region`; `seq` spreads requests over the AZ replicas.
    pub async fn handle(&self, region: usize, service: Service, raw: &[u8], seq: u64) -> Decision {
        match self.backend {
            Backend::Ring => self.handle_with::<Ring>(region, service, raw, seq).await,
            Backend::RustCrypto => {
                self.handle_with::<RustCrypto>(region, service, raw, seq)
                    .await
            }
        }
    }

    async fn handle_with<C: Crypto>(
        &self,
        region_index: usize,
        service: Service,
        raw: &[u8],
        seq: u64,
    ) -> Decision {
        let region = &self.regions[region_index];
        region.fault.wait_running().await;
        let Some(az_index) = pick_az(region, seq) else {
            return Decision::unanswered(Outcome::Rejected(ErrorCode::ServiceUnavailable), 0);
        };
        let az = &region.azs[az_index];
        let Ok(_permit) = az.permits.acquire().await else {
            return Decision::unanswered(
                Outcome::Rejected(ErrorCode::ServiceUnavailable),
                az_index,
            );
        };
        let Ok(request) = Request::parse(raw) else {
            return Decision::unanswered(Outcome::BadRequest, az_index);
        };
        let mut work = Work {
            az: az_index,
            hmacs: 0,
            cache: CacheUse::None,
            control_plane_call: false,
        };
        if region.fault.fails(seq) {
            let store = az.replica.read();
            let failing = Rejection::new(
                ErrorCode::ServiceUnavailable,
                "the region's IAM data plane is failing (a simulated incident)",
            );
            return conclude(
                &self.control_plane,
                &store,
                region,
                service,
                &request,
                key_of(&request),
                Err(failing),
                work,
            );
        }
        let ctx = Context {
            now: self.clock.now_secs(),
            region: Some(&region.name),
            service: Some(service.signing_name()),
            rules: None,
        };
        let prepared = SCRATCH.with(|s| prepare::<C>(&request, &ctx, &mut s.borrow_mut().0));
        let prepared = match prepared {
            Ok(p) => p,
            Err(rejection) => {
                let store = az.replica.read();
                return conclude(
                    &self.control_plane,
                    &store,
                    region,
                    service,
                    &request,
                    key_of(&request),
                    Err(rejection),
                    work,
                );
            }
        };
        let key_id = AccessKeyId::new(prepared.credential().access_key_id);
        let Some(key_id) = key_id else {
            let store = az.replica.read();
            let unknown = Rejection::new(
                ErrorCode::InvalidAccessKeyId,
                "the access key id is not known",
            );
            return conclude(
                &self.control_plane,
                &store,
                region,
                service,
                &request,
                None,
                Err(unknown),
                work,
            );
        };
        match self.strategy {
            Strategy::None => {
                {
                    let store = az.replica.read();
                    if let Err(revoked) = check_region_status(&store, &key_id) {
                        return conclude(
                            &self.control_plane,
                            &store,
                            region,
                            service,
                            &request,
                            Some(key_id),
                            Err(revoked),
                            work,
                        );
                    }
                }
                let (verified, hmacs) = self
                    .control_plane
                    .verify_call::<C>(region.rtt, &prepared)
                    .await;
                work.hmacs = hmacs;
                work.control_plane_call = true;
                let store = az.replica.read();
                // The region still refuses a key it saw revoked meanwhile.
                let verified =
                    verified.and_then(|user| check_region_status(&store, &key_id).map(|()| user));
                conclude(
                    &self.control_plane,
                    &store,
                    region,
                    service,
                    &request,
                    Some(key_id),
                    verified,
                    work,
                )
            }
            Strategy::PerRegion | Strategy::PerService | Strategy::PerServicePrekeyed => {
                let store = az.replica.read();
                let verified = self.verify_locally::<C>(
                    &store,
                    az,
                    region_index,
                    service,
                    &prepared,
                    key_id,
                    &mut work,
                );
                conclude(
                    &self.control_plane,
                    &store,
                    region,
                    service,
                    &request,
                    Some(key_id),
                    verified,
                    work,
                )
            }
        }
    }

    /// Verify with the replicated `kRegion`, deriving the signing key or
    /// taking it from the cache as the strategy says.
    #[allow(clippy::too_many_arguments)]
    fn verify_locally<C: Crypto>(
        &self,
        store: &ReplicaStore,
        az: &AzReplica,
        region: usize,
        service: Service,
        prepared: &Prepared<'_>,
        key_id: AccessKeyId,
        work: &mut Work,
    ) -> Result<UserId, Rejection> {
        let key = store
            .keys
            .get(&key_id)
            .filter(|k| k.status == KeyStatus::Active)
            .ok_or(Rejection::new(
                ErrorCode::InvalidAccessKeyId,
                "the access key id is not known or not active",
            ))?;
        if prepared.security_token().is_some() {
            return Err(Rejection::new(
                ErrorCode::InvalidClientTokenId,
                "the session token is not valid",
            ));
        }
        let cred = prepared.credential();
        let date = scope_date_number(cred.date).unwrap_or(0);
        let region_key = key.region_key(date).ok_or(Rejection::new(
            ErrorCode::ServiceUnavailable,
            "no region key for the credential's date has been replicated to this region",
        ))?;
        let cache_key = CacheKey {
            key: key_id,
            version: key.version,
            date,
            region: region as u16,
            service,
        };
        let derive = || crypto::signing_key::<C>(region_key, service.signing_name());
        work.hmacs += 1;
        match &az.keys {
            SigningKeys::Plain(cache) => {
                let (signing, lookup) = cache.get_or_derive(cache_key, derive);
                work.count(lookup);
                prepared.check::<C>(&signing)?;
            }
            SigningKeys::Prekeyed(cache) => {
                let (signing, lookup) =
                    cache.get_or_derive(cache_key, || PrekeyedKey::new(self.backend, &derive()));
                work.count(lookup);
                prepared.check_prekeyed(&signing)?;
            }
            SigningKeys::Uncached => {
                work.hmacs += 2;
                prepared.check::<C>(&derive())?;
            }
        }
        Ok(key.user)
    }
}

/// What the verification cost, carried into the decision.
#[derive(Clone, Copy, Debug)]
struct Work {
    az: usize,
    hmacs: u32,
    cache: CacheUse,
    control_plane_call: bool,
}

impl Work {
    /// Account for a cache lookup: a derivation costs two HMACs.
    fn count(&mut self, lookup: Lookup) {
        self.cache = match lookup {
            Lookup::Hit => CacheUse::Hit,
            Lookup::Derived | Lookup::Joined => CacheUse::Miss,
        };
        if lookup == Lookup::Derived {
            self.hmacs += 2;
        }
    }
}

impl Decision {
    /// A decision reached before any verification work.
    fn unanswered(outcome: Outcome, az: usize) -> Decision {
        Decision {
            outcome,
            responded: Instant::now(),
            az,
            hmacs: 0,
            cache: CacheUse::None,
            control_plane_call: false,
            stale_accept: false,
            state_allows: false,
            exposure: false,
        }
    }
}

fn pick_az(region: &Region, seq: u64) -> Option<usize> {
    let n = region.azs.len();
    (0..n)
        .map(|i| (seq as usize + i) % n)
        .find(|&i| region.azs[i].is_up())
}

fn check_region_status(store: &ReplicaStore, key: &AccessKeyId) -> Result<(), Rejection> {
    match store.keys.get(key) {
        Some(k) if k.status != KeyStatus::Active => Err(Rejection::new(
            ErrorCode::InvalidAccessKeyId,
            "the region has applied this key's deactivation or deletion",
        )),
        _ => Ok(()),
    }
}

/// The access key a request names, when its credential can be read.
fn key_of(request: &Request<'_>) -> Option<AccessKeyId> {
    let params = auth::read(request).ok()?;
    let cred = Credential::parse(params.credential(), params.location).ok()?;
    AccessKeyId::new(cred.access_key_id)
}

/// Authorize an authenticated request, stamp the response time, then check
/// the decision against the AZ's applied state (after the stamp, so the check
/// does not count in latency).
#[allow(clippy::too_many_arguments)]
fn conclude(
    control_plane: &ControlPlane,
    store: &ReplicaStore,
    region: &Region,
    service: Service,
    request: &Request<'_>,
    key_id: Option<AccessKeyId>,
    verified: Result<UserId, Rejection>,
    work: Work,
) -> Decision {
    SCRATCH.with(|s| {
        let target = &mut s.borrow_mut().1;
        let mapped = service
            .authorization_target(request, &region.name, target)
            .is_ok();
        let outcome = match (&verified, mapped) {
            (Err(rejection), _) => Outcome::Rejected(rejection.code),
            (Ok(_), false) => Outcome::BadRequest,
            (Ok(user), true) => match policy_decision(store, *user, target) {
                PolicyDecision::Allow => Outcome::Allowed,
                PolicyDecision::ExplicitDeny => Outcome::DeniedExplicit,
                PolicyDecision::ImplicitDeny => Outcome::DeniedImplicit,
            },
        };
        let responded = Instant::now();

        // The correctness check reads the applied state afresh, without any
        // cache: is the key active, and would its owner's policies allow?
        let key = key_id.and_then(|k| store.keys.get(&k));
        let key_active = key.is_some_and(|k| k.status == KeyStatus::Active);
        let policy_allows = mapped
            && key.is_some_and(|k| policy_decision(store, k.user, target) == PolicyDecision::Allow);
        let allowed = outcome == Outcome::Allowed;
        // Exposure: allowed here, refused by what the control plane has
        // already written but this AZ has not applied.
        let exposure = allowed
            && control_plane.refuses_beyond(
                store.version,
                key_id.as_ref(),
                verified.as_ref().ok().copied(),
                target,
            );
        Decision {
            outcome,
            responded,
            az: work.az,
            hmacs: work.hmacs,
            cache: work.cache,
            control_plane_call: work.control_plane_call,
            // Stale: allowed although this AZ has applied the key's
            // deactivation or deletion, or a policy that does not allow. A
            // key the AZ has not heard of yet (only `none` can accept one:
            // the control plane verified it) is ahead of the AZ, not stale.
            stale_accept: allowed
                && key.is_some_and(|k| k.status != KeyStatus::Active || !policy_allows),
            state_allows: key_active && policy_allows,
            exposure,
        }
    })
}

fn policy_decision(store: &ReplicaStore, user: UserId, target: &Target) -> PolicyDecision {
    if target.always_allowed {
        return PolicyDecision::Allow;
    }
    match store.users.get(&user) {
        Some(u) => iam::evaluate(
            u.policies.iter().map(|(_, p)| &**p),
            &target.action,
            &target.resource,
        ),
        None => PolicyDecision::ImplicitDeny,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control_plane::{IssuedKey, Settings};
    use crate::sigv4::amz_date::AmzDate;
    use crate::sigv4::canonical::Rules;
    use crate::sigv4::sign::{sign, Credentials, Options, Payload};

    const NOW_MS: i64 = 1_780_315_200_000; // 2026-06-01T12:00:00Z

    struct Fixture {
        planes: DataPlanes,
        key: IssuedKey,
        clock: SimClock,
    }

    fn fixture(strategy: Strategy) -> Fixture {
        fixture_with(strategy, Duration::ZERO, 100, CacheBackend::Moka)
    }

    fn fixture_with(
        strategy: Strategy,
        service_time: Duration,
        max_queue: usize,
        cache_backend: CacheBackend,
    ) -> Fixture {
        let clock = SimClock::manual(NOW_MS);
        let cp = Arc::new(ControlPlane::new(
            Settings {
                home_region: "us-east-1".into(),
                regions: vec!["us-east-1".into(), "eu-north-1".into()],
                account_id: "123456789012".into(),
                backend: Backend::Ring,
                workers: 2,
                service_time,
                max_queue,
                push_ahead_s: 3600.0,
                seed: 3,
            },
            clock.clone(),
        ));
        let user = cp.create_user("alice").unwrap();
        cp.put_user_policy(
            user,
            "p",
            &crate::loadgen::traffic::user_policy("123456789012"),
        )
        .unwrap();
        let key = cp.create_access_key(user).unwrap();
        let regions = [
            ("us-east-1".to_string(), Duration::from_millis(1)),
            ("eu-north-1".to_string(), Duration::from_millis(2)),
        ];
        let sizing = Sizing {
            azs: 3,
            az_concurrency: 1024,
            cache_capacity: 1000,
            cache_backend,
        };
        let planes = DataPlanes::new(
            &regions,
            &sizing,
            strategy,
            Backend::Ring,
            clock.clone(),
            cp,
        );
        Fixture { planes, key, clock }
    }

    fn signed_get(f: &Fixture, secret: Option<&str>) -> Vec<u8> {
        let raw = b"GET /objects/a.dat HTTP/1.1\r\nHost: sigstorm-data.s3.eu-north-1.amazonaws.com\r\n\r\n";
        let request = Request::parse(raw).unwrap();
        let secret = match secret {
            Some(s) => crate::sigv4::crypto::SecretAccessKey::new(s).unwrap(),
            None => f.key.secret.clone(),
        };
        let creds = Credentials {
            access_key_id: f.key.access_key_id.as_str(),
            secret: &secret,
            session_token: None,
        };
        let opts = Options {
            region: "eu-north-1",
            service: "s3",
            time: f.clock.now_secs(),
            rules: Rules::for_service("s3"),
            payload: Payload::HashHeader,
            presign: None,
            backend: Backend::Ring,
        };
        sign(&request, raw, &creds, &opts).unwrap().request
    }

    fn handle(f: &Fixture, raw: &[u8], seq: u64) -> Decision {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(f.planes.handle(1, Service::S3, raw, seq))
    }

    #[test]
    fn each_strategy_allows_and_counts_its_hmacs() {
        for (strategy, hmacs, cp_call) in [
            (Strategy::None, 5, true),
            (Strategy::PerRegion, 3, false),
            (Strategy::PerService, 3, false),
            (Strategy::PerServicePrekeyed, 3, false),
        ] {
            let f = fixture(strategy);
            let d = handle(&f, &signed_get(&f, None), 0);
            assert_eq!(d.outcome, Outcome::Allowed, "{strategy}");
            assert_eq!(
                (d.hmacs, d.control_plane_call),
                (hmacs, cp_call),
                "{strategy}"
            );
            assert!(d.state_allows && !d.stale_accept, "{strategy}");
        }
    }

    #[test]
    fn cached_strategies_hit_after_the_first_request_per_az() {
        for strategy in [Strategy::PerService, Strategy::PerServicePrekeyed] {
            for backend in CacheBackend::ALL {
                let f = fixture_with(strategy, Duration::ZERO, 100, backend);
                let raw = signed_get(&f, None);
                // seq 0 and 3 land on the same AZ replica (of three).
                assert_eq!(
                    handle(&f, &raw, 0).cache,
                    CacheUse::Miss,
                    "{strategy} {backend}"
                );
                let again = handle(&f, &raw, 3);
                assert_eq!(
                    (again.cache, again.hmacs, again.outcome),
                    (CacheUse::Hit, 1, Outcome::Allowed),
                    "{strategy} {backend}"
                );
                let other = handle(&f, &raw, 1);
                assert_eq!(
                    other.cache,
                    CacheUse::Miss,
                    "another AZ replica has its own cache"
                );
                assert_eq!(f.planes.regions[1].azs[0].cache_entries(), 1);
            }
        }
    }

    #[test]
    fn wrong_secret_is_refused_under_every_strategy() {
        for strategy in Strategy::ALL {
            let f = fixture(strategy);
            let d = handle(&f, &signed_get(&f, Some("not-the-secret")), 0);
            assert_eq!(
                d.outcome,
                Outcome::Rejected(ErrorCode::SignatureDoesNotMatch),
                "{strategy}"
            );
            assert!(
                d.state_allows,
                "the key is active: refusing it is right only because the signature is wrong"
            );
        }
    }

    #[test]
    fn a_revoked_key_is_refused_whatever_the_cache_holds() {
        for strategy in Strategy::ALL {
            let f = fixture(strategy);
            let raw = signed_get(&f, None);
            for seq in 0..3 {
                assert_eq!(handle(&f, &raw, seq).outcome, Outcome::Allowed);
            }
            let cp = f.planes.control_plane();
            cp.set_access_key_status(f.key.access_key_id, KeyStatus::Inactive)
                .unwrap();
            let entry = cp.log().get(cp.log().head()).unwrap();
            for az in &f.planes.regions[1].azs {
                assert!(az.replica.apply(&entry));
            }
            for seq in 0..3 {
                let d = handle(&f, &raw, seq);
                assert_eq!(
                    d.outcome,
                    Outcome::Rejected(ErrorCode::InvalidAccessKeyId),
                    "{strategy}"
                );
                assert!(!d.stale_accept);
            }
        }
    }

    #[test]
    fn concurrent_misses_for_one_key_are_derived_once() {
        let f = Arc::new(fixture(Strategy::PerService));
        let raw = Arc::new(signed_get(&f, None));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (f, raw) = (f.clone(), raw.clone());
                std::thread::spawn(move || handle(&f, &raw, 0))
            })
            .collect();
        let decisions: Vec<Decision> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(decisions.iter().all(|d| d.outcome == Outcome::Allowed));
        let derived: u32 = decisions.iter().map(|d| d.hmacs - 1).sum();
        assert_eq!(
            derived, 2,
            "exactly one request derived kService and kSigning"
        );
    }

    #[test]
    fn the_scope_date_must_have_a_replicated_key() {
        let f = fixture(Strategy::PerRegion);
        // Sign and verify two days later: the region holds only today's key.
        f.clock.advance(Duration::from_secs(2 * 86_400));
        let d = handle(&f, &signed_get(&f, None), 0);
        assert_eq!(d.outcome, Outcome::Rejected(ErrorCode::ServiceUnavailable));
        assert_eq!(AmzDate::from_unix(f.clock.now_secs()).date(), "20260603");
    }

    #[test]
    fn a_full_control_plane_queue_is_service_unavailable() {
        let f = fixture_with(
            Strategy::None,
            Duration::from_millis(20),
            100,
            CacheBackend::Moka,
        );
        let raw = signed_get(&f, None);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        // 2 workers busy 20 ms per call and a queue of 100: of 300 concurrent
        // calls, those beyond the queue are refused at once.
        let planes = &f.planes;
        let decisions = rt.block_on(async {
            let calls = (0..300).map(|i| planes.handle(1, Service::S3, &raw, i));
            futures_join_all(calls).await
        });
        let refused = decisions
            .iter()
            .filter(|d| d.outcome == Outcome::Rejected(ErrorCode::ServiceUnavailable))
            .count();
        let allowed = decisions
            .iter()
            .filter(|d| d.outcome == Outcome::Allowed)
            .count();
        assert!(
            (190..=200).contains(&refused),
            "refused {refused} allowed {allowed}"
        );
        assert_eq!(refused + allowed, 300);
    }

    /// Await every future concurrently on the current task.
    async fn futures_join_all<F: std::future::Future>(
        futures: impl Iterator<Item = F>,
    ) -> Vec<F::Output> {
        let mut set = Vec::new();
        for f in futures {
            set.push(Box::pin(f));
        }
        let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (i, f) in set.iter_mut().enumerate() {
                if out[i].is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => out[i] = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        out.into_iter().map(|o| o.unwrap()).collect()
    }
}
