//! The promises of MODEL.md under storms and faults, each driven with a
//! clock the test advances by hand: the schedule's actions run when the test
//! says the time has come, every AZ replica applies the change log when the
//! test polls it at that time, and requests go through the real data planes.
//! Nothing here depends on wall time.

use std::collections::HashSet;
use std::time::Duration;

use sigstorm::clock::SimClock;
use sigstorm::control_plane::IssuedKey;
use sigstorm::data_plane::{Decision, Outcome};
use sigstorm::identity::{AccessKeyId, KeyStatus};
use sigstorm::loadgen::traffic::{Factory, Intent};
use sigstorm::replication::{Applier, ApplySchedule, DelayModel};
use sigstorm::run::{midnight_s, mix, Plan, World};
use sigstorm::service::Service;
use sigstorm::sigv4::canonical::Rules;
use sigstorm::sigv4::crypto::Backend;
use sigstorm::sigv4::http::Request;
use sigstorm::sigv4::sign::{sign, Credentials, Options, Payload};
use sigstorm::sigv4::ErrorCode;
use sigstorm::storm::{push_for, Driver};
use sigstorm::strategy::Strategy;
use sigstorm::workload::Workload;

/// Three regions with no simulated round trip, 30 users with one key each,
/// only legitimate traffic, replication of about 200 ms.
const WORLD: &str = r#"
name = "promise"
seed = 7
[clock]
start = "2026-06-01T12:00:00Z"
[run]
duration_s = 60
warmup_s = 0
[load]
rate_per_sec = 100
[[regions]]
name = "us-east-1"
rtt_ms = 0
[[regions]]
name = "eu-north-1"
rtt_ms = 0
[[regions]]
name = "me-south-1"
rtt_ms = 0
[control_plane]
service_time_ms = 0
[replication]
delay_median_ms = 200
delay_p99_ms = 1000
apply_rate_per_sec = 1000
[principals]
users = 30
zipf_exponent = 0
[services]
s3 = 1
ec2 = 1
elasticloadbalancing = 1
[traffic]
presigned_share = 0
wrong_secret_share = 0
unknown_key_share = 0
skewed_clock_share = 0
policy_denied_share = 0
"#;

struct Sent {
    region: usize,
    service: Service,
    key: AccessKeyId,
    decision: Decision,
}

impl Sent {
    fn allowed(&self) -> bool {
        self.decision.outcome == Outcome::Allowed
    }
}

struct Sim {
    world: World,
    clock: SimClock,
    window_start_ms: i64,
    appliers: Vec<Vec<(Applier, bool)>>,
    driver: Driver,
    factory: Factory,
    rt: tokio::runtime::Runtime,
    seq: u64,
}

impl Sim {
    fn new(toml: &str, strategy: Strategy) -> Sim {
        let workload = Workload::parse(toml, "test.toml").expect("the test workload parses");
        let clock = SimClock::manual(workload.clock_start_ms());
        let plan = Plan {
            strategy,
            cache_backend: strategy.uses_cache().then_some(Default::default()),
        };
        let world = World::build(&workload, plan, clock.clone()).expect("the world builds");
        let log = world.planes.control_plane().log();
        let rep = &workload.replication;
        let appliers = world
            .planes
            .regions
            .iter()
            .enumerate()
            .map(|(r, region)| {
                region
                    .azs
                    .iter()
                    .enumerate()
                    .map(|(a, az)| {
                        let schedule = ApplySchedule::new(
                            DelayModel::lognormal(rep.delay_median_ms, rep.delay_p99_ms),
                            rep.apply_rate_per_sec,
                            (r * 8 + a) as u64,
                        );
                        (
                            Applier::new(log.clone(), az.replica.clone(), schedule),
                            false,
                        )
                    })
                    .collect()
            })
            .collect();
        let window_start_ms = workload.clock_start_ms();
        let driver = Driver::new(
            &workload.schedule,
            world.planes.clone(),
            world.book.clone(),
            &workload.principals.account_id,
            push_for(
                midnight_s(&workload),
                workload.control_plane.push_ahead_s,
                workload.run.warmup_s,
                window_start_ms,
            ),
        );
        let factory = Factory::with_book(mix(&workload), world.book.clone(), Backend::Ring, 11)
            .expect("the factory builds");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        Sim {
            world,
            clock,
            window_start_ms,
            appliers,
            driver,
            factory,
            rt,
            seq: 0,
        }
    }

