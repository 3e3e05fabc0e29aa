//! The diagnosis behind `sigstorm verify`: the verdict with AWS's code, every
//! intermediate (canonical request, string to sign, computed and provided
//! signatures) even when an earlier check refused the request, and, for a
//! `SignatureDoesNotMatch`, the single difference that would explain it.
//!
//! A mismatch is explained by recomputing the signature under the mistakes
//! signers commonly make (the other path rule, the path or query as sent, an
//! unnormalized header value, `Host` with or without its port, only one of
//! duplicate headers, another payload hash, a key derived for another date)
//! and reporting the variants that reproduce the provided signature. When the
//! client's own canonical request is at hand, the first differing line is named.

use serde::Serialize;

use super::amz_date::AmzDate;
use super::auth::{self, AuthParams, Credential};
use super::canonical::{PathRule, Rules};
use super::crypto::{Backend, Crypto, Ring, RustCrypto, SecretAccessKey, SigningKey};
use super::http::Request;
use super::verify::{self, build, payload_hash, request_date, Context};
use super::{ErrorCode, Rejection, ALGORITHM, EMPTY_SHA256_HEX, UNSIGNED_PAYLOAD};

/// `accepted` or `rejected`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The signature verified and every rule passed.
    Accepted,
    /// The request was refused; `code` says why.
    Rejected,
}

/// What `sigstorm verify` prints, as JSON.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `accepted` or `rejected`.
    pub verdict: Verdict,
    /// AWS's error code when rejected.
    pub code: Option<ErrorCode>,
    /// A sentence saying what happened.
    pub message: String,
    /// The canonical request the verifier computed.
    pub canonical_request: Option<String>,
    /// The string to sign the verifier computed.
    pub string_to_sign: Option<String>,
    /// The signature the verifier computed with the given secret.
    pub signature: Option<String>,
    /// The signature the request carries.
    pub provided_signature: Option<String>,
    /// Likely explanations of a mismatch, most specific first.
    pub hints: Vec<String>,
}

/// What the person running `verify` knows: the key pair and, optionally, the
/// canonical request their client logged.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'e> {
    /// The access key id the request should name.
    pub access_key_id: &'e str,
    /// Its secret.
    pub secret: &'e SecretAccessKey,
    /// The session token of temporary credentials.
    pub session_token: Option<&'e str>,
    /// The crypto backend.
    pub backend: Backend,
    /// The canonical request the client logged, to diff against.
    pub canonical_request: Option<&'e str>,
}

/// Verify `request` against `expected` and explain the outcome.
pub fn diagnose(request: &Request<'_>, ctx: &Context<'_>, expected: &Expected<'_>) -> Report {
    let outcome = match expected.backend {
        Backend::Ring => verify_with::<Ring>(request, ctx, expected),
        Backend::RustCrypto => verify_with::<RustCrypto>(request, ctx, expected),
    };
    let mut report = Report {
        verdict: if outcome.is_ok() {
            Verdict::Accepted
        } else {
            Verdict::Rejected
        },
        code: outcome.err().map(|r| r.code),
        message: match outcome {
            Ok(()) => "the signature matches and every SigV4 rule passed".to_string(),
            Err(r) => r.reason.to_string(),
        },
        canonical_request: None,
        string_to_sign: None,
        signature: None,
        provided_signature: None,
        hints: Vec::new(),
    };
    let Ok(params) = auth::read(request) else {
        return report;
    };
    report.provided_signature = Some(params.signature().to_string());
    let Some(recomputed) = Recompute::new(request, &params, ctx, expected) else {
        return report;
    };
    let creq = recomputed.canonical.clone();
    report.string_to_sign = Some(recomputed.string_to_sign(&creq));
    report.signature = Some(recomputed.signature(&creq, None));
    report.canonical_request = Some(creq);

    if report.code == Some(ErrorCode::SignatureDoesNotMatch) {
        report.hints = match (expected.canonical_request, &report.canonical_request) {
            // The client's canonical request names the difference itself.
            (Some(client), Some(ours)) => diff_canonical(ours, client).into_iter().collect(),
            _ => recomputed.explain_mismatch(params.signature()),
        };
    } else if let Some(code) = report.code {
        let matches = report.signature == report.provided_signature;
        report.hints = context_hints(code, request, &params, ctx, recomputed.date, matches);
    }
    report
}

