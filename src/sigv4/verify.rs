//! Verifying a SigV4-signed request, in two stages so that the signing key can
//! come from anywhere: [`prepare`] does every check that needs no key (form,
//! scope, clock, signed-header rules, payload hash) and builds the string to
//! sign; [`Prepared::check`] computes the signature with a signing key and
//! compares it in constant time. The data planes fetch the key between the two
//! stages according to their strategy (`crate::data_plane`).
//!
//! Rules that real verifiers have got wrong, enforced here:
//! - the signing key comes from the date in the credential scope, never from
//!   the verifier's clock, and that date must equal the date of `X-Amz-Date`;
//! - header auth allows ±15 minutes of skew around the verifier's clock;
//!   presigned URLs are valid from 15 minutes before their date until
//!   `X-Amz-Expires` (at most 7 days) after it;
//! - `host` must be signed, and an `x-amz-*` header that is present but not
//!   signed is refused (except `x-amz-content-sha256`);
//! - a declared `x-amz-content-sha256` must match the body.

use smallvec::SmallVec;
use subtle::ConstantTimeEq;

use super::amz_date::{parse_http_date, AmzDate};
use super::auth::{self, AuthParams, Credential, CredentialSpans, Location, SigHeaders};
use super::canonical::{
    self, match_headers, split_signed_names, Matched, Parts, Rules, SignedNames,
};
use super::crypto::{Crypto, PrekeyedKey, SigningKey};
use super::encode::{decode_lower_hex_32, is_lower_hex_64, lower_hex_32, lower_hex_32_into};
use super::http::Request;
use super::scan::{eq_bytes, eq_ignore_ascii_case};
use super::{
    ErrorCode, Rejection, ALGORITHM, EMPTY_SHA256_HEX, MAX_PRESIGN_EXPIRES_SECS, MAX_SKEW_SECS,
    UNSIGNED_PAYLOAD,
};

/// What the verifier knows besides the request.
#[derive(Clone, Copy, Debug)]
pub struct Context<'c> {
    /// The verifier's clock, Unix seconds.
    pub now: i64,
    /// The endpoint's region; a scope naming another is refused.
    pub region: Option<&'c str>,
    /// The endpoint's signing name; a scope naming another is refused.
    pub service: Option<&'c str>,
    /// Canonicalization rules; `None` picks them from the scope's service.
    pub rules: Option<Rules>,
}

impl<'c> Context<'c> {
    /// A context that accepts any region and service, at time `now`.
    pub fn at(now: i64) -> Context<'static> {
        Context {
            now,
            region: None,
            service: None,
            rules: None,
        }
    }
}

/// A request that passed every check that needs no key.
///
/// The string to sign is kept as the parts it is made of (the fixed
/// opening, the scope inside the credential, the canonical request's hash)
/// and fed to the HMAC part by part: nothing is assembled or copied to
/// check a signature, and the value stays small to move.
#[derive(Clone, Debug)]
pub struct Prepared<'a> {
    /// The signature parameters.
    pub params: AuthParams<'a>,
    /// The request's `X-Amz-Date` (or `Date`).
    pub date: AmzDate,
    /// `\n` and the lower-case hex SHA-256 of the canonical request: the
    /// string to sign's last line.
    closing: [u8; 65],
    /// The signature the request carries.
    pub provided: [u8; 32],
    /// Where the parts of `params`' credential lie, found by [`prepare`].
    credential: CredentialSpans,
}

