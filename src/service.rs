//! The simulated service endpoints (`s3`, `ec2`, `elasticloadbalancing`,
//! `sts`, `sqs`): their names, their regional hosts, and how each maps a
//! signed request to what IAM must authorize: an action such as
//! `s3:GetObject` and a resource ARN.
//!
//! An endpoint parses the request ([`crate::sigv4::http`]), has its region's
//! data plane verify the signature, calls [`Service::authorization_target`],
//! and evaluates the principal's policies ([`crate::iam::evaluate`]) on the
//! result. The mapping writes into a caller's reusable [`Target`], so once its
//! buffers have grown to fit, mapping allocates nothing.
//!
//! The mapping covers the operations the workloads drive, and refuses the
//! rest with a [`MapError`] rather than guessing, because a wrong action
//! would be authorized wrongly without a sign:
//! - `s3`: object GET/HEAD/PUT/DELETE and bucket GET (listing), in
//!   virtual-hosted or path style; a query parameter that selects another
//!   operation (`?acl`, `?versionId`, `?uploads`, ...) is refused.
//! - `ec2`, `elasticloadbalancing`, `sts`: the AWS query protocol's `Action`,
//!   on resource `*`.
//! - `sqs`: the query protocol's `Action` on the queue named by `QueueUrl` or
//!   by the path.
//!
//! NOTE: only the query protocol is read. Current AWS SDKs call SQS with the
//! JSON protocol (`X-Amz-Target: AmazonSQS.SendMessage` and a JSON body);
//! such a request is refused as having no `Action`. Reading it needs a JSON
//! scan of the body, and is worth adding if a workload replays real SDK
//! traffic.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::sigv4::encode::decoded;
use crate::sigv4::http::Request;

/// One kind of service endpoint, present in every region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Amazon S3: object storage, REST protocol.
    S3,
    /// Amazon EC2: query protocol.
    Ec2,
    /// Elastic Load Balancing: query protocol.
    ElasticLoadBalancing,
    /// AWS STS: query protocol.
    Sts,
    /// Amazon SQS: query protocol.
    Sqs,
}

impl Service {
    /// Every service, in a fixed order used for tables and counters.
    pub const ALL: [Service; 5] = [
        Service::S3,
        Service::Ec2,
        Service::ElasticLoadBalancing,
        Service::Sts,
        Service::Sqs,
    ];

    /// The name in SigV4 credential scopes and in IAM action prefixes.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::S3 => "s3",
            Service::Ec2 => "ec2",
            Service::ElasticLoadBalancing => "elasticloadbalancing",
            Service::Sts => "sts",
            Service::Sqs => "sqs",
        }
    }

    /// AWS's full name, as a status feed shows it.
    pub fn display_name(self) -> &'static str {
        match self {
            Service::S3 => "Amazon Simple Storage Service",
            Service::Ec2 => "Amazon Elastic Compute Cloud",
            Service::ElasticLoadBalancing => "Elastic Load Balancing",
            Service::Sts => "AWS Security Token Service",
            Service::Sqs => "Amazon Simple Queue Service",
        }
    }

    /// The index of the service in [`Service::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The endpoint's host in `region`, such as `s3.eu-north-1.amazonaws.com`.
    pub fn endpoint_host(self, region: &str) -> String {
        format!("{}.{region}.amazonaws.com", self.signing_name())
    }

    /// Map `request`, received by this service's endpoint in `region`, to the
    /// action and resource IAM must authorize, written into `out`.
    ///
    /// `out` is cleared first, and left cleared on error; its buffers are
    /// reused, so a warm `Target` makes this allocation-free.
    ///
    /// # Errors
    ///
    /// [`MapError`] says what the request lacks or which operation is not
    /// modelled.
    pub fn authorization_target(
        self,
        request: &Request<'_>,
        region: &str,
        out: &mut Target,
    ) -> Result<(), MapError> {
        out.clear();
        let result = match self {
            Service::S3 => s3_target(request, region, out),
            Service::Ec2 | Service::ElasticLoadBalancing => query_target(self, request, out),
            Service::Sts => sts_target(request, out),
            Service::Sqs => sqs_target(request, region, out),
        };
        if result.is_err() {
            out.clear();
        }
        result
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.signing_name())
    }
}

impl FromStr for Service {
    type Err = UnknownService;

    /// Parse a signing name, such as `elasticloadbalancing`.
    fn from_str(name: &str) -> Result<Service, UnknownService> {
        Service::ALL
            .into_iter()
            .find(|s| s.signing_name() == name)
            .ok_or_else(|| UnknownService {
                name: name.to_owned(),
            })
    }
}