/// Hints for refusals other than a mismatch: the values the rule compared.
fn context_hints(
    code: ErrorCode,
    request: &Request<'_>,
    params: &AuthParams<'_>,
    ctx: &Context<'_>,
    date: AmzDate,
    signature_matches: bool,
) -> Vec<String> {
    let mut hints = Vec::new();
    let signed_at = date.unix().unwrap_or(0);
    let now = AmzDate::from_unix(ctx.now);
    match code {
        ErrorCode::RequestTimeTooSkewed => hints.push(format!(
            "the request was signed at {} and the verifier's clock reads {}: {} apart, more than \
             the 15 minutes allowed; pass --now {} to check the signature at its own time",
            date.as_str(),
            now.as_str(),
            human_seconds(ctx.now.abs_diff(signed_at)),
            date.as_str()
        )),
        ErrorCode::AccessDenied if params.expires().is_some() => {
            let expires: i64 = params.expires().and_then(|e| e.parse().ok()).unwrap_or(0);
            hints.push(format!(
                "the presigned URL was signed at {} for {expires} s, so it is valid from {} to {}; \
                 the verifier's clock reads {}",
                date.as_str(),
                AmzDate::from_unix(signed_at - super::MAX_SKEW_SECS).as_str(),
                AmzDate::from_unix(signed_at.saturating_add(expires)).as_str(),
                now.as_str()
            ));
        }
        ErrorCode::AccessDenied => {
            let signed = params.signed_headers();
            let unsigned: Vec<&str> = request
                .headers
                .iter()
                .map(|h| h.name)
                .filter(|n| n.len() >= 6 && n.as_bytes()[..6].eq_ignore_ascii_case(b"x-amz-"))
                .filter(|n| !n.eq_ignore_ascii_case("x-amz-content-sha256"))
                .filter(|n| !signed.split(';').any(|s| s.eq_ignore_ascii_case(n)))
                .collect();
            if !unsigned.is_empty() {
                hints.push(format!(
                    "present but not in SignedHeaders ({signed}): {}",
                    unsigned.join(", ")
                ));
            }
        }
        ErrorCode::AuthorizationHeaderMalformed | ErrorCode::AuthorizationQueryParametersError => {
            if let Ok(cred) = Credential::parse(params.credential(), params.location) {
                hints.push(format!(
                    "the credential scope names date {}, region '{}', service '{}'; the verifier \
                     expects region '{}', service '{}', and the date of X-Amz-Date ({})",
                    cred.date,
                    cred.region,
                    cred.service,
                    ctx.region.unwrap_or(cred.region),
                    ctx.service.unwrap_or(cred.service),
                    date.date()
                ));
            }
        }
        _ => {}
    }
    if signature_matches && code != ErrorCode::InvalidAccessKeyId {
        hints.push("the signature itself matches: only the rule above refused the request".into());
    }
    hints
}