    /// Move the clock to `t_s` seconds after the start, run the schedule's
    /// due actions, and let every AZ replica apply what is due.
    fn at(&mut self, t_s: f64) {
        self.clock
            .set(self.window_start_ms + (t_s * 1000.0).round() as i64);
        self.driver.run_due(t_s);
        self.replicate();
    }

    fn replicate(&mut self) {
        let now = self.clock.now_ms();
        for (region, appliers) in self.world.planes.regions.iter().zip(&mut self.appliers) {
            for (applier, stalled) in appliers.iter_mut() {
                if region.gate.is_closed() {
                    *stalled = true;
                    continue;
                }
                if *stalled {
                    applier.resume_at(now);
                    *stalled = false;
                }
                applier.poll(now, |_| ());
            }
        }
    }

    /// Send `n` requests of the generator's mix.
    fn send(&mut self, n: usize) -> Vec<Sent> {
        (0..n)
            .map(|_| {
                let out = self.factory.next(self.clock.now_ms());
                assert_eq!(out.intent, Intent::Legit);
                let key = key_of(&out.raw);
                let decision = self.handle(out.region, out.service, &out.raw);
                Sent {
                    region: out.region,
                    service: out.service,
                    key,
                    decision,
                }
            })
            .collect()
    }

    fn handle(&mut self, region: usize, service: Service, raw: &[u8]) -> Decision {
        self.seq += 1;
        self.rt
            .block_on(self.world.planes.handle(region, service, raw, self.seq))
    }

    /// A GET of an object in `region`, signed by `key` at simulated time
    /// `signed_at_ms`.
    fn signed_get(&self, key: &IssuedKey, region: usize, signed_at_ms: i64) -> Vec<u8> {
        let name = &self.world.planes.regions[region].name;
        let raw = format!(
            "GET /objects/a.dat HTTP/1.1\r\nHost: sigstorm-data.s3.{name}.amazonaws.com\r\n\r\n"
        );
        let request = Request::parse(raw.as_bytes()).expect("parses");
        let creds = Credentials {
            access_key_id: key.access_key_id.as_str(),
            secret: &key.secret,
            session_token: None,
        };
        let opts = Options {
            region: name,
            service: "s3",
            time: signed_at_ms.div_euclid(1000),
            rules: Rules::for_service("s3"),
            payload: Payload::HashHeader,
            presign: None,
            backend: Backend::Ring,
        };
        sign(&request, raw.as_bytes(), &creds, &opts)
            .expect("signs")
            .request
    }

    fn region(&self, name: &str) -> usize {
        self.world
            .planes
            .regions
            .iter()
            .position(|r| r.name == name)
            .expect("a region of the world")
    }
}

fn key_of(raw: &[u8]) -> AccessKeyId {
    let text = String::from_utf8_lossy(raw);
    let at = text.find("Credential=").expect("header auth") + "Credential=".len();
    let id: String = text[at..].chars().take_while(|c| *c != '/').collect();
    AccessKeyId::new(&id).expect("a valid key id")
}

fn with_schedule(schedule: &str) -> String {
    format!("{WORLD}\n{schedule}")
}

const CP_INCIDENT: &str = r#"
[[schedule]]
kind = "control_plane_incident"
at_s = 1
duration_s = 4
api_latency_ms = 1
api_error_rate = 0.5
stall_regions = ["me-south-1"]

[[schedule]]
kind = "create_users"
at_s = 1.5
count = 10
use_after_s = 1
"#;