impl Prepared<'_> {
    /// The credential scope's parts (validated by [`prepare`], not parsed
    /// again).
    pub fn credential(&self) -> Credential<'_> {
        self.credential.of(self.params.credential())
    }

    /// The credential scope, `date/region/service/aws4_request`.
    fn scope(&self) -> &str {
        self.credential.scope_of(self.params.credential())
    }

    /// The session token, if the request carries one.
    pub fn security_token(&self) -> Option<&str> {
        self.params.security_token()
    }

    /// `AWS4-HMAC-SHA256\n<date>\n`: the string to sign's first two lines.
    fn opening(&self) -> [u8; OPENING_LEN] {
        opening(self.date)
    }

    /// The string to sign, assembled (for diagnosis; verification feeds its
    /// parts to the HMAC instead).
    pub fn string_to_sign(&self) -> String {
        let scope = self.scope();
        let mut sts = Vec::with_capacity(OPENING_LEN + scope.len() + self.closing.len());
        sts.extend_from_slice(&self.opening());
        sts.extend_from_slice(scope.as_bytes());
        sts.extend_from_slice(&self.closing);
        // Every part is ASCII: the opening and the hex by construction, the
        // scope as a slice of a `str`.
        String::from_utf8(sts).unwrap_or_default()
    }

    /// The signature the string to sign has under `key`.
    pub fn signature_with<C: Crypto>(&self, key: &SigningKey) -> [u8; 32] {
        let opening = self.opening();
        let scope = self.scope();
        C::hmac(&key.0, &[&opening, scope.as_bytes(), &self.closing])
    }

    /// Compare the provided signature with the one a pre-keyed signing key
    /// gives, in constant time.
    ///
    /// # Errors
    ///
    /// `SignatureDoesNotMatch` when they differ.
    pub fn check_prekeyed(&self, key: &PrekeyedKey) -> Result<(), Rejection> {
        let opening = self.opening();
        let scope = self.scope();
        compare(
            &key.sign(&[&opening, scope.as_bytes(), &self.closing]),
            &self.provided,
        )
    }

    /// Compare the provided signature with the one `key` gives, in constant time.
    ///
    /// # Errors
    ///
    /// `SignatureDoesNotMatch` when they differ.
    pub fn check<C: Crypto>(&self, key: &SigningKey) -> Result<(), Rejection> {
        compare(&self.signature_with::<C>(key), &self.provided)
    }
}

/// Bytes of `AWS4-HMAC-SHA256\n<16-byte date>\n`.
const OPENING_LEN: usize = ALGORITHM.len() + 1 + 16 + 1;

/// The string to sign's first two lines for `date`.
fn opening(date: AmzDate) -> [u8; OPENING_LEN] {
    let mut opening = [b'\n'; OPENING_LEN];
    opening[..ALGORITHM.len()].copy_from_slice(ALGORITHM.as_bytes());
    opening[ALGORITHM.len() + 1..][..16].copy_from_slice(date.bytes());
    opening
}

/// `\n` and the lower-case hex SHA-256 of `canonical_request`.
fn closing<C: Crypto>(canonical_request: &[u8]) -> [u8; 65] {
    let mut closing = [b'\n'; 65];
    closing[1..].copy_from_slice(&lower_hex_32(&C::sha256(canonical_request)));
    closing
}

/// [`closing`], letting the backend pad the canonical request in place.
fn closing_in_place<C: Crypto>(canonical_request: &mut Vec<u8>) -> [u8; 65] {
    let mut closing = [b'\n'; 65];
    let digest = C::sha256_in_place(canonical_request);
    if let Some(hex) = closing.last_chunk_mut::<64>() {
        lower_hex_32_into(&digest, hex);
    }
    closing
}

/// Constant-time comparison of a computed and a provided signature.
fn compare(computed: &[u8; 32], provided: &[u8; 32]) -> Result<(), Rejection> {
    // Four words instead of 32 bytes: `subtle` hides each from the optimizer
    // separately, and the comparison stays free of data-dependent branches.
    let words = |bytes: &[u8; 32]| -> [u64; 4] {
        let mut out = [0u64; 4];
        for (word, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(chunk);
            *word = u64::from_le_bytes(le);
        }
        out
    };
    if bool::from(words(computed)[..].ct_eq(&words(provided)[..])) {
        Ok(())
    } else {
        Err(Rejection::new(
            ErrorCode::SignatureDoesNotMatch,
            "the signature computed from the request differs from the one provided",
        ))
    }
}