/// Seconds for people: `42 s`, `20 min 5 s`, `3 h 2 min`, `2 d 4 h`.
fn human_seconds(s: u64) -> String {
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86_399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

fn verify_with<C: Crypto>(
    request: &Request<'_>,
    ctx: &Context<'_>,
    expected: &Expected<'_>,
) -> Result<(), Rejection> {
    verify::verify::<C>(request, ctx, &mut Vec::new(), |cred, token| {
        if cred.access_key_id != expected.access_key_id {
            return Err(Rejection::new(
                ErrorCode::InvalidAccessKeyId,
                "the request names another access key id than the one given",
            ));
        }
        match (token, expected.session_token) {
            (Some(a), Some(b)) if a != b => Err(Rejection::new(
                ErrorCode::InvalidClientTokenId,
                "the request's session token differs from the one given",
            )),
            (Some(_), None) => Err(Rejection::new(
                ErrorCode::InvalidClientTokenId,
                "the request carries a session token, but the credentials given have none",
            )),
            (None, Some(_)) => Err(Rejection::new(
                ErrorCode::InvalidClientTokenId,
                "temporary credentials need their session token in the request",
            )),
            _ => Ok(expected.backend.full_signing_key(
                expected.secret,
                cred.date,
                cred.region,
                cred.service,
            )),
        }
    })
    .map(|_| ())
}

/// Everything needed to recompute the signature under variations.
struct Recompute<'q, 'a, 'e> {
    request: &'q Request<'a>,
    backend: Backend,
    date: AmzDate,
    scope: String,
    key: SigningKey,
    secret: &'e SecretAccessKey,
    credential: (String, String, String),
    rules: Rules,
    payload_hash: String,
    canonical: String,
}