#[test]
fn static_stability_existing_principals_keep_working_during_a_control_plane_incident() {
    for strategy in [
        Strategy::PerRegion,
        Strategy::PerService,
        Strategy::PerServicePrekeyed,
    ] {
        let mut sim = Sim::new(&with_schedule(CP_INCIDENT), strategy);
        let existing: HashSet<AccessKeyId> =
            sim.world.clients.iter().map(|k| k.access_key_id).collect();
        let me = sim.region("me-south-1");
        let mut existing_sent = 0;
        let mut new_refused_in_stalled = 0;
        let mut new_allowed_elsewhere = 0;
        for step in 0..50 {
            sim.at(f64::from(step) * 0.1);
            for s in sim.send(20) {
                if existing.contains(&s.key) {
                    existing_sent += 1;
                    assert!(
                        s.allowed(),
                        "{strategy}: an existing principal was refused at {:.1} s in region {}: {:?}",
                        f64::from(step) * 0.1,
                        s.region,
                        s.decision.outcome
                    );
                } else if s.region == me {
                    assert_eq!(
                        s.decision.outcome,
                        Outcome::Rejected(ErrorCode::InvalidAccessKeyId),
                        "{strategy}: a user created during the incident is unknown in the stalled region"
                    );
                    new_refused_in_stalled += 1;
                } else if s.allowed() {
                    new_allowed_elsewhere += 1;
                }
            }
        }
        assert!(existing_sent > 800, "{existing_sent}");
        assert!(
            new_refused_in_stalled > 0,
            "{strategy}: no new user tried me-south-1"
        );
        assert!(
            new_allowed_elsewhere > 0,
            "{strategy}: new users work where replication flows"
        );
        let (calls, errors) = sim.world.planes.control_plane().api_stats();
        assert!(calls >= 10 && errors > 0, "{calls} calls, {errors} failed");

        // The incident ends at 5 s; the stalled stream drains; the new users
        // are known in me-south-1 too.
        for step in 0..30 {
            sim.at(5.0 + f64::from(step) * 0.2);
        }
        let me_store_version = sim.world.planes.regions[me].azs[0]
            .replica
            .applied_version();
        assert_eq!(
            me_store_version,
            sim.world.planes.control_plane().log().head(),
            "{strategy}: the backlog drained"
        );
        let after = sim.send(300);
        assert!(
            after.iter().all(Sent::allowed),
            "{strategy}: all allowed after the drain"
        );
        assert!(
            after
                .iter()
                .any(|s| s.region == me && !existing.contains(&s.key)),
            "{strategy}: a new user reached me-south-1 after the drain"
        );
    }
}

#[test]
fn static_stability_the_none_strategy_fails_during_a_control_plane_incident() {
    let mut sim = Sim::new(&with_schedule(CP_INCIDENT), Strategy::None);
    sim.at(0.5);
    assert!(sim.send(50).iter().all(Sent::allowed), "healthy before");
    sim.at(2.0);
    let during = sim.send(200);
    let unavailable = during
        .iter()
        .filter(|s| s.decision.outcome == Outcome::Rejected(ErrorCode::ServiceUnavailable))
        .count();
    // Half the control-plane calls fail.
    assert!(
        (60..=140).contains(&unavailable),
        "{unavailable} of 200 failed"
    );
}

#[test]
fn regional_isolation_a_failing_region_leaves_the_others_untouched() {
    let schedule = r#"
[[schedule]]
kind = "regional_incident"
at_s = 1
duration_s = 3
region = "eu-north-1"
error_rate = 0.5
"#;
    for strategy in [Strategy::None, Strategy::PerRegion, Strategy::PerService] {
        let mut sim = Sim::new(&with_schedule(schedule), strategy);
        let eu = sim.region("eu-north-1");
        let mut failed_by_service = std::collections::BTreeMap::new();
        let mut others = 0;
        for step in 0..60 {
            let t = f64::from(step) * 0.1;
            sim.at(t);
            for s in sim.send(20) {
                if s.region == eu && (1.0..4.0).contains(&t) {
                    if s.decision.outcome == Outcome::Rejected(ErrorCode::ServiceUnavailable) {
                        *failed_by_service.entry(s.service).or_insert(0) += 1;
                    }
                } else {
                    others += 1;
                    assert!(
                        s.allowed(),
                        "{strategy}: region {} at {t:.1} s: {:?}",
                        s.region,
                        s.decision.outcome
                    );
                }
            }
        }
        assert!(others > 800);
        for service in [Service::S3, Service::Ec2, Service::ElasticLoadBalancing] {
            assert!(
                failed_by_service.get(&service).copied().unwrap_or(0) > 5,
                "{strategy}: {service:?} in eu-north-1 saw the errors: {failed_by_service:?}"
            );
        }
    }
}

#[test]
fn az_loss_the_other_replicas_carry_the_load_without_errors() {
    let schedule = r#"
[[schedule]]
kind = "az_loss"
at_s = 1
duration_s = 2
region = "eu-north-1"
az = 1
"#;
    let mut sim = Sim::new(&with_schedule(schedule), Strategy::PerService);
    let eu = sim.region("eu-north-1");
    let mut by_az = [0usize; 3];
    sim.at(1.0);
    for s in sim.send(600) {
        assert!(s.allowed(), "{:?}", s.decision.outcome);
        if s.region == eu {
            by_az[s.decision.az] += 1;
        }
    }
    assert_eq!(by_az[1], 0, "the lost AZ answers nothing");
    assert!(
        by_az[0] > 40 && by_az[2] > 40,
        "both others carry it: {by_az:?}"
    );
    sim.at(3.5);
    let mut back = [0usize; 3];
    for s in sim.send(600) {
        assert!(s.allowed());
        if s.region == eu {
            back[s.decision.az] += 1;
        }
    }
    assert!(back[1] > 20, "the AZ is back: {back:?}");
}

