//! Reading a request's SigV4 parameters: the `Authorization` header
//! (`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`) or a
//! presigned URL's `X-Amz-*` query parameters, and the credential scope
//! (`AKID/YYYYMMDD/region/service/aws4_request`) inside them.
//!
//! Header values are borrowed from the request; query values that need
//! percent-decoding are decoded back to back into one inline buffer, so
//! reading the parameters allocates nothing for ordinary lengths and the
//! parameters stay small enough to move cheaply. `SigHeaders` finds every
//! header that verification reads in one pass over the request's headers.

use smallvec::SmallVec;

use super::encode::{for_each_decoded_run, is_lower_hex_64};
use super::http::Request;
use super::scan::{eq_ignore_ascii_case, find_byte, split, trim, trim_spaces_tabs, Positions};
use super::{ErrorCode, Rejection, ALGORITHM, SCOPE_TERMINATOR};

/// Decoded query values held without a heap allocation: a credential and a
/// `SignedHeaders` list of ordinary length; a longer total spills to the heap.
const DECODED_INLINE: usize = 160;

/// Where the signature travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// In the `Authorization` header.
    Header,
    /// In the query string (a presigned URL).
    Query,
}

/// The SigV4 parameters of one request; each value is read with its method.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthParams<'a> {
    /// Header or query.
    pub location: Location,
    credential: Value<'a>,
    signed_headers: Value<'a>,
    signature: Value<'a>,
    query_date: Option<Value<'a>>,
    expires: Option<Value<'a>>,
    security_token: Option<Value<'a>>,
    /// The percent-decoded query values, back to back.
    decoded: SmallVec<[u8; DECODED_INLINE]>,
}

/// One parameter value: borrowed from the request, or a range of
/// [`AuthParams`]'s decoded buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value<'a> {
    Borrowed(&'a str),
    Decoded { start: usize, end: usize },
}

impl<'a> AuthParams<'a> {
    /// The `Credential` value: `AKID/date/region/service/aws4_request`.
    pub fn credential(&self) -> &str {
        self.text(self.credential)
    }

    /// The `SignedHeaders` value, `;`-separated lower-case names.
    pub fn signed_headers(&self) -> &str {
        self.text(self.signed_headers)
    }

    /// The hex signature provided.
    pub fn signature(&self) -> &str {
        self.text(self.signature)
    }

    /// `X-Amz-Date` from the query (presigned only).
    pub fn query_date(&self) -> Option<&str> {
        self.query_date.map(|v| self.text(v))
    }

    /// `X-Amz-Expires` from the query (presigned only).
    pub fn expires(&self) -> Option<&str> {
        self.expires.map(|v| self.text(v))
    }

    /// `X-Amz-Security-Token`, from the query or the header.
    pub fn security_token(&self) -> Option<&str> {
        self.security_token.map(|v| self.text(v))
    }

    fn text(&self, value: Value<'a>) -> &str {
        text(&self.decoded, value)
    }
}

/// The headers that SigV4 verification reads, each the first of its name
/// (any case), found in one pass over the request's headers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SigHeaders<'a> {
    /// `Authorization`.
    pub authorization: Option<&'a str>,
    /// `X-Amz-Security-Token`.
    pub security_token: Option<&'a str>,
    /// `X-Amz-Date`.
    pub amz_date: Option<&'a str>,
    /// `Date`.
    pub date: Option<&'a str>,
    /// `X-Amz-Content-Sha256`.
    pub content_sha256: Option<&'a str>,
}