/// Run every check that needs no key and build the string to sign.
/// `scratch` receives the canonical request (its capacity is reused).
///
/// # Errors
///
/// The first [`Rejection`] found, with AWS's code.
pub fn prepare<'a, C: Crypto>(
    request: &Request<'a>,
    ctx: &Context<'_>,
    scratch: &mut Vec<u8>,
) -> Result<Prepared<'a>, Rejection> {
    let found = SigHeaders::of(request);
    let params = auth::read_with(request, &found)?;
    let location = params.location;
    let spans = CredentialSpans::parse(params.credential(), location)?;
    let credential = spans.of(params.credential());
    check_scope(&credential, location, ctx)?;
    let (date, unix) = dated(&params, &found)?;
    if !eq_bytes(credential.date.as_bytes(), &date.bytes()[..8]) {
        return Err(Rejection::new(
            scope_code(location),
            "the credential scope's date is not the date of X-Amz-Date",
        ));
    }
    check_time(&params, unix, ctx.now)?;
    let mut names = SignedNames::new();
    split_signed_names(params.signed_headers(), &mut names);
    let mut matched = Matched::default();
    check_signed_headers(request, &names, &mut matched)?;
    let provided = decode_signature(params.signature())?;

    let rules = ctx
        .rules
        .unwrap_or_else(|| Rules::for_service(credential.service));
    let mut body_hex = [0u8; 64];
    let payload_hash = declared_or_body_hash::<C>(
        request,
        found.content_sha256,
        location,
        rules,
        &mut body_hex,
    )?;
    write_canonical(
        request,
        &params,
        &names,
        &matched,
        rules,
        payload_hash,
        scratch,
    )?;
    drop(names);
    Ok(Prepared {
        params,
        date,
        closing: closing_in_place::<C>(scratch),
        provided,
        credential: spans,
    })
}

/// Verify `request` completely, asking `key_for` for the signing key of its
/// credential (and session token) once every keyless check has passed.
///
/// # Errors
///
/// The first [`Rejection`] found, including any that `key_for` returns.
pub fn verify<'a, C: Crypto>(
    request: &Request<'a>,
    ctx: &Context<'_>,
    scratch: &mut Vec<u8>,
    key_for: impl FnOnce(&Credential<'_>, Option<&str>) -> Result<SigningKey, Rejection>,
) -> Result<Prepared<'a>, Rejection> {
    let prepared = prepare::<C>(request, ctx, scratch)?;
    let key = key_for(&prepared.credential(), prepared.security_token())?;
    prepared.check::<C>(&key)?;
    Ok(prepared)
}

/// Write the canonical request of `request` into `scratch` and return the
/// string to sign, with no checks beyond the signed headers being present.
///
/// # Errors
///
/// `SignatureDoesNotMatch` when `SignedHeaders` names an absent header.
pub fn build<C: Crypto>(
    request: &Request<'_>,
    params: &AuthParams<'_>,
    rules: Rules,
    date: AmzDate,
    payload_hash: &str,
    scratch: &mut Vec<u8>,
) -> Result<SmallVec<[u8; 192]>, Rejection> {
    let mut names = SignedNames::new();
    split_signed_names(params.signed_headers(), &mut names);
    let mut matched = Matched::default();
    match_headers(&request.headers, &names, &mut matched, |_| {
        Ok::<(), Rejection>(())
    })?;
    write_canonical(
        request,
        params,
        &names,
        &matched,
        rules,
        payload_hash,
        scratch,
    )?;
    Ok(string_to_sign::<C>(
        date,
        Credential::scope_of(params.credential()),
        scratch,
    ))
}

fn write_canonical<'r>(
    request: &'r Request<'_>,
    params: &'r AuthParams<'_>,
    names: &[&'r str],
    matched: &Matched,
    rules: Rules,
    payload_hash: &'r str,
    scratch: &mut Vec<u8>,
) -> Result<(), Rejection> {
    let parts = Parts {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: &request.headers,
        signed_headers: params.signed_headers(),
        payload_hash,
        skip_signature_param: params.location == Location::Query,
    };
    canonical::write_matched(scratch, &parts, names, matched, rules.path).map_err(|_| {
        Rejection::new(
            ErrorCode::SignatureDoesNotMatch,
            "SignedHeaders names a header that the request does not have",
        )
    })
}

/// Build `AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256(canonical request)>`.
pub fn string_to_sign<C: Crypto>(
    date: AmzDate,
    scope: &str,
    canonical_request: &[u8],
) -> SmallVec<[u8; 192]> {
    let mut sts = SmallVec::new();
    write_string_to_sign::<C>(&mut sts, date, scope, canonical_request);
    sts
}

/// [`string_to_sign`] written into `sts` (cleared first).
fn write_string_to_sign<C: Crypto>(
    sts: &mut SmallVec<[u8; 192]>,
    date: AmzDate,
    scope: &str,
    canonical_request: &[u8],
) {
    sts.clear();
    sts.extend_from_slice(&opening(date));
    sts.extend_from_slice(scope.as_bytes());
    sts.extend_from_slice(&closing::<C>(canonical_request));
}

