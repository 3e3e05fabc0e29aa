//! Property test against the Rust SDK's signer, the `aws-sigv4` crate: random
//! requests signed by `aws-sigv4` (header and presigned, S3 and non-S3 rules)
//! are serialized to raw HTTP/1.1, parsed by `sigv4::http` and must be
//! accepted by `sigv4::verify`; sigstorm's own signer (`sigv4::sign`) must
//! produce the same signature; and a one-byte change in any signed part must
//! be refused with the code that change deserves.
//!
//! The generator stays off the inputs where `aws-sigv4` departs from SigV4 as
//! S3 and the other services verify it; each was confirmed by lifting the
//! restriction, and each is noted where the generator avoids it:
//! - `aws-sigv4` reads the query with `form_urlencoded`, which decodes a raw
//!   `+` as a space (`?k+1` is signed `k%201`); SigV4 and sigstorm keep `+`
//!   literal (`k%2B1`), so the generator always sends `+` as `%2B`.
//! - Under S3's rules `aws-sigv4` signs the path exactly as given
//!   (`PercentEncodingMode::Single`), trusting the caller to have encoded it
//!   the SigV4 way. S3 decodes the path and encodes it once, so a raw `=` is
//!   signed `%3D` by S3 and sigstorm but `=` by `aws-sigv4`, and `%c3%a9` is
//!   signed `%C3%A9` against `%c3%a9`. An encoded slash, `%2F`, stays `%2F`
//!   for `aws-sigv4` but decodes to `/` under sigstorm's S3 rule; which one S3
//!   itself signs is not settled here. Under S3's rules the generator
//!   therefore encodes every path byte but the unreserved ones, with
//!   upper-case hex, and puts no `/` inside a segment.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    sign as aws_sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest,
    SignatureLocation, SigningSettings, UriPathNormalizationMode,
};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sigstorm::sigv4::auth::Credential;
use sigstorm::sigv4::canonical::Rules;
use sigstorm::sigv4::crypto::{Backend, Ring, SecretAccessKey};
use sigstorm::sigv4::http::Request;
use sigstorm::sigv4::sign::{self, Credentials, Options, Payload};
use sigstorm::sigv4::verify::{self, Context};
use sigstorm::sigv4::{ErrorCode, Rejection};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const REGION: &str = "us-east-1";
/// Random requests per rule set; each is signed in both locations.
const CASES: u32 = 256;
/// Characters that may appear raw in a URI path or query (RFC 3986 pchar).
const RAW_IN_PATH: &str = ":@!$&'()*+,;=";
/// Reserved characters that may appear raw in a query name or value: not `&`,
/// `=` (structure), `#` (fragment) or `+` (see the module doc).
const RAW_IN_QUERY: &str = ":@!$'()*,;/?";
/// A value may also hold a raw `=`: only the first `=` of a parameter splits.
const RAW_IN_QUERY_VALUE: &str = ":@!$'()*,;/?=";

#[test]
fn s3_rules_agree_with_aws_sigv4() {
    run(Flavour::S3);
}

#[test]
fn non_s3_rules_agree_with_aws_sigv4() {
    run(Flavour::Other);
}

/// Which of SigV4's two rule sets a test signs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flavour {
    /// `s3`: path decoded and encoded once, not normalized.
    S3,
    /// Any other service: path normalized, then encoded again.
    Other,
}

impl Flavour {
    fn service(self) -> &'static str {
        match self {
            Flavour::S3 => "s3",
            Flavour::Other => "execute-api",
        }
    }

    fn rules(self) -> Rules {
        Rules::for_service(self.service())
    }
}

/// sigstorm's verdict on a request: accepted, or refused with AWS's code.
type Verdict = Result<(), ErrorCode>;

/// Where the signature travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Location {
    Header,
    Query,
}

