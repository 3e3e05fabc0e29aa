//! What the load generator sends: a seeded mix over regions, services,
//! operations and clients (Zipf over access keys), each request a real raw
//! HTTP/1.1 request signed with SigV4 by the client's own secret, as an SDK
//! would (header auth, or a presigned URL for a share of S3 GETs). A small
//! share is built to be refused: a wrong secret, an unknown key, a clock 20
//! minutes off, or an action the client's policy denies.
//!
//! Clients cache their signing keys per scope like real SDKs, so a legitimate
//! request costs the client one SHA-256 and one HMAC.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};

use crate::control_plane::IssuedKey;
use crate::identity::AccessKeyId;
use crate::metrics::Expectation;
use crate::service::Service;
use crate::sigv4::amz_date::AmzDate;
use crate::sigv4::canonical::Rules;
use crate::sigv4::crypto::{Backend, SecretAccessKey, SigningKey};
use crate::sigv4::http::Request;
use crate::sigv4::sign::{sign_with_key, Options, Payload};

/// The bucket every client reads and writes.
pub const BUCKET: &str = "sigstorm-data";

/// The queue every client uses.
pub const QUEUE: &str = "sigstorm-queue";

/// The policy every user gets: S3 reads and writes in the bucket except under
/// `restricted/` (an explicit deny), EC2 and ELB `Describe*`, and SQS send and
/// receive on the queue. Anything else is implicitly denied.
pub fn user_policy(account_id: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
{{"Sid":"Objects","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{BUCKET}/*"}},
{{"Sid":"Listing","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::{BUCKET}"}},
{{"Sid":"Restricted","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::{BUCKET}/restricted/*"}},
{{"Sid":"Describe","Effect":"Allow","Action":["ec2:Describe*","elasticloadbalancing:Describe*"],"Resource":"*"}},
{{"Sid":"Queue","Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"arn:aws:sqs:*:{account_id}:{QUEUE}"}}
]}}"#
    )
}

/// Why a request was built: to be allowed, or to be refused in one way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    /// Correctly signed, allowed by policy.
    Legit,
    /// Signed with a secret that is not the key's.
    WrongSecret,
    /// Names an access key that does not exist.
    UnknownKey,
    /// Signed with a clock 20 minutes behind.
    SkewedClock,
    /// For an action a policy statement denies.
    DeniedExplicitly,
    /// For an action no policy statement allows.
    DeniedImplicitly,
}

impl Intent {
    /// Whether the request should be allowed.
    pub fn expectation(self) -> Expectation {
        if self == Intent::Legit {
            Expectation::Allowed
        } else {
            Expectation::Refused
        }
    }
}

/// Shares of the request mix.
#[derive(Clone, Debug)]
pub struct Mix {
    /// Weight per region, in world order.
    pub region_weights: Vec<f64>,
    /// Region codes, in world order.
    pub region_names: Vec<String>,
    /// Weight per service.
    pub services: Vec<(Service, f64)>,
    /// Share of S3 GETs sent presigned.
    pub presigned_share: f64,
    /// Shares of the refused intents.
    pub wrong_secret: f64,
    /// See [`Intent::UnknownKey`].
    pub unknown_key: f64,
    /// See [`Intent::SkewedClock`].
    pub skewed_clock: f64,
    /// See [`Intent::DeniedExplicitly`] (half) and [`Intent::DeniedImplicitly`].
    pub policy_denied: f64,
    /// Zipf exponent over access keys (0 is uniform).
    pub zipf_exponent: f64,
    /// The account id.
    pub account_id: String,
}

/// One signed request, ready to send.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The raw HTTP/1.1 bytes.
    pub raw: Vec<u8>,
    /// Region index.
    pub region: usize,
    /// The endpoint's service.
    pub service: Service,
    /// Why it was built.
    pub intent: Intent,
}

/// The clients the generator signs for, shared with the schedule driver,
/// which switches clients to a rotated key and adds onboarded ones while the
/// run goes.
#[derive(Debug, Default)]
pub struct ClientBook {
    clients: RwLock<Vec<IssuedKey>>,
    version: AtomicU64,
}

impl ClientBook {
    /// A book of `clients`.
    pub fn new(clients: Vec<IssuedKey>) -> ClientBook {
        ClientBook {
            clients: RwLock::new(clients),
            version: AtomicU64::new(1),
        }
    }

    /// Bumped by every change.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Every client, as of now.
    pub fn snapshot(&self) -> Vec<IssuedKey> {
        self.clients.read().clone()
    }

