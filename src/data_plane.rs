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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::clock::SimClock;
use crate::control_plane::ControlPlane;
use crate::iam::{self, Decision as PolicyDecision};
use crate::identity::{AccessKeyId, KeyStatus, UserId};
use crate::replication::{Replica, ReplicaStore};
use crate::service::{Service, Target};
use crate::sigv4::amz_date::scope_date_number;
use crate::sigv4::auth::{self, Credential};
use crate::sigv4::crypto::{self, Backend, Crypto, Ring, RustCrypto, SigningKey};
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
    cache: Cache<CacheKey, SigningKey>,
    permits: Semaphore,
    up: AtomicBool,
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

    /// Entries in its `per-service` cache.
    pub fn cache_entries(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.entry_count()
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
}

/// How each region's AZ replicas are built.
#[derive(Clone, Debug)]
pub struct Sizing {
    /// AZ replicas per region.
    pub azs: usize,
    /// Requests an AZ replica serves at once.
    pub az_concurrency: usize,
    /// `per-service` cache entries per AZ replica.
    pub cache_capacity: u64,
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
                        cache: Cache::new(sizing.cache_capacity),
                        permits: Semaphore::new(sizing.az_concurrency),
                        up: AtomicBool::new(true),
                    })
                    .collect(),
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
        let ctx = Context {
            now: self.clock.now_secs(),
            region: Some(&region.name),
            service: Some(service.signing_name()),
            rules: None,
        };
        let prepared = SCRATCH.with(|s| prepare::<C>(&request, &ctx, &mut s.borrow_mut().0));
        let mut work = Work {
            az: az_index,
            hmacs: 0,
            cache: CacheUse::None,
            control_plane_call: false,
        };
        let prepared = match prepared {
            Ok(p) => p,
            Err(rejection) => {
                let store = az.replica.read();
                return conclude(
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
            return conclude(&store, region, service, &request, None, Err(unknown), work);
        };
        match self.strategy {
            Strategy::None => {
                {
                    let store = az.replica.read();
                    if let Err(revoked) = check_region_status(&store, &key_id) {
                        return conclude(
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
                    &store,
                    region,
                    service,
                    &request,
                    Some(key_id),
                    verified,
                    work,
                )
            }
            Strategy::PerRegion | Strategy::PerService => {
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
        let signing = match self.strategy {
            Strategy::PerService => {
                let cache_key = CacheKey {
                    key: key_id,
                    version: key.version,
                    date,
                    region: region as u16,
                    service,
                };
                match az.cache.get(&cache_key) {
                    Some(k) => {
                        work.cache = CacheUse::Hit;
                        k
                    }
                    None => {
                        let entry = az.cache.entry(cache_key).or_insert_with(|| {
                            crypto::signing_key::<C>(region_key, service.signing_name())
                        });
                        if entry.is_fresh() {
                            work.hmacs += 2;
                        }
                        work.cache = CacheUse::Miss;
                        entry.into_value()
                    }
                }
            }
            _ => {
                work.hmacs += 2;
                crypto::signing_key::<C>(region_key, service.signing_name())
            }
        };
        work.hmacs += 1;
        prepared.check::<C>(&signing)?;
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
    let cred = Credential::parse(params.credential.as_str(), params.location).ok()?;
    AccessKeyId::new(cred.access_key_id)
}

/// Authorize an authenticated request, stamp the response time, then check
/// the decision against the AZ's applied state (after the stamp, so the check
/// does not count in latency).
fn conclude(
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
        Decision {
            outcome,
            responded,
            az: work.az,
            hmacs: work.hmacs,
            cache: work.cache,
            control_plane_call: work.control_plane_call,
            stale_accept: outcome == Outcome::Allowed && !(key_active && policy_allows),
            state_allows: key_active && policy_allows,
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