/// How header auth covers the body (a presigned URL always hashes it, except
/// under S3's rules, which use `UNSIGNED-PAYLOAD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeaderPayload {
    /// The body's SHA-256, not sent in a header.
    Hash,
    /// The body's SHA-256, sent in `x-amz-content-sha256`.
    HashHeader,
    /// `UNSIGNED-PAYLOAD`, sent in `x-amz-content-sha256`.
    Unsigned,
}

/// One random request and the randomness its checks draw on.
#[derive(Clone, Debug)]
struct Input {
    method: &'static str,
    /// Path segments as sent (percent-encoded where they must be).
    segments: Vec<String>,
    /// Query parameters as sent; `None` is a parameter without `=`.
    query: Vec<(String, Option<String>)>,
    /// `x-test-*` headers (names may repeat) with their values as sent.
    headers: Vec<(String, String)>,
    user_agent: Option<String>,
    host: &'static str,
    body: Vec<u8>,
    /// Send header names capitalized (`X-Test-A`) rather than lower-case.
    capitalize: bool,
    time: i64,
    /// The verifier's clock minus the signing time, seconds.
    skew: i64,
    expires: i64,
    token: Option<String>,
    payload: HeaderPayload,
    /// Where each mutation strikes.
    picks: [Index; 8],
}

impl Input {
    fn path(&self) -> String {
        self.segments.iter().map(|s| format!("/{s}")).collect()
    }

    fn query_string(&self) -> Option<String> {
        if self.query.is_empty() {
            return None;
        }
        let pieces: Vec<String> = self
            .query
            .iter()
            .map(|(name, value)| match value {
                Some(value) => format!("{name}={value}"),
                None => name.clone(),
            })
            .collect();
        Some(pieces.join("&"))
    }

    /// The request before signing, headers in sending order.
    fn unsigned(&self) -> Wire {
        let mut headers = vec![("host".to_string(), self.host.to_string())];
        headers.extend(self.headers.iter().cloned());
        if let Some(agent) = &self.user_agent {
            headers.push(("user-agent".to_string(), agent.clone()));
        }
        if !self.body.is_empty() {
            headers.push(("content-length".to_string(), self.body.len().to_string()));
        }
        Wire {
            method: self.method.to_string(),
            path: self.path(),
            query: self.query_string(),
            headers,
            body: self.body.clone(),
            capitalize: self.capitalize,
        }
    }

    fn now(&self, location: Location) -> i64 {
        match location {
            Location::Header => self.time + self.skew,
            Location::Query => self.time + self.skew.min(self.expires),
        }
    }
}

/// A request as it goes on the wire.
#[derive(Clone, Debug)]
struct Wire {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    capitalize: bool,
}

