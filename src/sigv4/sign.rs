//! Signing a raw request, as an SDK would: in the `Authorization` header or as
//! a presigned URL, with an optional session token and a choice of payload
//! hash. Returns the canonical request, the string to sign and the signature
//! beside the signed request bytes, so that every intermediate can be checked.
//!
//! The signer signs every header the request carries except those that
//! proxies rewrite (`user-agent`, `expect`, `x-amzn-trace-id`) and the ones it
//! writes itself, which is what AWS's published test suite expects.

use thiserror::Error;

use super::amz_date::AmzDate;
use super::auth::query_param;
use super::canonical::{self, Parts, Rules};
use super::crypto::{Backend, SecretAccessKey, SigningKey};
use super::encode::encode;
use super::http::{Header, Request};
use super::{
    ALGORITHM, EMPTY_SHA256_HEX, MAX_PRESIGN_EXPIRES_SECS, SCOPE_TERMINATOR, UNSIGNED_PAYLOAD,
};

/// Headers a signer leaves unsigned because intermediaries may change them.
pub const UNSIGNED_BY_CONVENTION: [&str; 3] = ["user-agent", "expect", "x-amzn-trace-id"];

/// The query parameters a presigned URL carries. A request to presign must
/// not have any of them already: a verifier reads the first of each, which
/// would be the stale one.
pub const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

/// A client's credentials.
#[derive(Clone, Copy, Debug)]
pub struct Credentials<'k> {
    /// The access key id.
    pub access_key_id: &'k str,
    /// The secret access key.
    pub secret: &'k SecretAccessKey,
    /// A session token for temporary credentials.
    pub session_token: Option<&'k str>,
}

/// How the payload enters the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Hash the body; add no header (a presigned URL of an S3 request still
    /// uses `UNSIGNED-PAYLOAD`, as S3 requires).
    Hash,
    /// Hash the body and send it in `x-amz-content-sha256` (header auth only).
    HashHeader,
    /// Leave the body unsigned: `UNSIGNED-PAYLOAD`, sent in
    /// `x-amz-content-sha256` under header auth.
    Unsigned,
}

/// What to sign for.
#[derive(Clone, Copy, Debug)]
pub struct Options<'o> {
    /// The region of the credential scope.
    pub region: &'o str,
    /// The signing name of the service.
    pub service: &'o str,
    /// The signing time, Unix seconds.
    pub time: i64,
    /// Canonicalization rules (normally `Rules::for_service(service)`).
    pub rules: Rules,
    /// How the payload is covered.
    pub payload: Payload,
    /// `Some(seconds)` for a presigned URL valid that long.
    pub presign: Option<i64>,
    /// The crypto backend.
    pub backend: Backend,
}

/// A signed request with every intermediate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed {
    /// The canonical request.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The hex signature.
    pub signature: String,
    /// The signed request bytes, ready to send.
    pub request: Vec<u8>,
}

/// Why a request cannot be signed.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignError {
    /// Every SigV4 request must carry a `Host` header.
    #[error("the request has no Host header, and SigV4 must sign one")]
    NoHost,
    /// The presign lifetime is outside 1 second to 7 days.
    #[error("a presigned URL must be valid for 1 to 604800 seconds, not {0}")]
    PresignLifetime(i64),
    /// The request's query already has a presigned URL's parameter (for
    /// header auth: `X-Amz-Algorithm`, which makes a verifier read the query).
    #[error("the request's query already has {0}; remove the presigned URL's parameters first")]
    AlreadyPresigned(&'static str),
    /// Only S3 reads a presigned URL's payload as `UNSIGNED-PAYLOAD`; other
    /// services hash the body, and a URL cannot say otherwise.
    #[error(
        "only S3 leaves a presigned URL's body unsigned; for other services sign the body's \
         hash, or send the header x-amz-content-sha256: UNSIGNED-PAYLOAD"
    )]
    UnsignedPresignedPayload,
}

/// Sign `request` (parsed from `raw`) with `creds` for `opts`.
///
/// # Errors
///
/// [`SignError`] when the request cannot carry a SigV4 signature.
pub fn sign(
    request: &Request<'_>,
    raw: &[u8],
    creds: &Credentials<'_>,
    opts: &Options<'_>,
) -> Result<Signed, SignError> {
    let date = AmzDate::from_unix(opts.time);
    let key = opts
        .backend
        .full_signing_key(creds.secret, date.date(), opts.region, opts.service);
    sign_with_key(
        request,
        raw,
        creds.access_key_id,
        creds.session_token,
        &key,
        opts,
    )
}