/// What IAM must authorize for one request; reused from request to request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// The IAM action, such as `s3:GetObject`.
    pub action: String,
    /// The resource ARN, such as `arn:aws:s3:::bucket/key`, or `*`.
    pub resource: String,
    /// Whether IAM allows the action whatever the policies say
    /// (`sts:GetCallerIdentity`).
    pub always_allowed: bool,
}

impl Target {
    /// An empty target, ready to be filled.
    pub fn new() -> Target {
        Target::default()
    }

    /// Empty the target, keeping its buffers.
    pub fn clear(&mut self) {
        self.action.clear();
        self.resource.clear();
        self.always_allowed = false;
    }
}

/// A name that is not one of the services' signing names.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown service {name:?}: expected one of s3, ec2, elasticloadbalancing, sts, sqs")]
pub struct UnknownService {
    /// The name as given.
    pub name: String,
}

/// Why a request cannot be mapped to an action and resource.
///
/// Every variant is plain data, so that refusing a request allocates nothing.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum MapError {
    /// The request has no `Host` header.
    #[error("the {service} request has no Host header")]
    NoHost {
        /// The endpoint's service.
        service: Service,
    },
    /// The `Host` header names another endpoint or region.
    #[error("the {service} request's Host header does not name this region's {service} endpoint")]
    ForeignHost {
        /// The endpoint's service.
        service: Service,
    },
    /// A path-style S3 request with no bucket in its path.
    #[error("the s3 request names no bucket")]
    NoBucket,
    /// The bucket name has characters S3 does not allow.
    #[error("the s3 request's bucket name is not lower-case letters, digits, '.' and '-'")]
    InvalidBucket,
    /// The object key's percent-decoding is not UTF-8.
    #[error("the s3 request's object key does not percent-decode to UTF-8")]
    KeyNotUtf8,
    /// An S3 method the model does not map on this kind of resource.
    #[error(
        "the s3 request is {method} on {on}, which is not modelled \
         (objects: GET, HEAD, PUT, DELETE; buckets: GET)"
    )]
    UnsupportedS3 {
        /// The method, or "an unrecognised method".
        method: &'static str,
        /// "a bucket" or "an object".
        on: &'static str,
    },
    /// An S3 query parameter that selects an operation the model does not map.
    #[error(
        "the s3 request has a query parameter that selects an operation which is not modelled \
         (such as ?acl, ?tagging, ?versionId or ?uploads)"
    )]
    S3Subresource,
    /// A required query-protocol parameter is absent.
    #[error("the {service} request has no {parameter} parameter")]
    MissingParameter {
        /// The endpoint's service.
        service: Service,
        /// The parameter, such as `Action`.
        parameter: &'static str,
    },
    /// The `Action` parameter is not an operation name.
    #[error("the {service} request's Action parameter is not an operation name (ASCII letters and digits)")]
    InvalidAction {
        /// The endpoint's service.
        service: Service,
    },
    /// An SQS request with neither a `QueueUrl` nor a queue path.
    #[error(
        "the sqs request names no queue (no QueueUrl parameter and no /<account>/<queue> path)"
    )]
    NoQueue,
    /// The `QueueUrl` names another endpoint or region.
    #[error(
        "the sqs request's QueueUrl is not https://sqs.<region>.amazonaws.com/... for this region"
    )]
    ForeignQueueUrl,
    /// The queue's account or name is malformed.
    #[error("the sqs request's queue {reason}")]
    InvalidQueue {
        /// What is wrong, such as "account is not a 12-digit number".
        reason: &'static str,
    },
}

/// S3 query parameters that leave an object GET, HEAD, PUT or DELETE what it
/// is; `X-Amz-*` (presigned URLs) is allowed as well.
const S3_OBJECT_PARAMS: &[&str] = &["x-id", "partNumber"];

/// S3 query parameters of a bucket listing (ListObjects, ListObjectsV2).
const S3_LIST_PARAMS: &[&str] = &[
    "x-id",
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "marker",
    "continuation-token",
    "start-after",
    "encoding-type",
    "fetch-owner",
];

/// The longest SQS queue name.
const MAX_QUEUE_NAME_LEN: usize = 80;