impl Wire {
    fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("{} {}", self.method, self.path);
        if let Some(query) = &self.query {
            head.push('?');
            head.push_str(query);
        }
        head.push_str(" HTTP/1.1\r\n");
        for (name, value) in &self.headers {
            let name = if self.capitalize {
                capitalize(name)
            } else {
                name.clone()
            };
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    fn header_mut(&mut self, name: &str) -> &mut String {
        self.headers
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no {name} header"))
    }
}

/// A request signed by `aws-sigv4`, as sent.
struct AwsSigned {
    wire: Wire,
    signature: String,
}

/// How many times each check ran, by location, kind and verdict.
type Tally = BTreeMap<(Location, &'static str, &'static str), usize>;

fn run(flavour: Flavour) {
    let tally = RefCell::new(Tally::new());
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&input(flavour), |input| {
        for location in [Location::Header, Location::Query] {
            check(&input, flavour, location, &tally)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{flavour:?}: {e}");
    }

    let tally = tally.into_inner();
    eprintln!("{flavour:?} rules, {CASES} requests:");
    for ((location, kind, verdict), n) in &tally {
        eprintln!("  {location:?} {kind}: {verdict} x{n}");
    }
    let ran = |location, kind| -> usize {
        let runs = tally
            .iter()
            .filter(|((l, k, _), _)| *l == location && *k == kind);
        runs.map(|(_, n)| n).sum()
    };
    for location in [Location::Header, Location::Query] {
        assert_eq!(ran(location, "signed"), CASES as usize);
        for kind in [
            "method",
            "path",
            "query",
            "header",
            "date",
            "signature",
            "body",
        ] {
            assert!(
                ran(location, kind) > 0,
                "{flavour:?} {location:?}: no {kind} mutation ran"
            );
        }
        // Every branch of the date oracle was taken: a time still inside the
        // window, a day other than the scope's, and a time outside the window.
        let (scope, window) = match location {
            Location::Header => ("AuthorizationHeaderMalformed", "RequestTimeTooSkewed"),
            Location::Query => ("AuthorizationQueryParametersError", "AccessDenied"),
        };
        for verdict in ["SignatureDoesNotMatch", scope, window] {
            assert!(
                tally.contains_key(&(location, "date", verdict)),
                "{flavour:?} {location:?}: no date mutation gave {verdict}"
            );
        }
    }
}

fn count(tally: &RefCell<Tally>, location: Location, kind: &'static str, verdict: Verdict) {
    let verdict = verdict.err().map_or("accepted", ErrorCode::as_str);
    *tally
        .borrow_mut()
        .entry((location, kind, verdict))
        .or_default() += 1;
}

/// Sign `input` with `aws-sigv4` and with sigstorm, verify it, then verify
/// every mutation of it.
fn check(
    input: &Input,
    flavour: Flavour,
    location: Location,
    tally: &RefCell<Tally>,
) -> Result<(), TestCaseError> {
    let unsigned = input.unsigned();
    let aws = sign_with_aws(input, &unsigned, flavour, location);
    let raw = aws.wire.to_bytes();
    let shown = String::from_utf8_lossy(&raw).into_owned();

    let ours = sign_with_sigstorm(input, &unsigned, flavour, location);
    prop_assert_eq!(
        &ours,
        &aws.signature,
        "sigstorm's signer differs on\n{}",
        shown
    );

    let now = input.now(location);
    let verdict = verify_raw(&raw, flavour, now, input.token.as_deref());
    prop_assert_eq!(verdict, Ok(()), "refused:\n{}", shown);
    count(tally, location, "signed", verdict);

    for mutation in mutations(input, &unsigned, &aws.wire, flavour, location) {
        let raw = mutation.wire.to_bytes();
        let verdict = verify_raw(&raw, flavour, now, input.token.as_deref());
        prop_assert_eq!(
            verdict,
            mutation.expected,
            "{} mutation of\n{}\ngave\n{}",
            mutation.kind,
            shown,
            String::from_utf8_lossy(&raw)
        );
        count(tally, location, mutation.kind, verdict);
    }
    Ok(())
}

fn sign_with_aws(
    input: &Input,
    unsigned: &Wire,
    flavour: Flavour,
    location: Location,
) -> AwsSigned {
    let identity: Identity =
        AwsCredentials::new(AKID, SECRET, input.token.clone(), None, "differential").into();
    let mut settings = SigningSettings::default();
    if flavour == Flavour::S3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    let body = match location {
        Location::Header => {
            if input.payload != HeaderPayload::Hash {
                settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            }
            match input.payload {
                HeaderPayload::Unsigned => SignableBody::UnsignedPayload,
                _ => SignableBody::Bytes(&input.body),
            }
        }
        Location::Query => {
            settings.signature_location = SignatureLocation::QueryParams;
            settings.expires_in = Some(Duration::from_secs(input.expires as u64));
            match flavour {
                Flavour::S3 => SignableBody::UnsignedPayload,
                Flavour::Other => SignableBody::Bytes(&input.body),
            }
        }
    };
    let params = SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(flavour.service())
        .time(SystemTime::UNIX_EPOCH + Duration::from_secs(input.time as u64))
        .settings(settings)
        .build()
        .unwrap()
        .into();

    let mut uri = format!("https://{}{}", input.host, unsigned.path);
    if let Some(query) = &unsigned.query {
        uri.push('?');
        uri.push_str(query);
    }
    let mut builder = http::Request::builder().method(input.method).uri(&uri);
    for (name, value) in &unsigned.headers {
        builder = builder.header(name, value);
    }
    let mut request = builder.body(input.body.clone()).unwrap();
    let headers: Vec<(&str, &str)> = unsigned
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let signable =
        SignableRequest::new(input.method, uri.clone(), headers.into_iter(), body).unwrap();
    let (instructions, signature) = aws_sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut request);

    let headers = request
        .headers()
        .iter()
        .map(|(n, v)| {
            let value = String::from_utf8(v.as_bytes().to_vec()).unwrap();
            (n.as_str().to_string(), value)
        })
        .collect();
    let wire = Wire {
        method: request.method().as_str().to_string(),
        path: request.uri().path().to_string(),
        query: request.uri().query().map(str::to_string),
        headers,
        body: request.into_body(),
        capitalize: input.capitalize,
    };
    AwsSigned { wire, signature }
}

/// sigstorm's signature for the same request, payload choice and time.
fn sign_with_sigstorm(
    input: &Input,
    unsigned: &Wire,
    flavour: Flavour,
    location: Location,
) -> String {
    let raw = unsigned.to_bytes();
    let request = Request::parse(&raw).unwrap();
    let secret = SecretAccessKey::new(SECRET).unwrap();
    let creds = Credentials {
        access_key_id: AKID,
        secret: &secret,
        session_token: input.token.as_deref(),
    };
    let (payload, presign) = match (location, input.payload) {
        (Location::Header, HeaderPayload::Hash) => (Payload::Hash, None),
        (Location::Header, HeaderPayload::HashHeader) => (Payload::HashHeader, None),
        (Location::Header, HeaderPayload::Unsigned) => (Payload::Unsigned, None),
        (Location::Query, _) => (Payload::Hash, Some(input.expires)),
    };
    let opts = Options {
        region: REGION,
        service: flavour.service(),
        time: input.time,
        rules: flavour.rules(),
        payload,
        presign,
        backend: Backend::Ring,
    };
    sign::sign(&request, &raw, &creds, &opts).unwrap().signature
}

/// sigstorm's verdict on `raw` at `now`, for an endpoint of `flavour`'s
/// service in `REGION` that knows one key pair (and its session token).
fn verify_raw(raw: &[u8], flavour: Flavour, now: i64, token: Option<&str>) -> Verdict {
    let request = Request::parse(raw).unwrap_or_else(|e| panic!("{e}"));
    let ctx = Context {
        now,
        region: Some(REGION),
        service: Some(flavour.service()),
        rules: Some(flavour.rules()),
    };
    let secret = SecretAccessKey::new(SECRET).unwrap();
    let key_for = |cred: &Credential<'_>, sent: Option<&str>| {
        if cred.access_key_id != AKID {
            return Err(Rejection::new(ErrorCode::InvalidAccessKeyId, "unknown key"));
        }
        if sent != token {
            return Err(Rejection::new(
                ErrorCode::InvalidClientTokenId,
                "wrong token",
            ));
        }
        Ok(Backend::Ring.full_signing_key(&secret, cred.date, cred.region, cred.service))
    };
    verify::verify::<Ring>(&request, &ctx, &mut Vec::new(), key_for)
        .map(|_| ())
        .map_err(|r| r.code)
}