#[test]
fn a_paused_region_answers_every_waiting_request_when_it_resumes() {
    let schedule = r#"
[[schedule]]
kind = "pause"
at_s = 1
duration_s = 2
region = "eu-north-1"
"#;
    let mut sim = Sim::new(&with_schedule(schedule), Strategy::PerService);
    let eu = sim.region("eu-north-1");
    sim.at(1.0);
    let raws: Vec<Vec<u8>> = (0..20)
        .map(|i| sim.signed_get(&sim.world.clients[i].clone(), eu, sim.clock.now_ms()))
        .collect();
    let planes = sim.world.planes.clone();
    let handles: Vec<_> = raws
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let planes = planes.clone();
            sim.rt
                .spawn(async move { planes.handle(eu, Service::S3, &raw, i as u64).await })
        })
        .collect();
    sim.rt
        .block_on(async { tokio::time::sleep(Duration::from_millis(20)).await });
    assert!(
        handles.iter().all(|h| !h.is_finished()),
        "nothing is answered while paused"
    );
    sim.at(3.0);
    let resumed = std::time::Instant::now();
    for h in handles {
        let decision = sim.rt.block_on(h).expect("the task completes");
        assert_eq!(decision.outcome, Outcome::Allowed);
        assert!(decision.responded >= resumed, "answered after the resume");
    }
}

#[test]
fn revocation_once_an_az_applied_a_deletion_it_never_accepts_the_key() {
    let schedule = r#"
[[schedule]]
kind = "rotate_keys"
at_s = 1
count = 10
switch_after_s = 0.5
deactivate_after_s = 2
delete_after_s = 3
"#;
    for strategy in [
        Strategy::PerRegion,
        Strategy::PerService,
        Strategy::PerServicePrekeyed,
    ] {
        let mut sim = Sim::new(&with_schedule(schedule), strategy);
        let old: Vec<IssuedKey> = sim.world.clients.iter().take(10).cloned().collect();
        // Warm every cache with the old keys.
        sim.at(0.5);
        for key in &old {
            for r in 0..3 {
                for _ in 0..6 {
                    let raw = sim.signed_get(key, r, sim.clock.now_ms());
                    assert_eq!(sim.handle(r, Service::S3, &raw).outcome, Outcome::Allowed);
                }
            }
        }
        let (mut refused_after_apply, mut exposed) = (0, 0);
        for step in 0..80 {
            let t = 1.0 + f64::from(step) * 0.1;
            sim.at(t);
            for key in &old {
                for r in 0..3 {
                    let raw = sim.signed_get(key, r, sim.clock.now_ms());
                    let d = sim.handle(r, Service::S3, &raw);
                    assert!(!d.stale_accept, "{strategy}: stale accept");
                    let az = &sim.world.planes.regions[r].azs[d.az];
                    let status = az
                        .replica
                        .read()
                        .keys
                        .get(&key.access_key_id)
                        .map(|k| k.status);
                    if status != Some(KeyStatus::Active) {
                        assert_ne!(
                            d.outcome,
                            Outcome::Allowed,
                            "{strategy}: AZ {} of region {r} applied {status:?} and still accepted",
                            d.az
                        );
                        refused_after_apply += 1;
                    } else if d.exposure {
                        exposed += 1;
                    }
                }
            }
            // The clients switched to their new keys, which work.
            if t >= 2.0 {
                assert!(
                    sim.send(10).iter().all(Sent::allowed),
                    "{strategy} at {t:.1}"
                );
            }
        }
        assert!(
            refused_after_apply > 500,
            "{strategy}: {refused_after_apply}"
        );
        assert!(
            exposed > 0,
            "{strategy}: some accepts came before the apply"
        );
    }
}