impl<'q, 'a, 'e> Recompute<'q, 'a, 'e> {
    fn new(
        request: &'q Request<'a>,
        params: &AuthParams<'_>,
        ctx: &Context<'_>,
        expected: &Expected<'e>,
    ) -> Option<Recompute<'q, 'a, 'e>> {
        let cred = Credential::parse(params.credential(), params.location).ok()?;
        let date = request_date(request, params).ok()?;
        let rules = ctx
            .rules
            .unwrap_or_else(|| Rules::for_service(cred.service));
        let mut body_hex = [0u8; 64];
        let payload = match payload_hash::<Ring>(request, params.location, rules, &mut body_hex) {
            Ok(p) => p.to_string(),
            Err(_) => request
                .header("x-amz-content-sha256")
                .unwrap_or_default()
                .to_string(),
        };
        let mut scratch = Vec::new();
        build::<Ring>(request, params, rules, date, &payload, &mut scratch).ok()?;
        let key = expected.backend.full_signing_key(
            expected.secret,
            cred.date,
            cred.region,
            cred.service,
        );
        Some(Recompute {
            request,
            backend: expected.backend,
            date,
            scope: Credential::scope_of(params.credential()).to_string(),
            key,
            secret: expected.secret,
            credential: (
                cred.date.to_string(),
                cred.region.to_string(),
                cred.service.to_string(),
            ),
            rules,
            payload_hash: payload,
            canonical: String::from_utf8_lossy(&scratch).into_owned(),
        })
    }

    fn string_to_sign(&self, creq: &str) -> String {
        let digest = hex::encode(self.backend.sha256(creq.as_bytes()));
        format!(
            "{ALGORITHM}\n{}\n{}\n{digest}",
            self.date.as_str(),
            self.scope
        )
    }

    fn signature(&self, creq: &str, key: Option<&SigningKey>) -> String {
        let sts = self.string_to_sign(creq);
        hex::encode(
            self.backend
                .hmac(&key.unwrap_or(&self.key).0, &[sts.as_bytes()]),
        )
    }

    /// Variants of the canonical request (and key) that signers produce by
    /// mistake, each with a sentence saying what the signer did.
    fn variants(&self) -> Vec<(String, String, Option<SigningKey>)> {
        let lines: Vec<&str> = self.canonical.split('\n').collect();
        let with_line = |i: usize, text: &str| {
            let mut l = lines.clone();
            l[i] = text;
            l.join("\n")
        };
        let mut out = Vec::new();

        let other_rule = match self.rules.path {
            PathRule::S3 => PathRule::Normalized,
            PathRule::Normalized => PathRule::S3,
        };
        let mut path = Vec::new();
        super::canonical::write_path(&mut path, self.request.path, other_rule);
        let rule_name = match other_rule {
            PathRule::S3 => "S3's path rule (decoded and encoded once, not normalized)",
            PathRule::Normalized => "the non-S3 path rule (normalized, then encoded again)",
        };
        out.push((
            format!(
                "the signer canonicalized the path with {rule_name}: it signed '{}'",
                String::from_utf8_lossy(&path)
            ),
            with_line(1, &String::from_utf8_lossy(&path)),
            None,
        ));
        out.push((
            format!(
                "the signer used the path exactly as sent ('{}') without encoding it",
                self.request.path
            ),
            with_line(
                1,
                if self.request.path.is_empty() {
                    "/"
                } else {
                    self.request.path
                },
            ),
            None,
        ));

        let raw_query = self.request.query.unwrap_or("");
        out.push((
            "the signer put the query string in as sent, without sorting or re-encoding it"
                .to_string(),
            with_line(2, raw_query),
            None,
        ));
        let plus_as_space = raw_query.replace('+', "%20");
        let mut q = Vec::new();
        super::canonical::write_query(&mut q, &plus_as_space, true);
        out.push((
            "the signer treated '+' in the query as a space (form encoding)".to_string(),
            with_line(2, &String::from_utf8_lossy(&q)),
            None,
        ));

        self.header_variants(&lines, &mut out);

        let payload_line = lines.len() - 1;
        let body_hash = if self.request.body.is_empty() {
            EMPTY_SHA256_HEX.to_string()
        } else {
            hex::encode(self.backend.sha256(self.request.body))
        };
        for (hash, what) in [
            (UNSIGNED_PAYLOAD.to_string(), "UNSIGNED-PAYLOAD".to_string()),
            (body_hash, "the SHA-256 of the body as received".to_string()),
            (
                EMPTY_SHA256_HEX.to_string(),
                "the SHA-256 of an empty body".to_string(),
            ),
        ] {
            if hash != self.payload_hash {
                out.push((
                    format!(
                        "the signer used {what} as the payload hash instead of '{}'",
                        self.payload_hash
                    ),
                    with_line(payload_line, &hash),
                    None,
                ));
            }
        }

        let (date, region, service) = &self.credential;
        if let Some(t) = AmzDate::parse(&format!("{date}T000000Z")).and_then(|d| d.unix()) {
            for delta in [-86_400, 86_400] {
                let other = AmzDate::from_unix(t + delta);
                let key = self
                    .backend
                    .full_signing_key(self.secret, other.date(), region, service);
                out.push((
                    format!(
                        "the signer derived its key for {} (its own clock's date?) while the scope says {date}",
                        other.date()
                    ),
                    self.canonical.clone(),
                    Some(key),
                ));
            }
        }
        out
    }

    fn header_variants(&self, lines: &[&str], out: &mut Vec<(String, String, Option<SigningKey>)>) {
        let header_end = lines
            .iter()
            .skip(3)
            .position(|l| l.is_empty())
            .map_or(3, |i| i + 3);
        for i in 3..header_end {
            let Some((name, _)) = lines[i].split_once(':') else {
                continue;
            };
            let values: Vec<&str> = self.request.header_values(name).collect();
            let mut alternatives: Vec<(String, String)> = Vec::new();
            let raw_joined = values.join(",");
            alternatives.push((
                raw_joined,
                format!("did not trim or fold whitespace in the {name} header"),
            ));
            if values.len() > 1 {
                alternatives.push((
                    normalize(values[0]),
                    format!("saw only the first of the {} {name} headers", values.len()),
                ));
                alternatives.push((
                    normalize(values[values.len() - 1]),
                    format!("saw only the last of the {} {name} headers", values.len()),
                ));
            }
            if name == "host" {
                let host = normalize(values.first().copied().unwrap_or(""));
                match host.rsplit_once(':') {
                    Some((h, _)) => alternatives.push((
                        h.to_string(),
                        format!("saw Host without its port, as '{h}'"),
                    )),
                    None => {
                        for port in [443, 80] {
                            alternatives.push((
                                format!("{host}:{port}"),
                                format!("saw Host with port {port}"),
                            ));
                        }
                    }
                }
            }
            for (value, what) in alternatives {
                let line = format!("{name}:{value}");
                if line == lines[i] {
                    continue;
                }
                let mut l = lines.to_vec();
                l[i] = &line;
                out.push((format!("the signer {what}"), l.join("\n"), None));
            }
        }
    }

    fn explain_mismatch(&self, provided: &str) -> Vec<String> {
        let lower = provided.to_ascii_lowercase();
        if lower != provided && lower == self.signature(&self.canonical, None) {
            return vec![
                "the signature is right but written in upper-case hex: SigV4 signatures are \
                 lower-case hex, and AWS refuses any other spelling"
                    .to_string(),
            ];
        }
        let provided = lower;
        let mut hints: Vec<String> = self
            .variants()
            .into_iter()
            .filter(|(_, creq, key)| self.signature(creq, key.as_ref()) == provided)
            .map(|(what, _, _)| what)
            .collect();
        if hints.is_empty() {
            hints.push(
                "no single common difference reproduces the provided signature: most often the \
                 secret access key differs from the signer's, or the request was changed after \
                 signing; compare the canonical_request above with the one your client logged \
                 (pass it with --canonical-request FILE to see the first differing line)"
                    .to_string(),
            );
        }
        hints
    }
}