/// A one-byte change of a signed request and the verdict it deserves.
struct Mutation {
    kind: &'static str,
    wire: Wire,
    expected: Verdict,
}

/// Every mutation that applies to this request: one per signed part (one per
/// digit of `X-Amz-Date`), each changing the part's canonical meaning, plus a
/// change of an unsigned header.
fn mutations(
    input: &Input,
    unsigned: &Wire,
    signed: &Wire,
    flavour: Flavour,
    location: Location,
) -> Vec<Mutation> {
    let mismatch = Err(ErrorCode::SignatureDoesNotMatch);
    let picks = &input.picks;
    let mut out = Vec::new();
    let mut push = |kind, wire: Option<Wire>, expected| {
        if let Some(wire) = wire {
            out.push(Mutation {
                kind,
                wire,
                expected,
            });
        }
    };

    push("method", Some(mutate_method(signed, picks[0])), mismatch);
    push(
        "path",
        mutate_path(input, signed, flavour, picks[1]),
        mismatch,
    );
    push("query", mutate_query(unsigned, signed, picks[2]), mismatch);
    push(
        "header",
        mutate_header(signed, picks[3], "x-test-"),
        mismatch,
    );
    push("host", mutate_header(signed, picks[3], "host"), mismatch);
    // user-agent is left unsigned by convention, so changing it is harmless.
    push(
        "unsigned header",
        mutate_header(signed, picks[4], "user-agent"),
        Ok(()),
    );
    push(
        "signature",
        Some(mutate_signature(signed, location, picks[5])),
        mismatch,
    );
    for position in (0..8).chain(9..15) {
        let (wire, expected) = mutate_date(input, signed, location, position, picks[6]);
        push("date", Some(wire), Err(expected));
    }
    push(
        "body",
        mutate_body(signed, picks[7]),
        body_verdict(input, flavour, location),
    );
    out
}