impl<'a> SigHeaders<'a> {
    /// Find the headers in `request`: what `request.header(name)` returns for
    /// each, at the cost of one pass.
    pub fn of(request: &Request<'a>) -> SigHeaders<'a> {
        let mut found = SigHeaders::default();
        for header in &request.headers {
            let name = header.name.as_bytes();
            // The first byte (with bit 5 set, which lower-cases a letter)
            // turns most names of the right length away before comparing.
            let first = name.first().map_or(0, |c| c | 0x20);
            let is = |known: &str| {
                first == known.as_bytes()[0] && eq_ignore_ascii_case(name, known.as_bytes())
            };
            // The length picks the one candidate worth comparing.
            let slot = match name.len() {
                4 if is("date") => &mut found.date,
                10 if is("x-amz-date") => &mut found.amz_date,
                13 if is("authorization") => &mut found.authorization,
                20 if is("x-amz-content-sha256") => &mut found.content_sha256,
                20 if is("x-amz-security-token") => &mut found.security_token,
                _ => continue,
            };
            slot.get_or_insert(header.value);
        }
        found
    }
}

/// The five elements of a credential scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential<'c> {
    /// The access key id.
    pub access_key_id: &'c str,
    /// `YYYYMMDD`.
    pub date: &'c str,
    /// The region code.
    pub region: &'c str,
    /// The signing name of the service.
    pub service: &'c str,
}

impl<'c> Credential<'c> {
    /// Split `AKID/date/region/service/aws4_request`.
    ///
    /// # Errors
    ///
    /// `AuthorizationHeaderMalformed` (or `AuthorizationQueryParametersError`
    /// for a presigned URL) unless the value has exactly five non-empty parts,
    /// an eight-digit date and the `aws4_request` terminator.
    pub fn parse(value: &'c str, location: Location) -> Result<Credential<'c>, Rejection> {
        CredentialSpans::parse(value, location).map(|spans| spans.of(value))
    }

    /// The scope without the key id: `date/region/service/aws4_request`.
    pub fn scope_of(value: &str) -> &str {
        find_byte(value.as_bytes(), b'/').map_or("", |slash| &value[slash + 1..])
    }
}

/// Where the parts of a credential that [`Credential::parse`] accepted lie in
/// its value: the positions of its four `/`. Kept beside the value so that
/// the parts can be sliced again without parsing twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CredentialSpans {
    slashes: [usize; 4],
}

impl CredentialSpans {
    /// Check `value` as [`Credential::parse`] does and return where its parts
    /// lie.
    ///
    /// # Errors
    ///
    /// As [`Credential::parse`].
    pub fn parse(value: &str, location: Location) -> Result<CredentialSpans, Rejection> {
        let code = match location {
            Location::Header => ErrorCode::AuthorizationHeaderMalformed,
            Location::Query => ErrorCode::AuthorizationQueryParametersError,
        };
        let bytes = value.as_bytes();
        let mut slashes = [0usize; 4];
        let mut positions = Positions::new(bytes, b'/');
        let mut found = 0;
        for (slot, at) in slashes.iter_mut().zip(&mut positions) {
            *slot = at;
            found += 1;
        }
        let fifth_slash = if found == 4 { positions.next() } else { None };
        let more = fifth_slash.is_some();
        // Five parts need four slashes, and no part may be empty (the fifth
        // ends at a fifth slash if there is one).
        let fifth_end = fifth_slash.unwrap_or(bytes.len());
        let empty_part = found < 4
            || slashes[0] == 0
            || slashes.windows(2).any(|w| w[1] == w[0] + 1)
            || fifth_end == slashes[3] + 1;
        if empty_part {
            return Err(Rejection::new(
                code,
                "the credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request",
            ));
        }
        if more {
            return Err(Rejection::new(
                code,
                "the credential has more than five '/'-separated parts",
            ));
        }
        if &value[slashes[3] + 1..] != SCOPE_TERMINATOR {
            return Err(Rejection::new(
                code,
                "the credential scope must end with aws4_request",
            ));
        }
        let date = &bytes[slashes[0] + 1..slashes[1]];
        if date.len() != 8 || !date.iter().all(u8::is_ascii_digit) {
            return Err(Rejection::new(code, "the credential date must be YYYYMMDD"));
        }
        Ok(CredentialSpans { slashes })
    }

    /// The scope of `value`, the credential these spans were parsed from:
    /// what [`Credential::scope_of`] finds, without looking for it.
    pub fn scope_of(self, value: &str) -> &str {
        value.get(self.slashes[0] + 1..).unwrap_or_default()
    }