fn normalize(value: &str) -> String {
    let mut out = Vec::new();
    super::canonical::write_header_value(&mut out, value);
    String::from_utf8_lossy(&out).into_owned()
}

/// Name the first line where the verifier's canonical request differs from
/// the client's, by its role in the canonical request.
pub fn diff_canonical(ours: &str, theirs: &str) -> Option<String> {
    let theirs = theirs.replace("\r\n", "\n");
    let theirs = theirs.trim_end_matches('\n');
    if ours == theirs {
        return Some("the client's canonical request is identical to the verifier's: the key differs (secret, date, region or service in the derivation)".to_string());
    }
    let a: Vec<&str> = ours.split('\n').collect();
    let b: Vec<&str> = theirs.split('\n').collect();
    let header_end = a
        .iter()
        .skip(3)
        .position(|l| l.is_empty())
        .map_or(a.len(), |i| i + 3);
    let i = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))?;
    let role = match i {
        0 => "the method".to_string(),
        1 => "the canonical path".to_string(),
        2 => "the canonical query".to_string(),
        i if i < header_end => {
            let name = a[i].split_once(':').map_or(a[i], |(n, _)| n);
            format!("the canonical header '{name}'")
        }
        i if i == header_end => {
            "the blank line after the headers (a different set of headers)".to_string()
        }
        i if i == header_end + 1 => "the SignedHeaders list".to_string(),
        _ => "the payload hash".to_string(),
    };
    Some(format!(
        "line {} ({role}) differs: the verifier has '{}', the client had '{}'",
        i + 1,
        a.get(i).copied().unwrap_or("<nothing>"),
        b.get(i).copied().unwrap_or("<nothing>")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::sign::{sign, Credentials, Options, Payload};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const NOW: i64 = 1_440_938_160;

    fn signed(raw: &[u8], service: &str) -> Vec<u8> {
        let secret = SecretAccessKey::new(SECRET).unwrap();
        let request = Request::parse(raw).unwrap();
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE",
            secret: &secret,
            session_token: None,
        };
        let opts = Options {
            region: "us-east-1",
            service,
            time: NOW,
            rules: Rules::for_service(service),
            payload: Payload::Hash,
            presign: None,
            backend: Backend::Ring,
        };
        sign(&request, raw, &creds, &opts).unwrap().request
    }

    fn diagnose_raw(raw: &[u8], rules: Option<Rules>) -> Report {
        let secret = SecretAccessKey::new(SECRET).unwrap();
        let request = Request::parse(raw).unwrap();
        let ctx = Context {
            rules,
            ..Context::at(NOW)
        };
        let expected = Expected {
            access_key_id: "AKIDEXAMPLE",
            secret: &secret,
            session_token: None,
            backend: Backend::Ring,
            canonical_request: None,
        };
        diagnose(&request, &ctx, &expected)
    }

    #[test]
    fn accepted_request_reports_every_intermediate() {
        let raw = signed(b"GET /a HTTP/1.1\nHost: example.com\n", "service");
        let report = diagnose_raw(&raw, None);
        assert_eq!(report.verdict, Verdict::Accepted);
        assert_eq!(report.signature, report.provided_signature);
        assert!(report.canonical_request.unwrap().starts_with("GET\n/a\n"));
    }

    #[test]
    fn path_rule_mismatch_is_named() {
        // Signed with S3's rules, verified with the non-S3 rule.
        let raw = signed(b"GET /a/./b%3A HTTP/1.1\nHost: example.com\n", "s3");
        let rules = Rules::for_service("service");
        let report = diagnose_raw(&raw, Some(rules));
        assert_eq!(report.code, Some(ErrorCode::SignatureDoesNotMatch));
        assert!(
            report.hints[0].contains("S3's path rule"),
            "{:?}",
            report.hints
        );
    }

    #[test]
    fn host_port_change_is_named() {
        let raw = signed(b"GET / HTTP/1.1\nHost: example.com\n", "service");
        let moved = String::from_utf8(raw)
            .unwrap()
            .replace("Host: example.com", "Host: example.com:443");
        let report = diagnose_raw(moved.as_bytes(), None);
        assert_eq!(report.code, Some(ErrorCode::SignatureDoesNotMatch));
        assert!(
            report
                .hints
                .iter()
                .any(|h| h.contains("Host without its port")),
            "{:?}",
            report.hints
        );
    }

    #[test]
    fn unexplained_mismatch_says_so() {
        let raw = signed(b"GET / HTTP/1.1\nHost: example.com\n", "service");
        let mut t = raw;
        // The signature ends the Authorization line; change its last hex digit.
        let at = t.iter().rposition(u8::is_ascii_hexdigit).unwrap();
        t[at] = if t[at] == b'a' { b'b' } else { b'a' };
        let report = diagnose_raw(&t, None);
        assert_eq!(report.code, Some(ErrorCode::SignatureDoesNotMatch));
        assert!(report.hints[0].starts_with("no single common difference"));
    }

    #[test]
    fn refusals_by_rule_name_the_values_compared() {
        let raw = signed(b"GET / HTTP/1.1\nHost: example.com\n", "service");
        let secret = SecretAccessKey::new(SECRET).unwrap();
        let request = Request::parse(&raw).unwrap();
        let expected = Expected {
            access_key_id: "AKIDEXAMPLE",
            secret: &secret,
            session_token: None,
            backend: Backend::Ring,
            canonical_request: None,
        };
        let late = diagnose(&request, &Context::at(NOW + 3600), &expected);
        assert_eq!(late.code, Some(ErrorCode::RequestTimeTooSkewed));
        assert!(
            late.hints[0].contains("1 h 0 min apart"),
            "{:?}",
            late.hints
        );
        assert!(
            late.hints[0].contains("--now 20150830T123600Z"),
            "{:?}",
            late.hints
        );
        assert!(late.hints[1].starts_with("the signature itself matches"));
        let elsewhere = Context {
            region: Some("eu-north-1"),
            ..Context::at(NOW)
        };
        let moved = diagnose(&request, &elsewhere, &expected);
        assert_eq!(moved.code, Some(ErrorCode::AuthorizationHeaderMalformed));
        assert!(
            moved.hints[0].contains("region 'us-east-1'")
                && moved.hints[0].contains("expects region 'eu-north-1'")
        );
    }

    #[test]
    fn canonical_diff_names_the_line() {
        let ours = "GET\n/\n\nhost:a\nx-amz-date:1\n\nhost;x-amz-date\nabc";
        let theirs = "GET\n/\n\nhost:b\nx-amz-date:1\n\nhost;x-amz-date\nabc\n";
        let diff = diff_canonical(ours, theirs).unwrap();
        assert!(
            diff.starts_with("line 4 (the canonical header 'host')"),
            "{diff}"
        );
        let diff = diff_canonical(ours, &ours.replace("abc", "def")).unwrap();
        assert!(diff.contains("the payload hash"), "{diff}");
    }
}