fn mutate_method(signed: &Wire, pick: Index) -> Wire {
    let mut wire = signed.clone();
    let mut bytes = wire.method.into_bytes();
    let at = pick.index(bytes.len());
    bytes[at] = other_letter(bytes[at], pick);
    wire.method = String::from_utf8(bytes).unwrap();
    wire
}

/// Change a letter of a path segment that survives normalization (under the
/// non-S3 rule a segment removed by `..` is not signed at all).
fn mutate_path(input: &Input, signed: &Wire, flavour: Flavour, pick: Index) -> Option<Wire> {
    let mut kept: Vec<usize> = Vec::new();
    for (i, segment) in input.segments.iter().enumerate() {
        match (flavour, segment.as_str()) {
            (Flavour::S3, _) => kept.push(i),
            (Flavour::Other, "" | ".") => {}
            (Flavour::Other, "..") => {
                kept.pop();
            }
            (Flavour::Other, _) => kept.push(i),
        }
    }
    let mut positions = Vec::new();
    let mut offset = 0;
    for (i, segment) in input.segments.iter().enumerate() {
        offset += 1;
        if kept.contains(&i) {
            positions.extend(letter_positions(segment).into_iter().map(|p| offset + p));
        }
        offset += segment.len();
    }
    let at = *positions.get(pick.index(positions.len().max(1)))?;
    let mut wire = signed.clone();
    wire.path = replace_byte(&wire.path, at, other_letter(wire.path.as_bytes()[at], pick));
    Some(wire)
}

/// Change a letter in a name or value of the request's own query parameters
/// (which come first in a presigned URL's query, before the `X-Amz-*` ones).
fn mutate_query(unsigned: &Wire, signed: &Wire, pick: Index) -> Option<Wire> {
    let own = unsigned.query.as_deref()?;
    let query = signed.query.as_deref()?;
    assert!(query.starts_with(own), "aws-sigv4 rewrote the query");
    let positions = letter_positions(own);
    let at = *positions.get(pick.index(positions.len().max(1)))?;
    let mut wire = signed.clone();
    wire.query = Some(replace_byte(
        query,
        at,
        other_letter(query.as_bytes()[at], pick),
    ));
    Some(wire)
}

/// Change a letter in the value of a header whose name starts with `prefix`.
fn mutate_header(signed: &Wire, pick: Index, prefix: &str) -> Option<Wire> {
    let positions: Vec<(usize, usize)> = signed
        .headers
        .iter()
        .enumerate()
        .filter(|(_, (name, _))| name.starts_with(prefix))
        .flat_map(|(i, (_, value))| letter_positions(value).into_iter().map(move |p| (i, p)))
        .collect();
    let &(i, at) = positions.get(pick.index(positions.len().max(1)))?;
    let mut wire = signed.clone();
    let value = &wire.headers[i].1;
    wire.headers[i].1 = replace_byte(value, at, other_letter(value.as_bytes()[at], pick));
    Some(wire)
}