fn s3_target(request: &Request<'_>, region: &str, out: &mut Target) -> Result<(), MapError> {
    let service = Service::S3;
    let host = without_port(request.header("host").ok_or(MapError::NoHost { service })?);
    let host_bucket =
        endpoint_prefix(host, "s3", region).ok_or(MapError::ForeignHost { service })?;

    // Virtual-hosted style names the bucket in the host, path style in the
    // path's first segment.
    let path = request.path.strip_prefix('/').unwrap_or(request.path);
    let (bucket, key) = if host_bucket.is_empty() {
        path.split_once('/').unwrap_or((path, ""))
    } else {
        (host_bucket, path)
    };
    if bucket.is_empty() {
        return Err(MapError::NoBucket);
    }
    if !bucket.bytes().all(is_bucket_byte) {
        return Err(MapError::InvalidBucket);
    }
    let on_object = !key.is_empty();
    check_s3_query(request.query, on_object)?;

    let action = match (request.method, on_object) {
        ("GET" | "HEAD", true) => "s3:GetObject",
        ("PUT", true) => "s3:PutObject",
        ("DELETE", true) => "s3:DeleteObject",
        ("GET", false) => "s3:ListBucket",
        (method, _) => {
            return Err(MapError::UnsupportedS3 {
                method: static_method(method),
                on: if on_object { "an object" } else { "a bucket" },
            })
        }
    };
    out.action.push_str(action);
    out.resource.push_str("arn:aws:s3:::");
    out.resource.push_str(bucket);
    if on_object {
        out.resource.push('/');
        push_utf8(
            &mut out.resource,
            decoded(key.as_bytes()),
            MapError::KeyNotUtf8,
        )?;
    }
    Ok(())
}

/// Refuse query parameters that turn an object or bucket request into
/// another operation, such as `?acl` (GetObjectAcl) or `?versionId`.
fn check_s3_query(query: Option<&str>, on_object: bool) -> Result<(), MapError> {
    let Some(query) = query else {
        return Ok(());
    };
    let allowed = if on_object {
        S3_OBJECT_PARAMS
    } else {
        S3_LIST_PARAMS
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        let presign = name
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case("x-amz-"));
        let response_override = on_object && name.starts_with("response-");
        if !(presign || response_override || allowed.contains(&name)) {
            return Err(MapError::S3Subresource);
        }
    }
    Ok(())
}

fn is_bucket_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
}

/// The method as a static string for an error message.
fn static_method(method: &str) -> &'static str {
    ["GET", "HEAD", "PUT", "DELETE", "POST", "PATCH", "OPTIONS"]
        .into_iter()
        .find(|&m| m == method)
        .unwrap_or("an unrecognised method")
}

/// EC2 and Elastic Load Balancing: `<service>:<Action>` on `*`.
fn query_target(service: Service, request: &Request<'_>, out: &mut Target) -> Result<(), MapError> {
    push_action(service, request, &mut out.action)?;
    out.resource.push('*');
    Ok(())
}

/// STS: like [`query_target`], except that no policy can deny
/// `GetCallerIdentity`.
fn sts_target(request: &Request<'_>, out: &mut Target) -> Result<(), MapError> {
    let name_start = push_action(Service::Sts, request, &mut out.action)?;
    out.always_allowed = &out.action[name_start..] == "GetCallerIdentity";
    out.resource.push('*');
    Ok(())
}

/// SQS: `sqs:<Action>` on the queue of `QueueUrl` or of the path; `ListQueues`
/// names no queue and is authorized on `*`.
fn sqs_target(request: &Request<'_>, region: &str, out: &mut Target) -> Result<(), MapError> {
    let name_start = push_action(Service::Sqs, request, &mut out.action)?;
    if let Some(url) = query_param(request, "QueueUrl") {
        // `http://` or `https://`, then this region's endpoint.
        let mut rest = url.decoded().peekable();
        let http = eat(&mut rest, b"http");
        rest.next_if(|b| b.eq_ignore_ascii_case(&b's'));
        let on_endpoint = http
            && eat(&mut rest, b"://sqs.")
            && eat(&mut rest, region.as_bytes())
            && eat(&mut rest, b".amazonaws.com/");
        if !on_endpoint {
            return Err(MapError::ForeignQueueUrl);
        }
        return push_queue_arn(&mut out.resource, region, rest);
    }
    let path = request.path.strip_prefix('/').unwrap_or(request.path);
    if !path.is_empty() {
        return push_queue_arn(&mut out.resource, region, decoded(path.as_bytes()));
    }
    if &out.action[name_start..] == "ListQueues" {
        out.resource.push('*');
        return Ok(());
    }
    Err(MapError::NoQueue)
}

/// Append `arn:aws:sqs:<region>:<account>:<queue>` from the decoded bytes
/// `<account>/<queue>`.
fn push_queue_arn(
    out: &mut String,
    region: &str,
    mut rest: impl Iterator<Item = u8>,
) -> Result<(), MapError> {
    let invalid = |reason| MapError::InvalidQueue { reason };
    out.push_str("arn:aws:sqs:");
    out.push_str(region);
    out.push(':');

    let mut account_len = 0;
    loop {
        match rest.next() {
            Some(b'/') if account_len == 12 => break,
            Some(b) if b.is_ascii_digit() && account_len < 12 => {
                out.push(char::from(b));
                account_len += 1;
            }
            _ => return Err(invalid("account is not a 12-digit number")),
        }
    }
    out.push(':');

    let mut name_len = 0;
    for b in rest {
        if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(invalid("name is not letters, digits, '-', '_' and '.fifo'"));
        }
        out.push(char::from(b));
        name_len += 1;
    }
    if name_len == 0 || name_len > MAX_QUEUE_NAME_LEN {
        return Err(invalid("name is not 1 to 80 characters long"));
    }
    Ok(())
}