fn scope_code(location: Location) -> ErrorCode {
    match location {
        Location::Header => ErrorCode::AuthorizationHeaderMalformed,
        Location::Query => ErrorCode::AuthorizationQueryParametersError,
    }
}

/// Refuse a scope naming another region or service than the endpoint's. A
/// presigned URL gets the query's code, as S3 answers it.
fn check_scope(
    credential: &Credential<'_>,
    location: Location,
    ctx: &Context<'_>,
) -> Result<(), Rejection> {
    if ctx
        .region
        .is_some_and(|r| !eq_bytes(r.as_bytes(), credential.region.as_bytes()))
    {
        return Err(Rejection::new(
            scope_code(location),
            "the credential scope names another region than this endpoint's",
        ));
    }
    if ctx
        .service
        .is_some_and(|s| !eq_bytes(s.as_bytes(), credential.service.as_bytes()))
    {
        return Err(Rejection::new(
            scope_code(location),
            "the credential scope names another service than this endpoint's",
        ));
    }
    Ok(())
}

pub(crate) fn request_date(
    request: &Request<'_>,
    params: &AuthParams<'_>,
) -> Result<AmzDate, Rejection> {
    dated(params, &SigHeaders::of(request)).map(|(date, _)| date)
}

/// The request's date and, where it names a real instant, its Unix seconds.
fn dated(
    params: &AuthParams<'_>,
    found: &SigHeaders<'_>,
) -> Result<(AmzDate, Option<i64>), Rejection> {
    if let Some(value) = params.query_date() {
        return AmzDate::parse_unix(value)
            .map(|(date, unix)| (date, Some(unix)))
            .ok_or(Rejection::new(
                ErrorCode::AuthorizationQueryParametersError,
                "X-Amz-Date must be YYYYMMDDTHHMMSSZ",
            ));
    }
    if let Some(value) = found.amz_date {
        return AmzDate::parse_unix(value)
            .map(|(date, unix)| (date, Some(unix)))
            .ok_or(Rejection::new(
                ErrorCode::IncompleteSignature,
                "X-Amz-Date must be YYYYMMDDTHHMMSSZ",
            ));
    }
    match found.date {
        Some(value) => parse_http_date(value)
            .map(AmzDate::from_unix)
            .map(|date| (date, date.unix()))
            .ok_or(Rejection::new(
                ErrorCode::AccessDenied,
                "the Date header is not an HTTP date",
            )),
        None => Err(Rejection::new(
            ErrorCode::AccessDenied,
            "SigV4 requires an X-Amz-Date or Date header",
        )),
    }
}

fn check_time(params: &AuthParams<'_>, unix: Option<i64>, now: i64) -> Result<(), Rejection> {
    let Some(t) = unix else {
        return Err(Rejection::new(
            ErrorCode::IncompleteSignature,
            "X-Amz-Date names no real instant",
        ));
    };
    match params.expires() {
        None => {
            if now.abs_diff(t) > MAX_SKEW_SECS.unsigned_abs() {
                return Err(Rejection::new(
                    ErrorCode::RequestTimeTooSkewed,
                    "the request time differs from the server's clock by more than 15 minutes",
                ));
            }
        }
        Some(expires) => {
            let expires: i64 = expires
                .parse()
                .ok()
                .filter(|e| (1..=MAX_PRESIGN_EXPIRES_SECS).contains(e))
                .ok_or(Rejection::new(
                    ErrorCode::AuthorizationQueryParametersError,
                    "X-Amz-Expires must be a whole number of seconds from 1 to 604800 (7 days)",
                ))?;
            // `t` is within years 0000 to 9999, so neither sum overflows.
            if now < t - MAX_SKEW_SECS {
                return Err(Rejection::new(
                    ErrorCode::AccessDenied,
                    "the presigned URL is not valid yet (its date is more than 15 minutes ahead)",
                ));
            }
            if now > t + expires {
                return Err(Rejection::new(
                    ErrorCode::AccessDenied,
                    "the presigned URL has expired",
                ));
            }
        }
    }
    Ok(())
}