/// Change one hex digit of the signature to another value (a change of case
/// only would decode to the same signature).
fn mutate_signature(signed: &Wire, location: Location, pick: Index) -> Wire {
    let mut wire = signed.clone();
    let text = match location {
        Location::Header => wire.header_mut("authorization"),
        Location::Query => wire.query.as_mut().unwrap(),
    };
    let key = match location {
        Location::Header => "Signature=",
        Location::Query => "X-Amz-Signature=",
    };
    let start = text.find(key).unwrap() + key.len();
    let at = start + pick.index(64);
    let digit = text.as_bytes()[at];
    let value = u8::from_str_radix(&(digit as char).to_string(), 16).unwrap();
    let other = b"0123456789abcdef"[usize::from((value + 1 + (pick.index(15) as u8)) % 16)];
    *text = replace_byte(text, at, other);
    wire
}

/// Change the digit at `position` of `X-Amz-Date` and say which refusal that
/// deserves.
///
/// The checks run in a fixed order, and the first that fails names the code:
/// a date that names no instant is malformed (`IncompleteSignature` in a
/// header, `AuthorizationQueryParametersError` in a query); a day other than
/// the credential scope's contradicts the scope (`AuthorizationHeaderMalformed`,
/// or the query error); a time outside the window is `RequestTimeTooSkewed`
/// (header auth, ±15 minutes) or `AccessDenied` (a presigned URL not yet valid
/// or expired); any other time is simply not what was signed
/// (`SignatureDoesNotMatch`).
fn mutate_date(
    input: &Input,
    signed: &Wire,
    location: Location,
    position: usize,
    pick: Index,
) -> (Wire, ErrorCode) {
    let mut wire = signed.clone();
    let (text, start) = match location {
        Location::Header => (wire.header_mut("x-amz-date"), 0),
        Location::Query => {
            let query = wire.query.as_mut().unwrap();
            let start = query.find("X-Amz-Date=").unwrap() + "X-Amz-Date=".len();
            (query, start)
        }
    };
    let scope_day = text[start..start + 8].to_string();
    let at = start + position;
    let digit = text.as_bytes()[at] - b'0';
    let other = b'0' + (digit + 1 + ((pick.index(9) + position) % 9) as u8) % 10;
    *text = replace_byte(text, at, other);
    let date = text[start..start + 16].to_string();

    let now = input.now(location);
    let code = match (location, amz_unix(&date)) {
        (Location::Header, None) => ErrorCode::IncompleteSignature,
        (Location::Query, None) => ErrorCode::AuthorizationQueryParametersError,
        (Location::Header, Some(_)) if date[..8] != scope_day => {
            ErrorCode::AuthorizationHeaderMalformed
        }
        (Location::Query, Some(_)) if date[..8] != scope_day => {
            ErrorCode::AuthorizationQueryParametersError
        }
        (Location::Header, Some(t)) if (now - t).abs() > 900 => ErrorCode::RequestTimeTooSkewed,
        (Location::Query, Some(t)) if now < t - 900 || now > t + input.expires => {
            ErrorCode::AccessDenied
        }
        _ => ErrorCode::SignatureDoesNotMatch,
    };
    (wire, code)
}

fn mutate_body(signed: &Wire, pick: Index) -> Option<Wire> {
    if signed.body.is_empty() {
        return None;
    }
    let mut wire = signed.clone();
    let at = pick.index(wire.body.len());
    wire.body[at] ^= 1 + pick.index(255) as u8;
    Some(wire)
}