/// Sign `request` with an already derived signing key, as SDKs do with the
/// key they cache per scope. `key` must be the signing key of `opts`'s date,
/// region and service.
///
/// # Errors
///
/// [`SignError`] when the request cannot carry a SigV4 signature.
pub fn sign_with_key(
    request: &Request<'_>,
    raw: &[u8],
    access_key_id: &str,
    session_token: Option<&str>,
    key: &SigningKey,
    opts: &Options<'_>,
) -> Result<Signed, SignError> {
    if request.header("host").is_none() {
        return Err(SignError::NoHost);
    }
    let query = request.query.unwrap_or_default();
    if let Some(expires) = opts.presign {
        if !(1..=MAX_PRESIGN_EXPIRES_SECS).contains(&expires) {
            return Err(SignError::PresignLifetime(expires));
        }
        if let Some(name) = PRESIGN_PARAMS
            .into_iter()
            .find(|name| query_param(query, name).is_some())
        {
            return Err(SignError::AlreadyPresigned(name));
        }
        let declared = request.header("x-amz-content-sha256").is_some();
        if opts.payload == Payload::Unsigned && !opts.rules.presigned_payload_unsigned && !declared
        {
            return Err(SignError::UnsignedPresignedPayload);
        }
    } else if query_param(query, PRESIGN_PARAMS[0]).is_some() {
        return Err(SignError::AlreadyPresigned(PRESIGN_PARAMS[0]));
    }
    let date = AmzDate::from_unix(opts.time);
    let scope = format!(
        "{}/{}/{}/{SCOPE_TERMINATOR}",
        date.date(),
        opts.region,
        opts.service
    );
    let body_hash = body_hash(opts.backend, request.body);
    let presign = opts.presign.is_some();

    // The headers this signer writes itself replace any the request has.
    let mut replaced: Vec<&str> = vec!["authorization"];
    let mut added: Vec<(&str, String)> = Vec::new();
    if !presign {
        replaced.push("x-amz-date");
        added.push(("X-Amz-Date", date.as_str().to_string()));
        if let Some(token) = session_token {
            replaced.push("x-amz-security-token");
            added.push(("X-Amz-Security-Token", token.to_string()));
        }
        match opts.payload {
            Payload::HashHeader => added.push(("x-amz-content-sha256", body_hash.clone())),
            Payload::Unsigned => added.push(("x-amz-content-sha256", UNSIGNED_PAYLOAD.to_string())),
            Payload::Hash => {}
        }
        if opts.payload != Payload::Hash {
            replaced.push("x-amz-content-sha256");
        }
    }
    let kept: Vec<Header<'_>> = request
        .headers
        .iter()
        .filter(|h| !replaced.iter().any(|r| h.name.eq_ignore_ascii_case(r)))
        .copied()
        .collect();
    let mut all: Vec<Header<'_>> = kept.clone();
    all.extend(added.iter().map(|(n, v)| Header { name: n, value: v }));

    let mut names: Vec<String> = all
        .iter()
        .map(|h| h.name.to_ascii_lowercase())
        .filter(|n| !UNSIGNED_BY_CONVENTION.contains(&n.as_str()))
        .collect();
    names.sort();
    names.dedup();
    let signed_headers = names.join(";");

    let payload_hash = payload_hash(request, opts, &body_hash);
    let query = presign_query(
        request.query,
        access_key_id,
        session_token,
        opts,
        date,
        &scope,
        &signed_headers,
    );
    let parts = Parts {
        method: request.method,
        path: request.path,
        query: query.as_deref().or(request.query),
        headers: &all,
        signed_headers: &signed_headers,
        payload_hash: &payload_hash,
        skip_signature_param: false,
    };
    let mut creq = Vec::new();
    // Every signed name comes from `all`, so none can be missing.
    let _ = canonical::write(&mut creq, &parts, opts.rules.path);
    let creq_hash = hex::encode(opts.backend.sha256(&creq));
    let string_to_sign = format!("{ALGORITHM}\n{}\n{scope}\n{creq_hash}", date.as_str());
    let signature = hex::encode(opts.backend.hmac(&key.0, &[string_to_sign.as_bytes()]));

    let out = assemble(
        request,
        raw,
        &kept,
        &added,
        query.as_deref(),
        |lines| {
            if !presign {
                lines.push(format!(
                "Authorization: {ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
            ));
            }
        },
        presign.then_some(signature.as_str()),
    );
    Ok(Signed {
        canonical_request: String::from_utf8_lossy(&creq).into_owned(),
        string_to_sign,
        signature,
        request: out,
    })
}