/// Refuse an unsigned `host` or an unsigned `x-amz-*` header (but
/// `x-amz-content-sha256`), and match the signed names with the headers.
fn check_signed_headers(
    request: &Request<'_>,
    names: &[&str],
    matched: &mut Matched,
) -> Result<(), Rejection> {
    let host_signed = names
        .iter()
        .any(|s| s.len() == 4 && eq_ignore_ascii_case(s.as_bytes(), b"host"));
    if !host_signed {
        return Err(Rejection::new(
            ErrorCode::AccessDenied,
            "the host header must be signed",
        ));
    }
    match_headers(&request.headers, names, matched, |header| {
        let name = header.name.as_bytes();
        if is_amz_header(name) && !eq_ignore_ascii_case(name, b"x-amz-content-sha256") {
            return Err(Rejection::new(
                ErrorCode::AccessDenied,
                "an x-amz-* header is present but not signed",
            ));
        }
        Ok(())
    })
}

/// Whether a header name starts with `x-amz-` (any case).
#[inline]
fn is_amz_header(name: &[u8]) -> bool {
    // The first byte turns most other names away before the comparison.
    matches!(name.first(), Some(b'x' | b'X'))
        && name
            .get(..6)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"x-amz-"))
}

/// The provided signature as bytes. SigV4 signatures are lower-case hex, and
/// AWS refuses upper-case hex as `SignatureDoesNotMatch` (aws-sdk-js#3322), so
/// a signature has exactly one accepted spelling.
fn decode_signature(hex_sig: &str) -> Result<[u8; 32], Rejection> {
    decode_lower_hex_32(hex_sig.as_bytes()).ok_or(Rejection::new(
        ErrorCode::SignatureDoesNotMatch,
        "the provided signature is not 64 lower-case hex digits",
    ))
}

/// The payload hash the canonical request uses, checking a declared one.
pub(crate) fn payload_hash<'a: 'o, 'o, C: Crypto>(
    request: &Request<'a>,
    location: Location,
    rules: Rules,
    body_hex: &'o mut [u8; 64],
) -> Result<&'o str, Rejection> {
    let declared = request.header("x-amz-content-sha256");
    declared_or_body_hash::<C>(request, declared, location, rules, body_hex)
}

/// [`payload_hash`] with `x-amz-content-sha256` already found.
fn declared_or_body_hash<'a: 'o, 'o, C: Crypto>(
    request: &Request<'a>,
    declared: Option<&'a str>,
    location: Location,
    rules: Rules,
    body_hex: &'o mut [u8; 64],
) -> Result<&'o str, Rejection> {
    match declared {
        Some(v) if v == UNSIGNED_PAYLOAD || v.starts_with("STREAMING-") => Ok(v),
        Some(v) => {
            if !is_lower_hex_64(v.as_bytes()) {
                return Err(Rejection::new(
                    ErrorCode::XAmzContentSHA256Mismatch,
                    "x-amz-content-sha256 is neither a lower-case hex SHA-256 nor UNSIGNED-PAYLOAD",
                ));
            }
            if body_hash_hex::<C>(request.body, body_hex) != v {
                return Err(Rejection::new(
                    ErrorCode::XAmzContentSHA256Mismatch,
                    "the body's SHA-256 differs from x-amz-content-sha256",
                ));
            }
            Ok(v)
        }
        None if location == Location::Query && rules.presigned_payload_unsigned => {
            Ok(UNSIGNED_PAYLOAD)
        }
        None => Ok(body_hash_hex::<C>(request.body, body_hex)),
    }
}