/// What a changed body deserves: nothing when the payload is unsigned; a
/// mismatch with a declared `x-amz-content-sha256`; otherwise a signature
/// that no longer matches.
fn body_verdict(input: &Input, flavour: Flavour, location: Location) -> Verdict {
    match (location, input.payload, flavour) {
        (Location::Header, HeaderPayload::Unsigned, _) => Ok(()),
        (Location::Header, HeaderPayload::HashHeader, _) => {
            Err(ErrorCode::XAmzContentSHA256Mismatch)
        }
        (Location::Header, HeaderPayload::Hash, _) => Err(ErrorCode::SignatureDoesNotMatch),
        (Location::Query, _, Flavour::S3) => Ok(()),
        (Location::Query, _, Flavour::Other) => Err(ErrorCode::SignatureDoesNotMatch),
    }
}

/// Byte offsets of the ASCII letters in `wire` that stand for themselves
/// (not the hex digits of a `%XX` escape).
fn letter_positions(wire: &str) -> Vec<usize> {
    let bytes = wire.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            i += 3;
            continue;
        }
        if bytes[i].is_ascii_alphabetic() {
            out.push(i);
        }
        i += 1;
    }
    out
}

/// Another letter of the same case.
fn other_letter(letter: u8, pick: Index) -> u8 {
    let base = if letter.is_ascii_uppercase() {
        b'A'
    } else {
        b'a'
    };
    base + (letter - base + 1 + pick.index(25) as u8) % 26
}

fn replace_byte(text: &str, at: usize, byte: u8) -> String {
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = byte;
    String::from_utf8(bytes).unwrap()
}