    /// The parts of `value`, the credential these spans were parsed from.
    /// Another value gives empty parts where the spans do not fit it.
    pub fn of(self, value: &str) -> Credential<'_> {
        let [a, b, c, d] = self.slashes;
        let part = |from: usize, to: usize| value.get(from..to).unwrap_or_default();
        Credential {
            access_key_id: part(0, a),
            date: part(a + 1, b),
            region: part(b + 1, c),
            service: part(c + 1, d),
        }
    }
}

/// Read the SigV4 parameters of `request`.
///
/// # Errors
///
/// `MissingAuthenticationToken` when the request carries no signature;
/// `IncompleteSignature` or `AuthorizationQueryParametersError` when the
/// parameters are incomplete or not SigV4.
pub fn read<'a>(request: &Request<'a>) -> Result<AuthParams<'a>, Rejection> {
    read_with(request, &SigHeaders::of(request))
}

/// [`read`] with the request's SigV4 headers already found.
///
/// # Errors
///
/// As [`read`].
#[inline]
pub(crate) fn read_with<'a>(
    request: &Request<'a>,
    found: &SigHeaders<'a>,
) -> Result<AuthParams<'a>, Rejection> {
    let presigned = request
        .query
        .is_some_and(|q| query_param(q, "X-Amz-Algorithm").is_some());
    match (found.authorization, presigned) {
        (Some(_), true) => Err(Rejection::new(
            ErrorCode::IncompleteSignature,
            "the request is signed both in the Authorization header and in the query; use one",
        )),
        (Some(value), false) => read_header(value, found),
        (None, true) => read_query(request.query.unwrap_or_default(), found),
        (None, false) => Err(Rejection::new(
            ErrorCode::MissingAuthenticationToken,
            "the request has neither an Authorization header nor X-Amz-Algorithm in the query",
        )),
    }
}

#[inline]
fn read_header<'a>(value: &'a str, found: &SigHeaders<'a>) -> Result<AuthParams<'a>, Rejection> {
    let (credential, signed_headers, signature) = match sdk_layout(value) {
        Some(parts) => parts,
        None => header_elements(value)?,
    };
    Ok(AuthParams {
        location: Location::Header,
        credential: Value::Borrowed(credential),
        signed_headers: Value::Borrowed(signed_headers),
        signature: Value::Borrowed(signature),
        query_date: None,
        expires: None,
        security_token: found.security_token.map(Value::Borrowed),
        decoded: SmallVec::new(),
    })
}

/// The value's opening, up to the credential, in the layout every SDK
/// writes: `AWS4-HMAC-SHA256 Credential=C, SignedHeaders=H, Signature=S`.
const SDK_OPENING: &str = "AWS4-HMAC-SHA256 Credential=";
/// What separates the credential from the signed headers in that layout.
const SDK_SIGNED_HEADERS: &str = ", SignedHeaders=";
/// What separates the signed headers from the signature in that layout.
const SDK_SIGNATURE: &str = ", Signature=";
/// The length of a SigV4 signature in hex.
const SIGNATURE_HEX_LEN: usize = 64;

/// The credential, signed headers and signature of a value in exactly the
/// SDKs' layout with a 64-character signature, found with one scan of the
/// credential and one of the signed headers instead of reading every
/// element; `None` for anything else, which [`header_elements`] reads. For
/// every value this accepts, [`header_elements`] returns the same three
/// parts (a property test checks it): no part may hold a `,` (which would
/// make another element) or start or end with whitespace (which would be
/// trimmed).
fn sdk_layout(value: &str) -> Option<(&str, &str, &str)> {
    let rest = value.strip_prefix(SDK_OPENING)?;
    let comma = find_byte(rest.as_bytes(), b',')?;
    let (credential, rest) = rest.split_at(comma);
    let rest = rest.strip_prefix(SDK_SIGNED_HEADERS)?;
    let at = rest.len().checked_sub(SIGNATURE_HEX_LEN)?;
    if !rest.is_char_boundary(at) {
        return None;
    }
    let (rest, signature) = rest.split_at(at);
    let signed_headers = rest.strip_suffix(SDK_SIGNATURE)?;
    // The credential ends at the first `,`, so holds none; lower-case hex
    // holds neither a `,` nor whitespace.
    let untrimmed = |part: &str| trim(part).len() == part.len();
    let plain = untrimmed(credential)
        && untrimmed(signed_headers)
        && find_byte(signed_headers.as_bytes(), b',').is_none()
        && is_lower_hex_64(signature.as_bytes());
    plain.then_some((credential, signed_headers, signature))
}