/// The lower-case hex SHA-256 of `body`, written into `out`.
pub fn body_hash_hex<'o, C: Crypto>(body: &[u8], out: &'o mut [u8; 64]) -> &'o str {
    if body.is_empty() {
        return EMPTY_SHA256_HEX;
    }
    *out = lower_hex_32(&C::sha256(body));
    // Hex digits are ASCII.
    std::str::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::crypto::{Backend, Ring, SecretAccessKey};
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const NOW: i64 = 1_440_938_160; // 20150830T123600Z
    const VANILLA: &str = "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn key(cred: &Credential<'_>) -> SigningKey {
        let secret = SecretAccessKey::new(SECRET).unwrap();
        Backend::Ring.full_signing_key(&secret, cred.date, cred.region, cred.service)
    }

    fn run(raw: &str, now: i64) -> Result<(), Rejection> {
        let request = Request::parse(raw.as_bytes()).unwrap();
        verify::<Ring>(&request, &Context::at(now), &mut Vec::new(), |c, _| {
            Ok(key(c))
        })
        .map(|_| ())
    }

    #[test]
    fn accepts_the_vanilla_suite_request() {
        assert_eq!(run(VANILLA, NOW), Ok(()));
    }

    #[test]
    fn skew_window_is_fifteen_minutes_either_side() {
        assert_eq!(run(VANILLA, NOW + 900), Ok(()));
        assert_eq!(run(VANILLA, NOW - 900), Ok(()));
        assert_eq!(
            run(VANILLA, NOW + 901).unwrap_err().code,
            ErrorCode::RequestTimeTooSkewed
        );
        assert_eq!(
            run(VANILLA, NOW - 901).unwrap_err().code,
            ErrorCode::RequestTimeTooSkewed
        );
    }

    #[test]
    fn a_changed_byte_is_refused() {
        let tampered = VANILLA.replace("example.amazonaws.com", "exbmple.amazonaws.com");
        assert_eq!(
            run(&tampered, NOW).unwrap_err().code,
            ErrorCode::SignatureDoesNotMatch
        );
    }

    #[test]
    fn scope_date_must_match_x_amz_date() {
        let other_day = VANILLA.replace("AKIDEXAMPLE/20150830", "AKIDEXAMPLE/20150831");
        assert_eq!(
            run(&other_day, NOW).unwrap_err().code,
            ErrorCode::AuthorizationHeaderMalformed
        );
    }

    #[test]
    fn endpoint_scope_is_enforced() {
        let request = Request::parse(VANILLA.as_bytes()).unwrap();
        let ctx = Context {
            region: Some("eu-north-1"),
            ..Context::at(NOW)
        };
        let err = prepare::<Ring>(&request, &ctx, &mut Vec::new()).unwrap_err();
        assert_eq!(err.code, ErrorCode::AuthorizationHeaderMalformed);
        let ctx = Context {
            service: Some("s3"),
            ..Context::at(NOW)
        };
        let err = prepare::<Ring>(&request, &ctx, &mut Vec::new()).unwrap_err();
        assert_eq!(err.code, ErrorCode::AuthorizationHeaderMalformed);
    }

    #[test]
    fn unsigned_amz_header_and_unsigned_host_are_refused() {
        let extra = VANILLA.replace("X-Amz-Date:", "X-Amz-Meta-Foo: bar\nX-Amz-Date:");
        assert_eq!(run(&extra, NOW).unwrap_err().code, ErrorCode::AccessDenied);
        let content = VANILLA.replace(
            "X-Amz-Date:",
            &format!("x-amz-content-sha256: {EMPTY_SHA256_HEX}\nX-Amz-Date:"),
        );
        // x-amz-content-sha256 may stay unsigned; the signature still matches.
        assert_eq!(run(&content, NOW), Ok(()));
        let no_host = VANILLA.replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date");
        assert_eq!(
            run(&no_host, NOW).unwrap_err().code,
            ErrorCode::AccessDenied
        );
    }

    #[test]
    fn unsigned_amz_headers_are_found_past_the_sixty_fourth_header() {
        let filler: String = (0..70).map(|i| format!("F{i}: v\n")).collect();
        let late = VANILLA.replace(
            "X-Amz-Date:",
            &format!("{filler}X-Amz-Meta-Late: x\nX-Amz-Date:"),
        );
        assert_eq!(run(&late, NOW).unwrap_err().code, ErrorCode::AccessDenied);
        let signed_late = VANILLA.replace("X-Amz-Date:", &format!("{filler}X-Amz-Date:"));
        assert_eq!(run(&signed_late, NOW), Ok(()));
    }

    #[test]
    fn declared_payload_hash_must_match_the_body() {
        let raw = format!(
            "PUT /k HTTP/1.1\nHost:h\nX-Amz-Date:20150830T123600Z\nx-amz-content-sha256:{EMPTY_SHA256_HEX}\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}\n\nbody",
            "0".repeat(64)
        );
        assert_eq!(
            run(&raw, NOW).unwrap_err().code,
            ErrorCode::XAmzContentSHA256Mismatch
        );
        let bad = raw.replace(EMPTY_SHA256_HEX, "not-a-hash");
        assert_eq!(
            run(&bad, NOW).unwrap_err().code,
            ErrorCode::XAmzContentSHA256Mismatch
        );
    }
}