fn capitalize(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or(String::new(), |c| {
                c.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Unix seconds of a `YYYYMMDDTHHMMSSZ` value, if it names a real instant
/// (an oracle independent of `sigv4::amz_date`).
fn amz_unix(value: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| value[range].parse::<u32>().ok();
    let month = time::Month::try_from(number(4..6)? as u8).ok()?;
    let date = time::Date::from_calendar_date(number(0..4)? as i32, month, number(6..8)? as u8);
    let clock = time::Time::from_hms(
        number(9..11)? as u8,
        number(11..13)? as u8,
        number(13..15)? as u8,
    );
    Some(
        date.ok()?
            .with_time(clock.ok()?)
            .assume_utc()
            .unix_timestamp(),
    )
}

/// Percent-encode `text` for the wire: unreserved characters stay, a
/// character in `raw_ok` stays when `raw[i]` says so, everything else becomes
/// `%XX` (lower-case hex when `lower[i]` says so).
fn wire_encode(text: &str, raw_ok: &str, raw: &[bool], lower: &[bool]) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        let flip = |v: &[bool]| v.get(i % v.len().max(1)).copied().unwrap_or(false);
        if c.is_ascii_alphanumeric() || "-._~".contains(c) || (raw_ok.contains(c) && flip(raw)) {
            out.push(c);
            continue;
        }
        let mut buf = [0u8; 4];
        for b in c.encode_utf8(&mut buf).bytes() {
            if flip(lower) {
                out.push_str(&format!("%{b:02x}"));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

fn input(flavour: Flavour) -> impl Strategy<Value = Input> {
    let request = (
        prop::sample::select(vec!["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH"]),
        prop::collection::vec(segment(flavour), 1..6),
        prop::collection::vec(query_param(), 0..6),
        prop::collection::vec(header(), 0..5),
        prop::option::of("[ -~]{1,12}"),
        prop::sample::select(vec!["example.amazonaws.com", "example.amazonaws.com:8443"]),
        prop_oneof![1 => Just(Vec::new()), 3 => prop::collection::vec(any::<u8>(), 1..48)],
        any::<bool>(),
    );
    let signing = (
        1_420_070_400i64..2_000_000_000,
        -900i64..=900,
        1i64..=604_800,
        prop::option::of("[A-Za-z0-9+/=]{8,40}"),
        prop_oneof![
            Just(HeaderPayload::Hash),
            Just(HeaderPayload::HashHeader),
            Just(HeaderPayload::Unsigned)
        ],
        any::<[Index; 8]>(),
    );
    (request, signing).prop_map(
        |(
            (method, segments, query, headers, user_agent, host, body, capitalize),
            (time, skew, expires, token, payload, picks),
        )| Input {
            method,
            segments,
            query,
            headers,
            user_agent,
            host,
            body,
            capitalize,
            time,
            skew,
            expires,
            token,
            payload,
            picks,
        },
    )
}

/// One path segment as sent: a word, a dot segment or an empty segment.
fn segment(flavour: Flavour) -> impl Strategy<Value = String> {
    // Under S3's rules `/` inside a segment, raw reserved characters and
    // lower-case hex are left out: see the module doc.
    let chars = match flavour {
        Flavour::S3 => "[a-zA-Z0-9\\-._~:@!$&'()*+,;= %?#éሴ😀]",
        Flavour::Other => "[a-zA-Z0-9\\-._~:@!$&'()*+,;= %?#/éሴ😀]",
    };
    let word = (
        prop::string::string_regex(&format!("{chars}{{1,8}}")).unwrap(),
        prop::collection::vec(any::<bool>(), 1..8),
        prop::collection::vec(any::<bool>(), 1..8),
    )
        .prop_map(move |(text, raw, lower)| match flavour {
            Flavour::S3 => wire_encode(&text, "", &[], &[]),
            Flavour::Other => wire_encode(&text, RAW_IN_PATH, &raw, &lower),
        });
    prop_oneof![
        6 => word,
        1 => Just(".".to_string()),
        1 => Just("..".to_string()),
        1 => Just(String::new()),
    ]
}

/// One query parameter as sent. Names come from a small pool so that they
/// repeat, and may be empty; values may be empty or absent (`name` without
/// `=`), and may hold a raw `=` after the first.
fn query_param() -> impl Strategy<Value = (String, Option<String>)> {
    let name = prop_oneof![
        6 => prop::sample::select(vec!["a", "b", "A", "Param", "a b", "é", "k+1", "x=y"])
            .prop_map(str::to_string),
        2 => "[a-zA-Z0-9\\-._~ +&=%:@!$'()*,;/?#éሴ]{1,6}",
        1 => Just(String::new()),
    ];
    let value = prop::option::of("[a-zA-Z0-9\\-._~ +&=%:@!$'()*,;/?#éሴ]{0,8}");
    let spelling = (
        prop::collection::vec(any::<bool>(), 1..8),
        prop::collection::vec(any::<bool>(), 1..8),
    );
    (name, value, spelling).prop_map(|(name, value, (raw, lower))| {
        let name = wire_encode(&name, RAW_IN_QUERY, &raw, &lower);
        let value = value.map(|v| wire_encode(&v, RAW_IN_QUERY_VALUE, &raw, &lower));
        (name, value)
    })
}

/// One `x-test-*` header: names repeat; values have inner runs of spaces and
/// tabs, non-ASCII characters, and spaces (never tabs) around them, since
/// HTTP strips both but `aws-sigv4` trims only spaces.
fn header() -> impl Strategy<Value = (String, String)> {
    let name = prop::sample::select(vec!["x-test-a", "x-test-b", "x-test-c"]);
    let visible = "[!-~éü€]{1,4}";
    let gap = prop::sample::select(vec!["", " ", "  ", "    ", "\t", " \t "]);
    let core = (visible, prop::collection::vec((gap, visible), 0..4)).prop_map(|(first, rest)| {
        rest.into_iter()
            .fold(first, |acc, (gap, word)| acc + gap + &word)
    });
    let value = prop_oneof![1 => Just(String::new()), 6 => core];
    (name, value, 0usize..3, 0usize..3).prop_map(|(name, value, lead, trail)| {
        let value = format!("{}{value}{}", " ".repeat(lead), " ".repeat(trail));
        (name.to_string(), value)
    })
}