/// The credential, signed headers and signature of an `Authorization`
/// value, element by element in any order and spacing.
fn header_elements(value: &str) -> Result<(&str, &str, &str), Rejection> {
    let incomplete = |reason| Rejection::new(ErrorCode::IncompleteSignature, reason);
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with([' ', '\t']))
        .ok_or(incomplete(
            "the Authorization header must start with 'AWS4-HMAC-SHA256 '",
        ))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for item in split(rest, b',') {
        let item = trim_spaces_tabs(item);
        if item.is_empty() {
            continue;
        }
        let Some(eq) = find_byte(item.as_bytes(), b'=') else {
            return Err(incomplete(
                "an Authorization header element is not key=value",
            ));
        };
        let slot = match trim(&item[..eq]) {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => {
                return Err(incomplete(
                    "the Authorization header has an unknown element",
                ))
            }
        };
        if slot.is_some() {
            return Err(incomplete("an Authorization header element appears twice"));
        }
        *slot = Some(trim(&item[eq + 1..]));
    }
    let credential = credential.ok_or(incomplete("the Authorization header has no Credential"))?;
    let signed_headers =
        signed_headers.ok_or(incomplete("the Authorization header has no SignedHeaders"))?;
    let signature = signature.ok_or(incomplete("the Authorization header has no Signature"))?;
    Ok((credential, signed_headers, signature))
}

fn read_query<'a>(query: &'a str, found: &SigHeaders<'a>) -> Result<AuthParams<'a>, Rejection> {
    let bad = |reason| Rejection::new(ErrorCode::AuthorizationQueryParametersError, reason);
    let mut decoded = SmallVec::new();
    let algorithm = query_param(query, "X-Amz-Algorithm").unwrap_or_default();
    let algorithm = decode(algorithm, &mut decoded)?;
    if text(&decoded, algorithm) != ALGORITHM {
        return Err(bad("X-Amz-Algorithm must be AWS4-HMAC-SHA256"));
    }
    // The algorithm's bytes are no longer needed.
    decoded.clear();
    let mut get = |name, missing| -> Result<Value<'a>, Rejection> {
        decode(query_param(query, name).ok_or(bad(missing))?, &mut decoded)
    };
    let credential = get(
        "X-Amz-Credential",
        "the presigned URL has no X-Amz-Credential",
    )?;
    let signed_headers = get(
        "X-Amz-SignedHeaders",
        "the presigned URL has no X-Amz-SignedHeaders",
    )?;
    let signature = get(
        "X-Amz-Signature",
        "the presigned URL has no X-Amz-Signature",
    )?;
    let query_date = get("X-Amz-Date", "the presigned URL has no X-Amz-Date")?;
    let expires = get("X-Amz-Expires", "the presigned URL has no X-Amz-Expires")?;
    let security_token = match query_param(query, "X-Amz-Security-Token") {
        Some(raw) => Some(decode(raw, &mut decoded)?),
        None => found.security_token.map(Value::Borrowed),
    };
    Ok(AuthParams {
        location: Location::Query,
        credential,
        signed_headers,
        signature,
        query_date: Some(query_date),
        expires: Some(expires),
        security_token,
        decoded,
    })
}

/// The raw value of the first query parameter named exactly `name`.
pub fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|piece| {
        let (n, v) = piece.split_once('=').unwrap_or((piece, ""));
        (n == name).then_some(v)
    })
}