#[test]
fn a_deny_takes_effect_where_it_was_applied() {
    let schedule = r#"
[[schedule]]
kind = "policy_change"
at_s = 1
principals = 30
"#;
    let mut sim = Sim::new(&with_schedule(schedule), Strategy::PerService);
    sim.at(0.5);
    let keys: Vec<IssuedKey> = sim.world.clients.clone();
    for key in &keys {
        let raw = sim.signed_get(key, 1, sim.clock.now_ms());
        assert_eq!(sim.handle(1, Service::S3, &raw).outcome, Outcome::Allowed);
    }
    sim.at(1.0);
    let mut exposed = 0;
    for step in 0..40 {
        sim.at(1.0 + f64::from(step) * 0.1);
        for key in &keys {
            let raw = sim.signed_get(key, 1, sim.clock.now_ms());
            let d = sim.handle(1, Service::S3, &raw);
            assert!(!d.stale_accept);
            exposed += usize::from(d.exposure);
            assert!(d.outcome == Outcome::Allowed || d.outcome == Outcome::DeniedExplicit);
        }
    }
    assert!(
        exposed > 0,
        "the deny was not yet applied everywhere at first"
    );
    sim.at(10.0);
    for key in &keys {
        let raw = sim.signed_get(key, 1, sim.clock.now_ms());
        assert_eq!(
            sim.handle(1, Service::S3, &raw).outcome,
            Outcome::DeniedExplicit,
            "the deny took effect"
        );
    }
}

const MIDNIGHT: &str = r#"
name = "promise"
seed = 7
[clock]
start = "2026-06-01T23:59:50Z"
[run]
duration_s = 30
warmup_s = 0
[load]
rate_per_sec = 100
[[regions]]
name = "us-east-1"
rtt_ms = 0
[[regions]]
name = "eu-north-1"
rtt_ms = 0
[control_plane]
service_time_ms = 0
push_ahead_s = PUSH
[replication]
delay_median_ms = 500
delay_p99_ms = 2000
apply_rate_per_sec = 1000
[principals]
users = 30
zipf_exponent = 0
[services]
s3 = 1
ec2 = 1
[traffic]
presigned_share = 0
wrong_secret_share = 0
unknown_key_share = 0
skewed_clock_share = 0
policy_denied_share = 0
"#;

#[test]
fn midnight_with_tomorrows_keys_pushed_ahead_nothing_valid_is_refused() {
    for strategy in [
        Strategy::PerRegion,
        Strategy::PerService,
        Strategy::PerServicePrekeyed,
    ] {
        let mut sim = Sim::new(&MIDNIGHT.replace("PUSH", "3600"), strategy);
        let key = sim.world.clients[0].clone();
        let mut sent = 0;
        let mut before_midnight = Vec::new();
        for step in 0..80 {
            let t = f64::from(step) * 0.25;
            sim.at(t);
            for s in sim.send(20) {
                assert!(s.allowed(), "{strategy} at {t} s: {:?}", s.decision.outcome);
                sent += 1;
            }
            if (9.0..10.0).contains(&t) {
                before_midnight.push(sim.signed_get(&key, 1, sim.clock.now_ms()));
            }
        }
        assert_eq!(sent, 1600);
        // Signed with yesterday's scope date, verified after midnight within
        // the skew window, with the key of its own date.
        assert!(!before_midnight.is_empty());
        for raw in &before_midnight {
            assert!(String::from_utf8_lossy(raw).contains("/20260601/"));
            let d = sim.handle(1, Service::S3, raw);
            assert_eq!(d.outcome, Outcome::Allowed, "{strategy}");
        }
    }
}

#[test]
fn midnight_without_the_push_ahead_the_new_day_fails_until_it_replicates() {
    let mut sim = Sim::new(&MIDNIGHT.replace("PUSH", "0"), Strategy::PerService);
    let mut refused_after_midnight = 0;
    for step in 0..120 {
        let t = f64::from(step) * 0.25;
        sim.at(t);
        for s in sim.send(20) {
            if t < 10.0 {
                assert!(
                    s.allowed(),
                    "before midnight at {t}: {:?}",
                    s.decision.outcome
                );
            } else if !s.allowed() {
                assert_eq!(
                    s.decision.outcome,
                    Outcome::Rejected(ErrorCode::ServiceUnavailable)
                );
                refused_after_midnight += 1;
            }
        }
    }
    assert!(
        refused_after_midnight > 20,
        "requests of the new day failed until its keys replicated: {refused_after_midnight}"
    );
    // Once replicated, everything works again.
    assert!(sim.send(100).iter().all(Sent::allowed));
    let push = sim
        .driver
        .log()
        .iter()
        .find_map(|a| a.push)
        .expect("the push ran at midnight");
    assert_eq!(push.keys, 30);
    assert_eq!(push.regions, 2);
}