/// The signature of one chunk of an S3 `aws-chunked` upload
/// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`), chained from the previous one.
pub fn chunk_signature(
    backend: Backend,
    key: &SigningKey,
    date: AmzDate,
    scope: &str,
    previous_signature: &str,
    chunk: &[u8],
) -> String {
    let sts = format!(
        "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{scope}\n{previous_signature}\n{EMPTY_SHA256_HEX}\n{}",
        date.as_str(),
        hex::encode(backend.sha256(chunk))
    );
    hex::encode(backend.hmac(&key.0, &[sts.as_bytes()]))
}

fn body_hash(backend: Backend, body: &[u8]) -> String {
    if body.is_empty() {
        EMPTY_SHA256_HEX.to_string()
    } else {
        hex::encode(backend.sha256(body))
    }
}

/// The payload hash a verifier will use: a declared `x-amz-content-sha256`
/// that this signer keeps (every one when presigning, and under
/// [`Payload::Hash`]) wins, as it does in the verifier.
fn payload_hash(request: &Request<'_>, opts: &Options<'_>, body_hash: &str) -> String {
    let presign = opts.presign.is_some();
    let kept = presign || opts.payload == Payload::Hash;
    if let Some(declared) = request.header("x-amz-content-sha256").filter(|_| kept) {
        return declared.to_string();
    }
    let unsigned =
        opts.payload == Payload::Unsigned || (presign && opts.rules.presigned_payload_unsigned);
    if unsigned {
        UNSIGNED_PAYLOAD.to_string()
    } else {
        body_hash.to_string()
    }
}

/// The query of a presigned URL before `X-Amz-Signature` is appended.
fn presign_query(
    original: Option<&str>,
    access_key_id: &str,
    session_token: Option<&str>,
    opts: &Options<'_>,
    date: AmzDate,
    scope: &str,
    signed_headers: &str,
) -> Option<String> {
    let expires = opts.presign?;
    let mut q = String::new();
    if let Some(o) = original.filter(|o| !o.is_empty()) {
        q.push_str(o);
        q.push('&');
    }
    q.push_str(&format!(
        "X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={}&X-Amz-Date={}&X-Amz-SignedHeaders={}&X-Amz-Expires={expires}",
        encode(&format!("{access_key_id}/{scope}")),
        date.as_str(),
        encode(signed_headers),
    ));
    if let Some(token) = session_token {
        q.push_str("&X-Amz-Security-Token=");
        q.push_str(&encode(token));
    }
    Some(q)
}