/// Append `<service>:<Action>` to `out` and return where the operation name
/// starts in it.
fn push_action(
    service: Service,
    request: &Request<'_>,
    out: &mut String,
) -> Result<usize, MapError> {
    let param = query_param(request, "Action").ok_or(MapError::MissingParameter {
        service,
        parameter: "Action",
    })?;
    out.push_str(service.signing_name());
    out.push(':');
    let name_start = out.len();
    for b in param.decoded() {
        if !b.is_ascii_alphanumeric() {
            return Err(MapError::InvalidAction { service });
        }
        out.push(char::from(b));
    }
    if out.len() == name_start {
        return Err(MapError::InvalidAction { service });
    }
    Ok(name_start)
}

/// One query-protocol parameter's raw value, and whether it came from a form
/// body (where a raw `+` is a space).
#[derive(Clone, Copy)]
struct Param<'a> {
    raw: &'a [u8],
    form: bool,
}

impl<'a> Param<'a> {
    fn decoded(self) -> impl Iterator<Item = u8> + 'a {
        form_decoded(self.raw, self.form)
    }
}

/// The first parameter named `name`: from the query string, else from an
/// `application/x-www-form-urlencoded` body.
fn query_param<'a>(request: &Request<'a>, name: &str) -> Option<Param<'a>> {
    let in_query = request
        .query
        .and_then(|q| find_param(q.as_bytes(), name, false));
    in_query.or_else(|| {
        is_form(request)
            .then(|| find_param(request.body, name, true))
            .flatten()
    })
}

fn find_param<'a>(pairs: &'a [u8], name: &str, form: bool) -> Option<Param<'a>> {
    pairs.split(|&b| b == b'&').find_map(|pair| {
        let (raw_name, raw) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        // Names are rarely encoded; compare them raw when they are not.
        let encoded = raw_name.contains(&b'%') || (form && raw_name.contains(&b'+'));
        let same = if encoded {
            form_decoded(raw_name, form).eq(name.bytes())
        } else {
            raw_name == name.as_bytes()
        };
        same.then_some(Param { raw, form })
    })
}

fn is_form(request: &Request<'_>) -> bool {
    request.header("content-type").is_some_and(|value| {
        let media_type = value.split(';').next().unwrap_or("").trim();
        media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// Percent-decoded bytes of `raw`; with `form`, a raw `+` is a space (an
/// encoded `%2B` stays `+`).
fn form_decoded(raw: &[u8], form: bool) -> FormDecoded<'_> {
    FormDecoded { raw, form }
}

/// Iterator over [`form_decoded`] bytes.
struct FormDecoded<'a> {
    raw: &'a [u8],
    form: bool,
}

impl Iterator for FormDecoded<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.raw.split_first()?;
        if b == b'+' && self.form {
            self.raw = rest;
            return Some(b' ');
        }
        if b == b'%' {
            // `decoded` is lenient: a `%` without two hex digits stays literal.
            let escape = &self.raw[..self.raw.len().min(3)];
            let mut one = decoded(escape);
            let value = one.next();
            if one.next().is_none() {
                self.raw = &self.raw[escape.len()..];
                return value;
            }
        }
        self.raw = rest;
        Some(b)
    }
}

/// Consume `expected` from `bytes`, ignoring ASCII case; false on a mismatch.
fn eat(bytes: &mut impl Iterator<Item = u8>, expected: &[u8]) -> bool {
    expected
        .iter()
        .all(|e| bytes.next().is_some_and(|b| b.eq_ignore_ascii_case(e)))
}

/// Append `bytes` to `out` if, together, they are UTF-8; otherwise leave `out`
/// as it was and return `error`. Reuses `out`'s buffer.
fn push_utf8(
    out: &mut String,
    bytes: impl Iterator<Item = u8>,
    error: MapError,
) -> Result<(), MapError> {
    let mut buffer = std::mem::take(out).into_bytes();
    let start = buffer.len();
    buffer.extend(bytes);
    match String::from_utf8(buffer) {
        Ok(text) => {
            *out = text;
            Ok(())
        }
        Err(e) => {
            let mut buffer = e.into_bytes();
            buffer.truncate(start);
            *out = String::from_utf8(buffer).unwrap_or_default();
            Err(error)
        }
    }
}

