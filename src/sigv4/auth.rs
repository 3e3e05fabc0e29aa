//! Reading a request's SigV4 parameters: the `Authorization` header
//! (`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`) or a
//! presigned URL's `X-Amz-*` query parameters, and the credential scope
//! (`AKID/YYYYMMDD/region/service/aws4_request`) inside them.
//!
//! Query values are percent-decoded into inline buffers, so reading the
//! parameters allocates nothing for ordinary lengths.

use smallvec::SmallVec;

use super::encode::decoded;
use super::http::Request;
use super::{ErrorCode, Rejection, ALGORITHM, SCOPE_TERMINATOR};

/// Where the signature travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// In the `Authorization` header.
    Header,
    /// In the query string (a presigned URL).
    Query,
}

/// A parameter value: borrowed from the request, or percent-decoded inline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Text<'a> {
    /// Taken as is from the request.
    Borrowed(&'a str),
    /// Decoded from a query parameter (always UTF-8).
    Decoded(SmallVec<[u8; 96]>),
}

impl Text<'_> {
    /// The value.
    pub fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            // Only built from bytes checked to be UTF-8.
            Text::Decoded(bytes) => std::str::from_utf8(bytes).unwrap_or_default(),
        }
    }
}

/// The SigV4 parameters of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthParams<'a> {
    /// Header or query.
    pub location: Location,
    /// The `Credential` value: `AKID/date/region/service/aws4_request`.
    pub credential: Text<'a>,
    /// The `SignedHeaders` value, `;`-separated lower-case names.
    pub signed_headers: Text<'a>,
    /// The hex signature provided.
    pub signature: Text<'a>,
    /// `X-Amz-Date` from the query (presigned only).
    pub query_date: Option<Text<'a>>,
    /// `X-Amz-Expires` from the query (presigned only).
    pub expires: Option<Text<'a>>,
    /// `X-Amz-Security-Token`, from the query or the header.
    pub security_token: Option<Text<'a>>,
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

    /// The scope without the key id: `date/region/service/aws4_request`.
    pub fn scope_of(value: &str) -> &str {
        value.split_once('/').map_or("", |(_, scope)| scope)
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
    let header = request.header("authorization");
    let presigned = request
        .query
        .is_some_and(|q| query_param(q, "X-Amz-Algorithm").is_some());
    match (header, presigned) {
        (Some(_), true) => Err(Rejection::new(
            ErrorCode::IncompleteSignature,
            "the request is signed both in the Authorization header and in the query; use one",
        )),
        (Some(value), false) => read_header(value, request),
        (None, true) => read_query(request.query.unwrap_or_default(), request),
        (None, false) => Err(Rejection::new(
            ErrorCode::MissingAuthenticationToken,
            "the request has neither an Authorization header nor X-Amz-Algorithm in the query",
        )),
    }
}

fn read_header<'a>(value: &'a str, request: &Request<'a>) -> Result<AuthParams<'a>, Rejection> {
    let incomplete = |reason| Rejection::new(ErrorCode::IncompleteSignature, reason);
    let rest = value
        .strip_prefix(ALGORITHM)
        .filter(|r| r.starts_with([' ', '\t']))
        .ok_or(incomplete(
            "the Authorization header must start with 'AWS4-HMAC-SHA256 '",
        ))?;
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for item in rest.split(',') {
        let item = item.trim_matches([' ', '\t']);
        if item.is_empty() {
            continue;
        }
        let Some((key, val)) = item.split_once('=') else {
            return Err(incomplete(
                "an Authorization header element is not key=value",
            ));
        };
        let slot = match key.trim() {
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
        *slot = Some(Text::Borrowed(val.trim()));
    }
    let credential = credential.ok_or(incomplete("the Authorization header has no Credential"))?;
    let signed_headers =
        signed_headers.ok_or(incomplete("the Authorization header has no SignedHeaders"))?;
    let signature = signature.ok_or(incomplete("the Authorization header has no Signature"))?;
    Ok(AuthParams {
        location: Location::Header,
        credential,
        signed_headers,
        signature,
        query_date: None,
        expires: None,
        security_token: request.header("x-amz-security-token").map(Text::Borrowed),
    })
}

fn read_query<'a>(query: &'a str, request: &Request<'a>) -> Result<AuthParams<'a>, Rejection> {
    let bad = |reason| Rejection::new(ErrorCode::AuthorizationQueryParametersError, reason);
    let algorithm = query_param(query, "X-Amz-Algorithm")
        .map(decode)
        .transpose()?;
    if algorithm.as_ref().map(Text::as_str) != Some(ALGORITHM) {
        return Err(bad("X-Amz-Algorithm must be AWS4-HMAC-SHA256"));
    }
    let get = |name, missing| -> Result<Text<'a>, Rejection> {
        decode(query_param(query, name).ok_or(bad(missing))?)
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
        Some(raw) => Some(decode(raw)?),
        None => request.header("x-amz-security-token").map(Text::Borrowed),
    };
    Ok(AuthParams {
        location: Location::Query,
        credential,
        signed_headers,
        signature,
        query_date: Some(query_date),
        expires: Some(expires),
        security_token,
    })
}

/// The raw value of the first query parameter named exactly `name`.
pub fn query_param<'q>(query: &'q str, name: &str) -> Option<&'q str> {
    query.split('&').find_map(|piece| {
        let (n, v) = piece.split_once('=').unwrap_or((piece, ""));
        (n == name).then_some(v)
    })
}

fn decode(raw: &str) -> Result<Text<'_>, Rejection> {
    if !raw.contains('%') {
        return Ok(Text::Borrowed(raw));
    }
    let bytes: SmallVec<[u8; 96]> = decoded(raw.as_bytes()).collect();
    if std::str::from_utf8(&bytes).is_err() {
        return Err(Rejection::new(
            ErrorCode::AuthorizationQueryParametersError,
            "a presigned URL parameter decodes to bytes that are not UTF-8",
        ));
    }
    Ok(Text::Decoded(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(
            p.credential.as_str(),
            "AK/20150830/us-east-1/s3/aws4_request"
        );
        assert_eq!(p.signed_headers.as_str(), "host;x-amz-date");
        assert_eq!(p.signature.as_str(), "abc");
    }

    #[test]
    fn reads_and_decodes_query_parameters() {
        let p = parse("GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ff HTTP/1.1\nHost:h").unwrap();
        assert_eq!(p.location, Location::Query);
        assert_eq!(
            p.credential.as_str(),
            "AK/20150830/us-east-1/s3/aws4_request"
        );
        assert_eq!(p.expires.unwrap().as_str(), "60");
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