/// `raw` as it stands, or percent-decoded onto the end of `decoded`.
fn decode<'a>(
    raw: &'a str,
    decoded: &mut SmallVec<[u8; DECODED_INLINE]>,
) -> Result<Value<'a>, Rejection> {
    if find_byte(raw.as_bytes(), b'%').is_none() {
        return Ok(Value::Borrowed(raw));
    }
    let start = decoded.len();
    for_each_decoded_run(raw.as_bytes(), |run| decoded.extend_from_slice(run));
    if std::str::from_utf8(&decoded[start..]).is_err() {
        return Err(Rejection::new(
            ErrorCode::AuthorizationQueryParametersError,
            "a presigned URL parameter decodes to bytes that are not UTF-8",
        ));
    }
    Ok(Value::Decoded {
        start,
        end: decoded.len(),
    })
}

/// The text of `value`, whose decoded bytes (if any) are in `decoded`.
fn text<'v>(decoded: &'v [u8], value: Value<'v>) -> &'v str {
    match value {
        Value::Borrowed(s) => s,
        // Only ranges checked to be UTF-8 when decoded are stored.
        Value::Decoded { start, end } => decoded
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SIG: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    #[test]
    fn the_sdk_layout_is_read_without_the_element_loop() {
        let value = format!(
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature={SIG}"
        );
        let want = (
            "AKID/20150830/us-east-1/s3/aws4_request",
            "host;x-amz-date",
            SIG,
        );
        assert_eq!(sdk_layout(&value), Some(want));
        assert_eq!(header_elements(&value).unwrap(), want);
        // Anything else is left to the element loop.
        for other in [
            format!("AWS4-HMAC-SHA256 Credential=A/b, SignedHeaders=host,Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 SignedHeaders=host, Credential=A/b, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 Credential=A/b, SignedHeaders=host, Signature={SIG} "),
            format!("AWS4-HMAC-SHA256 Credential=A/b , SignedHeaders=host, Signature={SIG}"),
            format!("AWS4-HMAC-SHA256 Credential=A/b, SignedHeaders=h,x, Signature={SIG}"),
            "AWS4-HMAC-SHA256 Credential=A/b, SignedHeaders=host, Signature=abc".to_string(),
        ] {
            assert_eq!(sdk_layout(&other), None, "{other}");
        }
    }

    /// Pieces an `Authorization` value is made of, including the ones that
    /// take it out of the SDKs' layout.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("AWS4-HMAC-SHA256 ".to_string()),
            Just("Credential=".to_string()),
            Just(", SignedHeaders=".to_string()),
            Just(", Signature=".to_string()),
            Just("AKID/20150830/us-east-1/s3/aws4_request".to_string()),
            Just("host;x-amz-date".to_string()),
            Just(SIG.to_string()),
            Just(SIG[..63].to_string()),
            prop::sample::select(vec![",", " ", "\t", "=", ";", "é", "\u{a0}", "Signature="])
                .prop_map(str::to_string),
            "[a-z0-9/;=, -]{0,8}",
        ]
    }

    proptest! {
        #[test]
        fn the_sdk_layout_agrees_with_the_element_loop(
            pieces in proptest::collection::vec(piece(), 0..12),
            sdk in any::<bool>(),
        ) {
            // Half the cases start from a valid SDK value and splice pieces
            // into it; the others are pieces alone.
            let value = if sdk {
                let mut v = format!(
                    "{SDK_OPENING}AKID/20150830/us-east-1/s3/aws4_request{SDK_SIGNED_HEADERS}host;x-amz-date{SDK_SIGNATURE}{SIG}"
                );
                for (i, p) in pieces.iter().enumerate() {
                    let mut at = (i * 37 + p.len() * 11) % (v.len() + 1);
                    while !v.is_char_boundary(at) {
                        at -= 1;
                    }
                    v.insert_str(at, p);
                }
                v
            } else {
                pieces.concat()
            };
            if let Some(fast) = sdk_layout(&value) {
                prop_assert_eq!(Ok(fast), header_elements(&value), "{}", value);
            }
        }
    }

    fn parse(raw: &str) -> Result<AuthParams<'_>, Rejection> {
        let request = Request::parse(raw.as_bytes()).unwrap();
        // Re-borrow from the raw string: the request only borrows `raw`.
        let params = read(&request)?;
        Ok(params)
    }

    #[test]
    fn reads_header_parameters() {
        let p = parse(
            "GET / HTTP/1.1\nHost:h\nAuthorization: AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date,Signature=abc",
        )
        .unwrap();
        assert_eq!(p.location, Location::Header);
        assert_eq!(p.credential(), "AK/20150830/us-east-1/s3/aws4_request");
        assert_eq!(p.signed_headers(), "host;x-amz-date");
        assert_eq!(p.signature(), "abc");
    }

    #[test]
    fn reads_and_decodes_query_parameters() {
        let p = parse("GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ff HTTP/1.1\nHost:h").unwrap();
        assert_eq!(p.location, Location::Query);
        assert_eq!(p.credential(), "AK/20150830/us-east-1/s3/aws4_request");
        assert_eq!(p.expires().unwrap(), "60");
    }

    #[test]
    fn missing_and_incomplete_signatures_get_aws_codes() {
        let code = |raw| parse(raw).unwrap_err().code;
        assert_eq!(
            code("GET / HTTP/1.1\nHost:h"),
            ErrorCode::MissingAuthenticationToken
        );
        assert_eq!(
            code("GET / HTTP/1.1\nAuthorization: AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request, Signature=x"),
            ErrorCode::IncompleteSignature
        );
        assert_eq!(
            code("GET / HTTP/1.1\nAuthorization: AWS AKID:sig"),
            ErrorCode::IncompleteSignature
        );
        assert_eq!(
            code("GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256 HTTP/1.1\nHost:h"),
            ErrorCode::AuthorizationQueryParametersError
        );
    }

    /// `Credential::parse` as it was before spans, kept as the oracle.
    fn oracle_credential(value: &str, location: Location) -> Result<Credential<'_>, Rejection> {
        let code = match location {
            Location::Header => ErrorCode::AuthorizationHeaderMalformed,
            Location::Query => ErrorCode::AuthorizationQueryParametersError,
        };
        let mut parts = value.split('/');
        let mut next = || parts.next().filter(|p| !p.is_empty());
        let (Some(access_key_id), Some(date), Some(region), Some(service), Some(terminal)) =
            (next(), next(), next(), next(), next())
        else {
            return Err(Rejection::new(
                code,
                "the credential must be ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request",
            ));
        };
        if parts.next().is_some() {
            return Err(Rejection::new(
                code,
                "the credential has more than five '/'-separated parts",
            ));
        }
        if terminal != SCOPE_TERMINATOR {
            return Err(Rejection::new(
                code,
                "the credential scope must end with aws4_request",
            ));
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::new(code, "the credential date must be YYYYMMDD"));
        }
        Ok(Credential {
            access_key_id,
            date,
            region,
            service,
        })
    }

    proptest::proptest! {
        #[test]
        fn credentials_parse_as_before(
            parts in proptest::collection::vec(
                proptest::sample::select(
                    &["AKID", "/", "//", "20150830", "2015083", "us-east-1", "s3", "aws4_request", "x", "é"][..],
                ),
                0..12,
            )
        ) {
            let value = parts.concat();
            for location in [Location::Header, Location::Query] {
                proptest::prop_assert_eq!(
                    Credential::parse(&value, location),
                    oracle_credential(&value, location)
                );
            }
            let scope = value.split_once('/').map_or("", |(_, scope)| scope);
            proptest::prop_assert_eq!(Credential::scope_of(&value), scope);
            if let Ok(spans) = CredentialSpans::parse(&value, Location::Header) {
                proptest::prop_assert_eq!(spans.scope_of(&value), scope);
            }
        }

        #[test]
        fn well_formed_credentials_parse_as_before(
            key in "[A-Z0-9/]{0,3}",
            date in proptest::prop_oneof!["[0-9]{8}", "[0-9/a]{7,9}"],
            region in "[a-z/-]{0,4}",
            tail in proptest::prop_oneof![
                proptest::strategy::Just("aws4_request".to_string()),
                "[a-z4_/]{11,13}",
            ],
        ) {
            let value = format!("{key}/{date}/{region}/s3/{tail}");
            proptest::prop_assert_eq!(
                Credential::parse(&value, Location::Header),
                oracle_credential(&value, Location::Header)
            );
        }
    }

    /// The `Authorization` header reader as it was before byte scanning: the
    /// three values, or the rejection's reason.
    fn oracle_header(value: &str) -> Result<[&str; 3], &'static str> {
        let rest = value
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with([' ', '\t']))
            .ok_or("the Authorization header must start with 'AWS4-HMAC-SHA256 '")?;
        let mut slots: [Option<&str>; 3] = [None; 3];
        for item in rest.split(',') {
            let item = item.trim_matches([' ', '\t']);
            if item.is_empty() {
                continue;
            }
            let (key, val) = item
                .split_once('=')
                .ok_or("an Authorization header element is not key=value")?;
            let slot = match key.trim() {
                "Credential" => &mut slots[0],
                "SignedHeaders" => &mut slots[1],
                "Signature" => &mut slots[2],
                _ => return Err("the Authorization header has an unknown element"),
            };
            if slot.is_some() {
                return Err("an Authorization header element appears twice");
            }
            *slot = Some(val.trim());
        }
        let credential = slots[0].ok_or("the Authorization header has no Credential")?;
        let signed = slots[1].ok_or("the Authorization header has no SignedHeaders")?;
        let signature = slots[2].ok_or("the Authorization header has no Signature")?;
        Ok([credential, signed, signature])
    }

    proptest::proptest! {
        #[test]
        fn authorization_headers_read_as_before(
            parts in proptest::collection::vec(
                proptest::sample::select(
                    &[
                        "AWS4-HMAC-SHA256", " ", "\t", ",", "=", "Credential", "SignedHeaders",
                        "Signature", "a/b", "host;x-amz-date", "ff", "\u{a0}", "\u{2028}", "é",
                    ][..],
                ),
                0..16,
            ),
            canonical_start in proptest::prelude::any::<bool>(),
        ) {
            let mut value = parts.concat();
            if canonical_start {
                value.insert_str(0, "AWS4-HMAC-SHA256 Credential=AK/20150830/r/s/aws4_request, ");
            }
            let found = SigHeaders { authorization: Some(&value), ..SigHeaders::default() };
            let ours = read_header(&value, &found)
                .map(|p| [p.credential().to_string(), p.signed_headers().to_string(), p.signature().to_string()])
                .map_err(|r| r.reason);
            let theirs = oracle_header(&value).map(|values| values.map(str::to_string));
            proptest::prop_assert_eq!(ours, theirs);
        }
    }

    #[test]
    fn credential_scope_is_checked() {
        let c =
            Credential::parse("AK/20150830/us-east-1/s3/aws4_request", Location::Header).unwrap();
        assert_eq!(
            (c.access_key_id, c.date, c.region, c.service),
            ("AK", "20150830", "us-east-1", "s3")
        );
        for bad in [
            "AK/20150830/us-east-1/s3",
            "AK/20150830/us-east-1/s3/aws4_reqest",
            "AK/2015083/us-east-1/s3/aws4_request",
            "AK/20150830/us-east-1/s3/aws4_request/x",
            "AK//us-east-1/s3/aws4_request",
        ] {
            let err = Credential::parse(bad, Location::Header).unwrap_err();
            assert_eq!(err.code, ErrorCode::AuthorizationHeaderMalformed, "{bad}");
        }
        assert_eq!(
            Credential::scope_of("AK/20150830/r/s/aws4_request"),
            "20150830/r/s/aws4_request"
        );
    }
}