    /// Clients signing with `old` sign with `new` from now on; returns how
    /// many switched.
    pub fn switch(&self, old: AccessKeyId, new: &IssuedKey) -> usize {
        let mut clients = self.clients.write();
        let mut switched = 0;
        for c in clients.iter_mut().filter(|c| c.access_key_id == old) {
            *c = new.clone();
            switched += 1;
        }
        self.version.fetch_add(1, Ordering::AcqRel);
        switched
    }

    /// Switch many clients at once: each pair's old key to its new one.
    /// Returns how many clients switched.
    pub fn switch_all(&self, pairs: &[(IssuedKey, IssuedKey)]) -> usize {
        let by_old: HashMap<AccessKeyId, &IssuedKey> =
            pairs.iter().map(|(o, n)| (o.access_key_id, n)).collect();
        let mut clients = self.clients.write();
        let mut switched = 0;
        for c in clients.iter_mut() {
            if let Some(new) = by_old.get(&c.access_key_id) {
                *c = (*new).clone();
                switched += 1;
            }
        }
        self.version.fetch_add(1, Ordering::AcqRel);
        switched
    }

    /// New clients join the traffic.
    pub fn add(&self, new: &[IssuedKey]) {
        self.clients.write().extend_from_slice(new);
        self.version.fetch_add(1, Ordering::AcqRel);
    }
}

/// Builds and signs the request stream; one per generator thread.
pub struct Factory {
    mix: Mix,
    book: Arc<ClientBook>,
    book_version: u64,
    clients: Vec<IssuedKey>,
    backend: Backend,
    rng: StdRng,
    regions: WeightedIndex<f64>,
    services: WeightedIndex<f64>,
    zipf: Option<Zipf<f64>>,
    key_cache: HashMap<(AccessKeyId, u32, usize, Service), SigningKey>,
    counter: u64,
}

impl Factory {
    /// A factory for `clients` (the key pairs the control plane issued).
    ///
    /// # Errors
    ///
    /// When the mix's weights cannot form a distribution or there is no client.
    pub fn new(
        mix: Mix,
        clients: Vec<IssuedKey>,
        backend: Backend,
        seed: u64,
    ) -> Result<Factory, String> {
        Factory::with_book(mix, Arc::new(ClientBook::new(clients)), backend, seed)
    }

    /// A factory signing for the clients of `book`, following its changes.
    ///
    /// # Errors
    ///
    /// When the mix's weights cannot form a distribution or there is no client.
    pub fn with_book(
        mix: Mix,
        book: Arc<ClientBook>,
        backend: Backend,
        seed: u64,
    ) -> Result<Factory, String> {
        let book_version = book.version();
        let clients = book.snapshot();
        if clients.is_empty() {
            return Err("the load generator needs at least one client key".to_string());
        }
        let regions =
            WeightedIndex::new(&mix.region_weights).map_err(|e| format!("region weights: {e}"))?;
        let services = WeightedIndex::new(mix.services.iter().map(|(_, w)| *w))
            .map_err(|e| format!("service weights: {e}"))?;
        let zipf = if mix.zipf_exponent > 0.0 {
            Some(
                Zipf::new(clients.len() as f64, mix.zipf_exponent)
                    .map_err(|e| format!("zipf: {e}"))?,
            )
        } else {
            None
        };
        Ok(Factory {
            mix,
            book,
            book_version,
            clients,
            backend,
            rng: StdRng::seed_from_u64(seed),
            regions,
            services,
            zipf,
            key_cache: HashMap::new(),
            counter: 0,
        })
    }

    /// The next request, signed for simulated time `now_ms`.
    pub fn next(&mut self, now_ms: i64) -> Outgoing {
        self.follow_book();
        self.counter += 1;
        let region = self.regions.sample(&mut self.rng);
        let intent = self.intent();
        let service = match intent {
            Intent::DeniedExplicitly => Service::S3,
            Intent::DeniedImplicitly => Service::Ec2,
            _ => self.mix.services[self.services.sample(&mut self.rng)].0,
        };
        let client = match self.zipf {
            Some(z) => (z.sample(&mut self.rng) as usize).clamp(1, self.clients.len()) - 1,
            None => self.rng.random_range(0..self.clients.len()),
        };
        let time_s = now_ms.div_euclid(1000)
            - if intent == Intent::SkewedClock {
                1200
            } else {
                0
            };
        let (raw, presign) = self.draft(region, service, intent);
        let signed = self.sign(&raw, client, region, service, intent, time_s, presign);
        Outgoing {
            raw: signed,
            region,
            service,
            intent,
        }
    }