/// Rebuild the request: request line, kept headers, added headers, extra
/// lines, blank line, body. Line ends follow the original's style.
fn assemble(
    request: &Request<'_>,
    raw: &[u8],
    kept: &[Header<'_>],
    added: &[(&str, String)],
    query: Option<&str>,
    extra: impl FnOnce(&mut Vec<String>),
    presigned_signature: Option<&str>,
) -> Vec<u8> {
    let first_eol = raw.iter().position(|&b| b == b'\n');
    let crlf = first_eol.is_some_and(|i| i > 0 && raw[i - 1] == b'\r');
    let eol = if crlf { "\r\n" } else { "\n" };
    let target = match (query, presigned_signature) {
        (Some(q), Some(sig)) => format!("{}?{q}&X-Amz-Signature={sig}", request.path),
        _ => match request.query {
            Some(q) => format!("{}?{q}", request.path),
            None => request.path.to_string(),
        },
    };
    let mut lines = vec![format!("{} {target} {}", request.method, request.version)];
    lines.extend(kept.iter().map(|h| format!("{}: {}", h.name, h.value)));
    lines.extend(added.iter().map(|(n, v)| format!("{n}: {v}")));
    extra(&mut lines);
    let mut out = lines.join(eol).into_bytes();
    out.extend_from_slice(eol.as_bytes());
    out.extend_from_slice(eol.as_bytes());
    out.extend_from_slice(request.body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::crypto::Ring;
    use crate::sigv4::verify::{verify, Context};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn options(presign: Option<i64>) -> Options<'static> {
        Options {
            region: "us-east-1",
            service: "service",
            time: 1_440_938_160,
            rules: Rules::for_service("service"),
            payload: Payload::Hash,
            presign,
            backend: Backend::Ring,
        }
    }

    #[test]
    fn signs_the_vanilla_request_like_the_suite() {
        let secret = SecretAccessKey::new(SECRET).unwrap();
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE",
            secret: &secret,
            session_token: None,
        };
        let raw = b"GET / HTTP/1.1\nHost:example.amazonaws.com\n";
        let request = Request::parse(raw).unwrap();
        let signed = sign(&request, raw, &creds, &options(None)).unwrap();
        assert_eq!(
            signed.signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        let presigned = sign(&request, raw, &creds, &options(Some(3600))).unwrap();
        assert_eq!(
            presigned.signature,
            "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"
        );
    }

    #[test]
    fn signed_output_verifies_in_both_locations() {
        let secret = SecretAccessKey::new(SECRET).unwrap();
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE",
            secret: &secret,
            session_token: Some("token/with+chars="),
        };
        let raw = b"POST /a%20b?x=1&y HTTP/1.1\r\nHost: h:8443\r\nContent-Length: 5\r\n\r\nhello";
        let request = Request::parse(raw).unwrap();
        for presign in [None, Some(60)] {
            let signed = sign(&request, raw, &creds, &options(presign)).unwrap();
            let again = Request::parse(&signed.request).unwrap();
            let verified = verify::<Ring>(
                &again,
                &Context::at(1_440_938_160),
                &mut Vec::new(),
                |c, token| {
                    assert_eq!(token, Some("token/with+chars="));
                    Ok(Backend::Ring.full_signing_key(&secret, c.date, c.region, c.service))
                },
            );
            assert!(verified.is_ok(), "{presign:?}: {verified:?}");
            assert_eq!(again.body, b"hello");
        }
    }

    #[test]
    fn refuses_what_cannot_be_signed() {
        let secret = SecretAccessKey::new(SECRET).unwrap();
        let creds = Credentials {
            access_key_id: "AK",
            secret: &secret,
            session_token: None,
        };
        let raw = b"GET / HTTP/1.1\nX: y\n";
        let request = Request::parse(raw).unwrap();
        assert_eq!(
            sign(&request, raw, &creds, &options(None)),
            Err(SignError::NoHost)
        );
        let raw = b"GET / HTTP/1.1\nHost: h\n";
        let request = Request::parse(raw).unwrap();
        assert_eq!(
            sign(&request, raw, &creds, &options(Some(604_801))),
            Err(SignError::PresignLifetime(604_801))
        );
        let unsigned = Options {
            payload: Payload::Unsigned,
            ..options(Some(60))
        };
        assert_eq!(
            sign(&request, raw, &creds, &unsigned),
            Err(SignError::UnsignedPresignedPayload)
        );
        let raw = b"GET /?X-Amz-Date=1 HTTP/1.1\nHost: h\n";
        let request = Request::parse(raw).unwrap();
        assert_eq!(
            sign(&request, raw, &creds, &options(Some(60))),
            Err(SignError::AlreadyPresigned("X-Amz-Date"))
        );
        assert!(sign(&request, raw, &creds, &options(None)).is_ok());
        let raw = b"GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256 HTTP/1.1\nHost: h\n";
        let request = Request::parse(raw).unwrap();
        assert_eq!(
            sign(&request, raw, &creds, &options(None)),
            Err(SignError::AlreadyPresigned("X-Amz-Algorithm"))
        );
    }

    #[test]
    fn a_declared_payload_hash_is_the_one_signed() {
        // The verifier reads x-amz-content-sha256 when the request has one, so
        // the signer must sign that value, not the body's hash.
        let secret = SecretAccessKey::new(SECRET).unwrap();
        let creds = Credentials {
            access_key_id: "AK",
            secret: &secret,
            session_token: None,
        };
        let raw = b"PUT /k HTTP/1.1\nHost: h\nx-amz-content-sha256: UNSIGNED-PAYLOAD\n\nbody";
        let request = Request::parse(raw).unwrap();
        for presign in [None, Some(60)] {
            let signed = sign(&request, raw, &creds, &options(presign)).unwrap();
            assert!(
                signed.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"),
                "{presign:?}"
            );
        }
    }
}
