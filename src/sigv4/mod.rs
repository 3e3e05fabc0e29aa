//! AWS Signature Version 4, both sides, from raw HTTP/1.1 request bytes.
//!
//! [`http`] parses a raw request without copying it, [`canonical`] turns it into
//! the canonical request that SigV4 hashes, [`auth`] reads the signature's
//! parameters (an `Authorization` header or a presigned URL's query), [`sign`]
//! produces signed requests and [`verify`] checks them. Key derivation and the
//! two crypto backends live in [`crypto`]; the `X-Amz-Date` clock format lives in
//! [`amz_date`]. The data planes (`crate::data_plane`) call [`verify`] on every
//! request, so the verification path avoids heap allocation once its scratch
//! buffers are warm, and its text handling (the private `scan` module) tests
//! eight bytes per step.

pub mod amz_date;
pub mod auth;
pub mod canonical;
pub mod crypto;
pub mod digest;
pub mod encode;
pub mod explain;
pub mod http;
mod scan;
pub mod sign;
pub mod verify;

use std::fmt;

use serde::Serialize;

/// The signing algorithm name that opens every SigV4 string to sign.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The terminal element of every SigV4 credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";

/// The payload hash that marks a body as not covered by the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Hex SHA-256 of the empty string: the payload hash of a request without a body.
pub const EMPTY_SHA256_HEX: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// How far a header-signed request's `X-Amz-Date` may be from the verifier's
/// clock, and how early a presigned URL may be used before its date.
pub const MAX_SKEW_SECS: i64 = 15 * 60;

/// The longest lifetime a presigned URL may declare in `X-Amz-Expires`.
pub const MAX_PRESIGN_EXPIRES_SECS: i64 = 7 * 24 * 3600;

/// AWS's error codes for a refused request, as a real endpoint returns them.
///
/// The codes a verifier returns are exactly AWS's names so that a person who has
/// seen the real error recognises it; `ServiceUnavailable` is what a data plane
/// returns when a dependency (the control plane, under the `none` strategy)
/// cannot answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ErrorCode {
    /// The signature computed from the request differs from the one provided.
    SignatureDoesNotMatch,
    /// The signature parameters are incomplete or not in SigV4 form.
    IncompleteSignature,
    /// The credential scope is malformed or names another region or service.
    AuthorizationHeaderMalformed,
    /// A presigned URL's query parameters are missing or out of range, or its
    /// credential scope is malformed or names another region or service.
    AuthorizationQueryParametersError,
    /// The access key is not known to the verifier.
    InvalidAccessKeyId,
    /// The request's time is too far from the verifier's clock.
    RequestTimeTooSkewed,
    /// Refused by rule: an expired presigned URL, an unsigned `x-amz-*` header,
    /// an unsigned `host`, or (in the data planes) a policy that denies.
    AccessDenied,
    /// The declared `x-amz-content-sha256` does not match the body.
    XAmzContentSHA256Mismatch,
    /// The session token is not valid for the access key.
    InvalidClientTokenId,
    /// The request carries no SigV4 signature at all.
    MissingAuthenticationToken,
    /// A dependency of the verifier could not answer.
    ServiceUnavailable,
}

impl ErrorCode {
    /// Every code, in a fixed order used for tables and counters.
    pub const ALL: [ErrorCode; 11] = [
        ErrorCode::SignatureDoesNotMatch,
        ErrorCode::IncompleteSignature,
        ErrorCode::AuthorizationHeaderMalformed,
        ErrorCode::AuthorizationQueryParametersError,
        ErrorCode::InvalidAccessKeyId,
        ErrorCode::RequestTimeTooSkewed,
        ErrorCode::AccessDenied,
        ErrorCode::XAmzContentSHA256Mismatch,
        ErrorCode::InvalidClientTokenId,
        ErrorCode::MissingAuthenticationToken,
        ErrorCode::ServiceUnavailable,
    ];

    /// AWS's name for the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            ErrorCode::IncompleteSignature => "IncompleteSignature",
            ErrorCode::AuthorizationHeaderMalformed => "AuthorizationHeaderMalformed",
            ErrorCode::AuthorizationQueryParametersError => "AuthorizationQueryParametersError",
            ErrorCode::InvalidAccessKeyId => "InvalidAccessKeyId",
            ErrorCode::RequestTimeTooSkewed => "RequestTimeTooSkewed",
            ErrorCode::AccessDenied => "AccessDenied",
            ErrorCode::XAmzContentSHA256Mismatch => "XAmzContentSHA256Mismatch",
            ErrorCode::InvalidClientTokenId => "InvalidClientTokenId",
            ErrorCode::MissingAuthenticationToken => "MissingAuthenticationToken",
            ErrorCode::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    /// The index of the code in [`ErrorCode::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The HTTP status a real endpoint answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::IncompleteSignature
            | ErrorCode::AuthorizationHeaderMalformed
            | ErrorCode::AuthorizationQueryParametersError
            | ErrorCode::XAmzContentSHA256Mismatch
            | ErrorCode::MissingAuthenticationToken => 400,
            ErrorCode::ServiceUnavailable => 503,
            _ => 403,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request was refused: AWS's code and a short reason.
///
/// The reason is a static string so that refusing a request on the hot path
/// allocates nothing; `sigstorm verify` adds a longer explanation
/// ([`explain`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// AWS's error code.
    pub code: ErrorCode,
    /// What was wrong, in a few words.
    pub reason: &'static str,
}

impl Rejection {
    /// A rejection with `code` and `reason`.
    pub const fn new(code: ErrorCode, reason: &'static str) -> Rejection {
        Rejection { code, reason }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

impl std::error::Error for Rejection {}