/// The host without a `:port` suffix.
fn without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// What comes before `<service>.<region>.amazonaws.com` in `host`: `""` for
/// the endpoint itself, the label(s) before the dot for a virtual host, and
/// `None` for another host. Ignores ASCII case.
fn endpoint_prefix<'h>(host: &'h str, service: &str, region: &str) -> Option<&'h str> {
    let rest = strip_suffix_ignore_case(host, ".amazonaws.com")?;
    let rest = strip_suffix_ignore_case(rest, region)?;
    let rest = strip_suffix_ignore_case(rest, ".")?;
    let rest = strip_suffix_ignore_case(rest, service)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_suffix('.').filter(|prefix| !prefix.is_empty())
}

fn strip_suffix_ignore_case<'s>(s: &'s str, suffix: &str) -> Option<&'s str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let (head, tail) = (s.get(..cut)?, &s.as_bytes()[cut..]);
    tail.eq_ignore_ascii_case(suffix.as_bytes()).then_some(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGION: &str = "eu-north-1";

    /// Map the raw request `raw` for `service` in [`REGION`].
    fn map(service: Service, raw: &str) -> Result<Target, MapError> {
        let request = Request::parse(raw.as_bytes()).unwrap();
        let mut target = Target::new();
        service
            .authorization_target(&request, REGION, &mut target)
            .map(|()| target)
    }

    fn target(action: &str, resource: &str) -> Target {
        Target {
            action: action.into(),
            resource: resource.into(),
            always_allowed: false,
        }
    }

    #[test]
    fn names_hosts_and_indices() {
        let names: Vec<&str> = Service::ALL.iter().map(|s| s.signing_name()).collect();
        assert_eq!(names, ["s3", "ec2", "elasticloadbalancing", "sts", "sqs"]);
        assert_eq!(Service::S3.display_name(), "Amazon Simple Storage Service");
        assert_eq!(Service::Ec2.display_name(), "Amazon Elastic Compute Cloud");
        assert_eq!(
            Service::ElasticLoadBalancing.display_name(),
            "Elastic Load Balancing"
        );
        assert_eq!(Service::Sts.display_name(), "AWS Security Token Service");
        assert_eq!(Service::Sqs.display_name(), "Amazon Simple Queue Service");
        assert_eq!(
            Service::S3.endpoint_host(REGION),
            "s3.eu-north-1.amazonaws.com"
        );
        assert_eq!(
            Service::ElasticLoadBalancing.endpoint_host("me-south-1"),
            "elasticloadbalancing.me-south-1.amazonaws.com"
        );
        for (i, service) in Service::ALL.iter().enumerate() {
            assert_eq!(service.index(), i);
            assert_eq!(service.to_string(), service.signing_name());
        }
    }

    #[test]
    fn parses_signing_names_and_refuses_others() {
        for service in Service::ALL {
            assert_eq!(service.signing_name().parse::<Service>(), Ok(service));
        }
        let err = "elb".parse::<Service>().unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"unknown service "elb": expected one of s3, ec2, elasticloadbalancing, sts, sqs"#
        );
        assert!("S3".parse::<Service>().is_err());
    }

    #[test]
    fn serde_uses_signing_names() {
        let json = serde_json::to_string(&Service::ALL).unwrap();
        assert_eq!(json, r#"["s3","ec2","elasticloadbalancing","sts","sqs"]"#);
        let back: Vec<Service> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Service::ALL);
        assert!(serde_json::from_str::<Service>(r#""ElasticLoadBalancing""#).is_err());
    }

    #[test]
    fn s3_virtual_hosted_object_key_is_percent_decoded() {
        let t = map(
            Service::S3,
            "GET /photos/2024%2F01/caf%C3%A9+1.jpg HTTP/1.1\nHost: my.bucket.s3.eu-north-1.amazonaws.com",
        );
        assert_eq!(
            t,
            Ok(target(
                "s3:GetObject",
                "arn:aws:s3:::my.bucket/photos/2024/01/café+1.jpg"
            ))
        );
    }

    #[test]
    fn s3_path_style_names_the_bucket_in_the_path() {
        let raw = |method: &str| {
            format!("{method} /logs/a/b.gz HTTP/1.1\nHost: s3.eu-north-1.amazonaws.com:443")
        };
        let object = "arn:aws:s3:::logs/a/b.gz";
        assert_eq!(
            map(Service::S3, &raw("GET")),
            Ok(target("s3:GetObject", object))
        );
        assert_eq!(
            map(Service::S3, &raw("HEAD")),
            Ok(target("s3:GetObject", object))
        );
        assert_eq!(
            map(Service::S3, &raw("PUT")),
            Ok(target("s3:PutObject", object))
        );
        assert_eq!(
            map(Service::S3, &raw("DELETE")),
            Ok(target("s3:DeleteObject", object))
        );
    }

    #[test]
    fn s3_get_without_a_key_lists_the_bucket_in_both_styles() {
        let list = target("s3:ListBucket", "arn:aws:s3:::logs");
        let virtual_hosted =
            "GET /?list-type=2&prefix=a%2F&x-id=ListObjectsV2 HTTP/1.1\nHost: logs.s3.eu-north-1.amazonaws.com";
        assert_eq!(map(Service::S3, virtual_hosted), Ok(list.clone()));
        assert_eq!(
            map(
                Service::S3,
                "GET /logs HTTP/1.1\nHost: s3.eu-north-1.amazonaws.com"
            ),
            Ok(list.clone())
        );
        assert_eq!(
            map(
                Service::S3,
                "GET /logs/ HTTP/1.1\nHost: S3.EU-NORTH-1.amazonaws.com"
            ),
            Ok(list)
        );
    }

    #[test]
    fn s3_presigned_and_response_override_parameters_keep_the_operation() {
        let t = map(
            Service::S3,
            "GET /k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=ab&response-content-type=text%2Fplain \
             HTTP/1.1\nHost: b.s3.eu-north-1.amazonaws.com",
        );
        assert_eq!(t, Ok(target("s3:GetObject", "arn:aws:s3:::b/k")));
    }

    #[test]
    fn s3_refuses_what_it_does_not_model() {
        let host = "Host: b.s3.eu-north-1.amazonaws.com";
        let unsupported = |method, on| Err(MapError::UnsupportedS3 { method, on });
        assert_eq!(
            map(Service::S3, &format!("POST /k HTTP/1.1\n{host}")),
            unsupported("POST", "an object")
        );
        assert_eq!(
            map(Service::S3, &format!("PUT / HTTP/1.1\n{host}")),
            unsupported("PUT", "a bucket")
        );
        assert_eq!(
            map(Service::S3, &format!("HEAD / HTTP/1.1\n{host}")),
            unsupported("HEAD", "a bucket")
        );
        assert_eq!(
            map(Service::S3, &format!("BREW /k HTTP/1.1\n{host}")),
            unsupported("an unrecognised method", "an object")
        );
        assert_eq!(
            map(Service::S3, &format!("GET /k?acl HTTP/1.1\n{host}")),
            Err(MapError::S3Subresource)
        );
        assert_eq!(
            map(Service::S3, &format!("GET /k?versionId=3 HTTP/1.1\n{host}")),
            Err(MapError::S3Subresource)
        );
        assert_eq!(
            map(Service::S3, &format!("GET /?tagging HTTP/1.1\n{host}")),
            Err(MapError::S3Subresource)
        );
    }

    #[test]
    fn s3_errors_say_what_is_missing() {
        let s3 = Service::S3;
        assert_eq!(
            map(s3, "GET /b/k HTTP/1.1\nX: y"),
            Err(MapError::NoHost { service: s3 })
        );
        assert_eq!(
            map(s3, "GET /b/k HTTP/1.1\nHost: s3.eu-south-1.amazonaws.com"),
            Err(MapError::ForeignHost { service: s3 })
        );
        assert_eq!(
            map(s3, "GET /k HTTP/1.1\nHost: b.ec2.eu-north-1.amazonaws.com"),
            Err(MapError::ForeignHost { service: s3 })
        );
        assert_eq!(
            map(s3, "GET / HTTP/1.1\nHost: s3.eu-north-1.amazonaws.com"),
            Err(MapError::NoBucket)
        );
        assert_eq!(
            map(
                s3,
                "GET /My_Bucket/k HTTP/1.1\nHost: s3.eu-north-1.amazonaws.com"
            ),
            Err(MapError::InvalidBucket)
        );
        assert_eq!(
            map(
                s3,
                "GET /k%FF HTTP/1.1\nHost: b.s3.eu-north-1.amazonaws.com"
            ),
            Err(MapError::KeyNotUtf8)
        );
        assert_eq!(
            MapError::ForeignHost { service: s3 }.to_string(),
            "the s3 request's Host header does not name this region's s3 endpoint"
        );
    }

    #[test]
    fn ec2_reads_action_from_the_query_string() {
        let t = map(
            Service::Ec2,
            "GET /?Action=DescribeInstances&Version=2016-11-15 HTTP/1.1\nHost: ec2.eu-north-1.amazonaws.com",
        );
        assert_eq!(t, Ok(target("ec2:DescribeInstances", "*")));
    }

    #[test]
    fn query_services_read_action_from_a_form_body() {
        let body = "Version=2015-12-01&Action=Describe%4CoadBalancers&Names.member.1=a+b";
        let raw = format!(
            "POST / HTTP/1.1\nHost: elasticloadbalancing.eu-north-1.amazonaws.com\n\
             Content-Type: application/x-www-form-urlencoded; charset=utf-8\n\
             Content-Length: {}\n\n{body}",
            body.len()
        );
        assert_eq!(
            map(Service::ElasticLoadBalancing, &raw),
            Ok(target("elasticloadbalancing:DescribeLoadBalancers", "*"))
        );
    }

    #[test]
    fn form_body_plus_is_a_space_but_encoded_plus_is_not() {
        let decode = |raw: &str| -> Vec<u8> { form_decoded(raw.as_bytes(), true).collect() };
        assert_eq!(decode("a+b%2Bc+"), b"a b+c ");
        assert_eq!(decode("50%+%zz%4"), b"50% %zz%4");
        assert_eq!(decode("%e2%82%ac%"), "€%".as_bytes());
        let query: Vec<u8> = form_decoded(b"a+b", false).collect();
        assert_eq!(query, b"a+b");
        // A space in an Action is not an operation name.
        let raw = "POST / HTTP/1.1\nContent-Type: application/x-www-form-urlencoded\n\nAction=Run+Instances";
        assert_eq!(
            map(Service::Ec2, raw),
            Err(MapError::InvalidAction {
                service: Service::Ec2
            })
        );
    }

    #[test]
    fn body_is_ignored_unless_it_is_a_form() {
        let raw = "POST / HTTP/1.1\nContent-Type: application/json\n\nAction=RunInstances";
        let err = map(Service::Ec2, raw).unwrap_err();
        assert_eq!(
            err,
            MapError::MissingParameter {
                service: Service::Ec2,
                parameter: "Action"
            }
        );
        assert_eq!(err.to_string(), "the ec2 request has no Action parameter");
    }

    #[test]
    fn action_must_be_an_operation_name() {
        let ec2 = Service::Ec2;
        let invalid = Err(MapError::InvalidAction { service: ec2 });
        assert_eq!(
            map(ec2, "GET /?Action=Describe* HTTP/1.1\nHost: h"),
            invalid
        );
        assert_eq!(map(ec2, "GET /?Action= HTTP/1.1\nHost: h"), invalid);
        assert_eq!(map(ec2, "GET /?Action HTTP/1.1\nHost: h"), invalid);
    }

    #[test]
    fn sts_get_caller_identity_is_always_allowed() {
        let t = map(
            Service::Sts,
            "GET /?Action=GetCallerIdentity&Version=2011-06-15 HTTP/1.1\nHost: h",
        )
        .unwrap();
        assert_eq!(t.action, "sts:GetCallerIdentity");
        assert_eq!(t.resource, "*");
        assert!(t.always_allowed);
        let t = map(Service::Sts, "GET /?Action=AssumeRole HTTP/1.1\nHost: h").unwrap();
        assert_eq!(t, target("sts:AssumeRole", "*"));
    }

    #[test]
    fn sqs_queue_comes_from_an_encoded_queue_url() {
        let body = "Action=SendMessage&MessageBody=hi+there&\
                    QueueUrl=https%3A%2F%2Fsqs.eu-north-1.amazonaws.com%2F123456789012%2Forders.fifo";
        let raw = format!(
            "POST / HTTP/1.1\nHost: sqs.eu-north-1.amazonaws.com\n\
             Content-Type: application/x-www-form-urlencoded\n\n{body}"
        );
        assert_eq!(
            map(Service::Sqs, &raw),
            Ok(target(
                "sqs:SendMessage",
                "arn:aws:sqs:eu-north-1:123456789012:orders.fifo"
            ))
        );
        let query = "GET /?Action=ReceiveMessage&QueueUrl=http://SQS.eu-north-1.amazonaws.com/123456789012/q \
                     HTTP/1.1\nHost: h";
        assert_eq!(
            map(Service::Sqs, query),
            Ok(target(
                "sqs:ReceiveMessage",
                "arn:aws:sqs:eu-north-1:123456789012:q"
            ))
        );
    }

    #[test]
    fn sqs_queue_comes_from_the_path() {
        let t = map(
            Service::Sqs,
            "GET /123456789012/jobs-1?Action=ReceiveMessage HTTP/1.1\nHost: sqs.eu-north-1.amazonaws.com",
        );
        assert_eq!(
            t,
            Ok(target(
                "sqs:ReceiveMessage",
                "arn:aws:sqs:eu-north-1:123456789012:jobs-1"
            ))
        );
    }

    #[test]
    fn sqs_list_queues_needs_no_queue_but_others_do() {
        assert_eq!(
            map(Service::Sqs, "GET /?Action=ListQueues HTTP/1.1\nHost: h"),
            Ok(target("sqs:ListQueues", "*"))
        );
        assert_eq!(
            map(Service::Sqs, "GET /?Action=SendMessage HTTP/1.1\nHost: h"),
            Err(MapError::NoQueue)
        );
    }

    #[test]
    fn sqs_errors_name_the_bad_part() {
        let url = |u: &str| {
            map(
                Service::Sqs,
                &format!("GET /?Action=SendMessage&QueueUrl={u} HTTP/1.1\nHost: h"),
            )
        };
        assert_eq!(
            url("https://sqs.eu-south-1.amazonaws.com/123456789012/q"),
            Err(MapError::ForeignQueueUrl)
        );
        assert_eq!(
            url("ftp://sqs.eu-north-1.amazonaws.com/123456789012/q"),
            Err(MapError::ForeignQueueUrl)
        );
        assert_eq!(
            url("https://sqs.eu-north-1.amazonaws.com/12345/q"),
            Err(MapError::InvalidQueue {
                reason: "account is not a 12-digit number"
            })
        );
        assert_eq!(
            url("https://sqs.eu-north-1.amazonaws.com/123456789012/"),
            Err(MapError::InvalidQueue {
                reason: "name is not 1 to 80 characters long"
            })
        );
        assert_eq!(
            url("https://sqs.eu-north-1.amazonaws.com/123456789012/a/b"),
            Err(MapError::InvalidQueue {
                reason: "name is not letters, digits, '-', '_' and '.fifo'"
            })
        );
        let long = "q".repeat(81);
        assert_eq!(
            url(&format!(
                "https://sqs.eu-north-1.amazonaws.com/123456789012/{long}"
            )),
            Err(MapError::InvalidQueue {
                reason: "name is not 1 to 80 characters long"
            })
        );
        assert_eq!(
            map(Service::Sqs, "GET /123456789012/q HTTP/1.1\nHost: h")
                .unwrap_err()
                .to_string(),
            "the sqs request has no Action parameter"
        );
    }

    #[test]
    fn reused_target_is_refilled_without_new_buffers() {
        let first =
            Request::parse(b"GET /logs/aaaaaaaa HTTP/1.1\nHost: s3.eu-north-1.amazonaws.com")
                .unwrap();
        let second =
            Request::parse(b"PUT /k HTTP/1.1\nHost: logs.s3.eu-north-1.amazonaws.com").unwrap();
        let mut t = Target::new();
        Service::S3
            .authorization_target(&first, REGION, &mut t)
            .unwrap();
        let (action_ptr, resource_ptr) = (t.action.as_ptr(), t.resource.as_ptr());
        Service::S3
            .authorization_target(&second, REGION, &mut t)
            .unwrap();
        assert_eq!(t, target("s3:PutObject", "arn:aws:s3:::logs/k"));
        assert_eq!(t.action.as_ptr(), action_ptr);
        assert_eq!(t.resource.as_ptr(), resource_ptr);
    }

    #[test]
    fn failed_mapping_leaves_the_target_empty() {
        let ok = Request::parse(b"GET /?Action=GetCallerIdentity HTTP/1.1\nHost: h").unwrap();
        let bad =
            Request::parse(b"GET /k%FF HTTP/1.1\nHost: b.s3.eu-north-1.amazonaws.com").unwrap();
        let mut t = Target::new();
        Service::Sts
            .authorization_target(&ok, REGION, &mut t)
            .unwrap();
        assert!(t.always_allowed);
        assert_eq!(
            Service::S3.authorization_target(&bad, REGION, &mut t),
            Err(MapError::KeyNotUtf8)
        );
        assert_eq!(t, Target::new());
    }

    #[test]
    fn endpoint_prefix_separates_bucket_from_endpoint() {
        assert_eq!(
            endpoint_prefix("s3.eu-north-1.amazonaws.com", "s3", REGION),
            Some("")
        );
        assert_eq!(
            endpoint_prefix("a.b.s3.eu-north-1.amazonaws.com", "s3", REGION),
            Some("a.b")
        );
        assert_eq!(
            endpoint_prefix("xs3.eu-north-1.amazonaws.com", "s3", REGION),
            None
        );
        assert_eq!(
            endpoint_prefix(".s3.eu-north-1.amazonaws.com", "s3", REGION),
            None
        );
        assert_eq!(endpoint_prefix("s3.amazonaws.com", "s3", REGION), None);
        assert_eq!(
            endpoint_prefix("é.s3.eu-north-1.amazonaws.com", "s3", REGION),
            Some("é")
        );
        assert_eq!(without_port("h:8443"), "h");
        assert_eq!(without_port("h:"), "h:");
    }
}