    /// Take the book's changes (a rotated key, onboarded clients).
    fn follow_book(&mut self) {
        let version = self.book.version();
        if version == self.book_version {
            return;
        }
        self.book_version = version;
        self.clients = self.book.snapshot();
        if self.mix.zipf_exponent > 0.0 {
            self.zipf = Zipf::new(self.clients.len() as f64, self.mix.zipf_exponent).ok();
        }
    }

    fn intent(&mut self) -> Intent {
        let m = &self.mix;
        let x: f64 = self.rng.random();
        let mut edge = m.wrong_secret;
        if x < edge {
            return Intent::WrongSecret;
        }
        edge += m.unknown_key;
        if x < edge {
            return Intent::UnknownKey;
        }
        edge += m.skewed_clock;
        if x < edge {
            return Intent::SkewedClock;
        }
        edge += m.policy_denied / 2.0;
        if x < edge {
            return Intent::DeniedExplicitly;
        }
        edge += m.policy_denied / 2.0;
        if x < edge {
            return Intent::DeniedImplicitly;
        }
        Intent::Legit
    }

    /// The unsigned raw request for `service`, and whether to presign it.
    fn draft(&mut self, region: usize, service: Service, intent: Intent) -> (Vec<u8>, Option<i64>) {
        let r = &self.mix.region_names[region];
        let n = self.counter;
        let ua = "User-Agent: sigstorm/0.1\r\n";
        let form = |host: String, body: String| {
            format!(
                "POST / HTTP/1.1\r\nHost: {host}\r\n{ua}Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        };
        match service {
            Service::S3 => {
                let host = format!("{BUCKET}.s3.{r}.amazonaws.com");
                if intent == Intent::DeniedExplicitly {
                    let raw = format!(
                        "GET /restricted/obj-{}.dat HTTP/1.1\r\nHost: {host}\r\n{ua}\r\n",
                        n % 1000
                    );
                    return (raw.into_bytes(), None);
                }
                let pick: f64 = self.rng.random();
                if pick < 0.6 {
                    let presign = (intent == Intent::Legit
                        && self.rng.random::<f64>() < self.mix.presigned_share)
                        .then_some(900);
                    let raw = format!(
                        "GET /objects/obj-{}.dat HTTP/1.1\r\nHost: {host}\r\n{ua}\r\n",
                        n % 1000
                    );
                    (raw.into_bytes(), presign)
                } else if pick < 0.8 {
                    let mut body = vec![0u8; 256];
                    self.rng.fill(&mut body[..]);
                    let mut raw = format!(
                        "PUT /objects/upload-{n}.bin HTTP/1.1\r\nHost: {host}\r\n{ua}Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    raw.extend_from_slice(&body);
                    (raw, None)
                } else {
                    let raw = format!("GET /?list-type=2&prefix=objects%2F&max-keys=50 HTTP/1.1\r\nHost: {host}\r\n{ua}\r\n");
                    (raw.into_bytes(), None)
                }
            }
            Service::Ec2 => {
                let action = match intent {
                    Intent::DeniedImplicitly => {
                        "TerminateInstances&InstanceId.1=i-0123456789abcdef0"
                    }
                    _ => ["DescribeInstances", "DescribeVpcs", "DescribeSubnets"][(n % 3) as usize],
                };
                (
                    form(
                        format!("ec2.{r}.amazonaws.com"),
                        format!("Action={action}&Version=2016-11-15"),
                    ),
                    None,
                )
            }
            Service::ElasticLoadBalancing => {
                let action = ["DescribeLoadBalancers", "DescribeTargetGroups"][(n % 2) as usize];
                (
                    form(
                        format!("elasticloadbalancing.{r}.amazonaws.com"),
                        format!("Action={action}&Version=2015-12-01"),
                    ),
                    None,
                )
            }
            Service::Sts => (
                form(
                    format!("sts.{r}.amazonaws.com"),
                    "Action=GetCallerIdentity&Version=2011-06-15".to_string(),
                ),
                None,
            ),
            Service::Sqs => {
                let mut body = String::new();
                let queue_url = format!(
                    "https%3A%2F%2Fsqs.{r}.amazonaws.com%2F{}%2F{QUEUE}",
                    self.mix.account_id
                );
                if n.is_multiple_of(2) {
                    let _ = write!(body, "Action=SendMessage&QueueUrl={queue_url}&MessageBody=message-{n}&Version=2012-11-05");
                } else {
                    let _ = write!(body, "Action=ReceiveMessage&QueueUrl={queue_url}&MaxNumberOfMessages=10&Version=2012-11-05");
                }
                (form(format!("sqs.{r}.amazonaws.com"), body), None)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn sign(
        &mut self,
        raw: &[u8],
        client: usize,
        region: usize,
        service: Service,
        intent: Intent,
        time_s: i64,
        presign: Option<i64>,
    ) -> Vec<u8> {
        let date = AmzDate::from_unix(time_s);
        let date_n: u32 = date.date().parse().unwrap_or(0);
        let region_name = self.mix.region_names[region].clone();
        let signing_name = service.signing_name();
        let (key_id, key) = match intent {
            Intent::WrongSecret => {
                let wrong =
                    SecretAccessKey::new(format!("{}x", self.clients[client].secret.expose()))
                        .unwrap_or_else(|_| self.clients[client].secret.clone());
                let key =
                    self.backend
                        .full_signing_key(&wrong, date.date(), &region_name, signing_name);
                (self.clients[client].access_key_id.as_str().to_string(), key)
            }
            Intent::UnknownKey => {
                let id = format!(
                    "AKIAUNKNOWN{:09}",
                    self.rng.random_range(0..1_000_000_000u32)
                );
                let secret = SecretAccessKey::new(format!("unknown-secret-{id}"))
                    .unwrap_or_else(|_| self.clients[client].secret.clone());
                (
                    id,
                    self.backend
                        .full_signing_key(&secret, date.date(), &region_name, signing_name),
                )
            }
            _ => {
                let backend = self.backend;
                let issued = &self.clients[client];
                let key = *self
                    .key_cache
                    .entry((issued.access_key_id, date_n, region, service))
                    .or_insert_with(|| {
                        backend.full_signing_key(
                            &issued.secret,
                            date.date(),
                            &region_name,
                            signing_name,
                        )
                    });
                (issued.access_key_id.as_str().to_string(), key)
            }
        };
        let payload = if service == Service::S3 {
            Payload::HashHeader
        } else {
            Payload::Hash
        };
        let opts = Options {
            region: &region_name,
            service: signing_name,
            time: time_s,
            rules: Rules::for_service(signing_name),
            payload,
            presign,
            backend: self.backend,
        };
        // The drafts above are well-formed requests with a Host header, so
        // parsing and signing them cannot fail.
        let request = Request::parse(raw)
            .unwrap_or_else(|e| unreachable!("generated request does not parse: {e}"));
        sign_with_key(&request, raw, &key_id, None, &key, &opts)
            .unwrap_or_else(|e| unreachable!("generated request cannot be signed: {e}"))
            .request
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{AccessKeyId, UserId};

    fn mix() -> Mix {
        Mix {
            region_weights: vec![1.0, 1.0],
            region_names: vec!["us-east-1".into(), "eu-north-1".into()],
            services: Service::ALL.iter().map(|s| (*s, 1.0)).collect(),
            presigned_share: 0.5,
            wrong_secret: 0.05,
            unknown_key: 0.05,
            skewed_clock: 0.05,
            policy_denied: 0.1,
            zipf_exponent: 1.1,
            account_id: "123456789012".into(),
        }
    }

    fn clients() -> Vec<IssuedKey> {
        (0..10)
            .map(|i| IssuedKey {
                access_key_id: AccessKeyId::new(&format!("AKIATEST{i:012}")).unwrap(),
                secret: SecretAccessKey::new(format!("secret-{i}")).unwrap(),
                user: UserId(i),
            })
            .collect()
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = Factory::new(mix(), clients(), Backend::Ring, 9).unwrap();
        let mut b = Factory::new(mix(), clients(), Backend::Ring, 9).unwrap();
        for _ in 0..50 {
            assert_eq!(a.next(1_700_000_000_000).raw, b.next(1_700_000_000_000).raw);
        }
    }

    #[test]
    fn every_request_parses_and_carries_a_signature() {
        let mut f = Factory::new(mix(), clients(), Backend::Ring, 3).unwrap();
        let mut intents = std::collections::HashSet::new();
        let mut presigned = 0;
        for _ in 0..2000 {
            let out = f.next(1_700_000_000_000);
            let request = Request::parse(&out.raw).unwrap();
            let header = request.header("authorization").is_some();
            let query = request
                .query
                .is_some_and(|q| q.contains("X-Amz-Signature="));
            assert!(header ^ query, "{}", String::from_utf8_lossy(&out.raw));
            presigned += usize::from(query);
            intents.insert(format!("{:?}", out.intent));
        }
        assert_eq!(intents.len(), 6, "{intents:?}");
        assert!(presigned > 50, "{presigned}");
    }
}
