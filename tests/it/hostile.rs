//! Hostile input against the request parser (`sigv4::http`), the verifier
//! (`sigv4::verify`), the diagnosis behind `sigstorm verify`
//! (`sigv4::explain`) and the workload loader (`workload`).
//!
//! Property tests feed arbitrary bytes, ASCII soup and mutated signed
//! requests and check that nothing panics, that a parse is consistent with
//! its input, and that a request is never accepted once a part its signature
//! covers has changed. The judge of "covered" is [`SignedView`], written
//! here from the SigV4 definition rather than borrowed from
//! `sigv4::canonical`. Targeted cases pin the codes for hostile
//! `Authorization` headers, presigned parameters, dates, sizes and
//! signature spellings, and every refused workload value names its field.

use std::cell::RefCell;
use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};
use sha2::{Digest, Sha256};

use sigstorm::sigv4::auth::{self, Location};
use sigstorm::sigv4::canonical::Rules;
use sigstorm::sigv4::crypto::{Backend, Ring, SecretAccessKey};
use sigstorm::sigv4::explain::{self, Expected};
use sigstorm::sigv4::http::{is_token_byte, Header, ParseError, Request};
use sigstorm::sigv4::sign::{self, Credentials, Options, Payload};
use sigstorm::sigv4::verify::{self, Context};
use sigstorm::sigv4::{ErrorCode, Rejection, EMPTY_SHA256_HEX, UNSIGNED_PAYLOAD};
use sigstorm::workload::{Workload, MAX_REGIONS, MIN_RATE_PER_SEC};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// `20150830T123600Z`.
const NOW: i64 = 1_440_938_160;
/// `00000101T000000Z`, the first instant `X-Amz-Date` can name.
const YEAR_0000: i64 = -62_167_219_200;
/// `99991231T235959Z`, the last instant `X-Amz-Date` can name.
const YEAR_9999: i64 = 253_402_300_799;

/// A valid workload that the workload cases edit.
const MINIMAL_WORKLOAD: &str = "\
name = \"t\"
[run]
duration_s = 1
[load]
rate_per_sec = 100
[[regions]]
name = \"us-east-1\"
[[regions]]
name = \"eu-north-1\"
rtt_ms = 90
";

/// Requests the mutation property signs and then damages: both line ends,
/// with and without a body, a query, folded and duplicate headers, S3's path
/// rule and the normalizing one.
const BASES: [(&str, &str); 6] = [
    ("service", "GET /a/./b%20c/ HTTP/1.1\nHost: example.amazonaws.com\nX-Custom: one  two\n"),
    (
        "service",
        "POST /?b=2&a=1&a=0 HTTP/1.1\r\nHost: example.amazonaws.com:8443\r\nContent-Length: 5\r\n\r\nhello",
    ),
    (
        "s3",
        "PUT /bucket/k%2Fey HTTP/1.1\nHost: b.s3.amazonaws.com\nX-Amz-Meta-A: x\nX-Amz-Meta-A: y\nContent-Length: 3\n\nabc",
    ),
    ("s3", "GET /bucket/key?versionId=3&acl HTTP/1.1\nHost: b.s3.amazonaws.com\n"),
    ("service", "GET / HTTP/1.1\nHost: h\nMy-Header: a\n  b\n\tc\n"),
    (
        "sts",
        "POST / HTTP/1.1\nHost: sts.amazonaws.com\n\
         Content-Type: application/x-www-form-urlencoded\nContent-Length: 43\n\n\
         Action=GetCallerIdentity&Version=2011-06-15",
    ),
];

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

// The parser.

proptest! {
    #![proptest_config(config(2_000))]

    /// Any bytes parse or fail cleanly, and a parse is consistent with them.
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(raw in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(request) = Request::parse(&raw) {
            check_consistent(&raw, &request);
        }
    }

    /// Heads made of request-line and header fragments with CR, LF, spaces,
    /// tabs and colons anywhere reach every branch of the parser.
    #[test]
    fn parse_never_panics_on_ascii_heads(
        prefix in prop_oneof![Just(""), Just("GET / HTTP/1.1\n"), Just("POST /x?y HTTP/1.1\r\n")],
        pieces in prop::collection::vec(head_fragment(), 0..48),
    ) {
        let raw = format!("{prefix}{}", pieces.concat());
        let parsed = Request::parse(raw.as_bytes());
        if let Ok(request) = &parsed {
            check_consistent(raw.as_bytes(), request);
        }
    }
}

fn head_fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "GET",
        "POST",
        "HTTP/1.1",
        "HTTP/",
        " ",
        "  ",
        "\t",
        ":",
        "\r",
        "\n",
        "\r\n",
        "\n\n",
        "\r\n\r\n",
        "/",
        "?",
        "*",
        "Host",
        "Content-Length",
        "content-length",
        "0",
        "3",
        "+1",
        "99999999999999999999",
        "x",
        "%",
        "=",
        "&",
        "é",
        "\u{0}",
    ])
}

/// What every successful parse must satisfy, whatever the input.
fn check_consistent(raw: &[u8], request: &Request<'_>) {
    let within = |part: &[u8], limit: usize| {
        let start = part.as_ptr() as usize;
        let base = raw.as_ptr() as usize;
        assert!(
            start >= base && start + part.len() <= base + limit,
            "{part:?} outside the input"
        );
    };
    assert!(request.head_len <= raw.len());
    // The body starts where the head ends and lies inside the input.
    assert_eq!(
        request.body.as_ptr() as usize,
        raw.as_ptr() as usize + request.head_len
    );
    within(request.body, raw.len());
    if let Some(declared) = request.header("content-length") {
        assert_eq!(declared.parse::<usize>().ok(), Some(request.body.len()));
    }

    for part in [request.method, request.path, request.version] {
        within(part.as_bytes(), request.head_len);
    }
    if let Some(query) = request.query {
        within(query.as_bytes(), request.head_len);
    }
    assert!(!request.method.is_empty() && request.method.bytes().all(is_token_byte));
    assert!(
        request.path.starts_with('/') || request.path == "*",
        "{}",
        request.path
    );
    assert!(request.version.starts_with("HTTP/"));
    for header in &request.headers {
        assert!(!header.name.is_empty());
        assert!(header.name.bytes().all(is_token_byte), "{}", header.name);
        within(header.name.as_bytes(), request.head_len);
        within(header.value.as_bytes(), request.head_len);
        assert_eq!(header.value, header.value.trim_matches([' ', '\t']));
    }
}

#[test]
fn content_length_cannot_be_read_two_ways() {
    // Two readers that believe different Content-Length headers see different
    // bodies: the request is refused rather than verified as one of them.
    let raw = b"POST / HTTP/1.1\nHost: h\nContent-Length: 3\nContent-Length: 6\n\nabcdef";
    assert_eq!(
        Request::parse(raw),
        Err(ParseError::ConflictingContentLength { line: 4 })
    );
    for value in [
        "+3",
        "-0",
        "3 ",
        "0x3",
        "",
        "3,3",
        "99999999999999999999999",
    ] {
        let raw = format!("POST / HTTP/1.1\nContent-Length:{value}\n\nabc");
        let parsed = Request::parse(raw.as_bytes());
        // "3 " is 3 once HTTP's whitespace is trimmed.
        if value == "3 " {
            assert_eq!(parsed.unwrap().body, b"abc");
        } else {
            assert_eq!(
                parsed,
                Err(ParseError::ContentLength { line: 2 }),
                "{value:?}"
            );
        }
    }
}

#[test]
fn header_names_outside_http_tokens_are_refused() {
    for name in ["Hóst", "X-Ünïcode", "X Space", "X\u{0}", "(x)", "\u{1F600}"] {
        let raw = format!("GET / HTTP/1.1\nHost: h\n{name}: v\n");
        assert_eq!(
            Request::parse(raw.as_bytes()),
            Err(ParseError::Header {
                line: 3,
                reason: "name has a character HTTP does not allow (space, control or separator)"
            }),
            "{name}"
        );
    }
}

// The verifier and the diagnosis.

/// Requests assembled from hostile SigV4 parts, verified at any clock
/// reading: never a panic, never an acceptance, and `diagnose` (what
/// `sigstorm verify` prints) agrees with `verify` on the code. The tally
/// shows the inputs got past the parser into most of the verifier's checks.
#[test]
fn verify_and_diagnose_never_panic_on_hostile_requests() {
    let tally: RefCell<BTreeMap<String, usize>> = RefCell::default();
    let clocks = prop_oneof![
        6 => Just(NOW),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => any::<i64>(),
    ];
    let inputs = (hostile_request(), clocks, any::<bool>());
    TestRunner::new(config(1_500))
        .run(&inputs, |(raw, now, scoped)| {
            let Ok(request) = Request::parse(raw.as_bytes()) else {
                *tally
                    .borrow_mut()
                    .entry("not a request".into())
                    .or_default() += 1;
                return Ok(());
            };
            let ctx = if scoped {
                Context {
                    region: Some("us-east-1"),
                    service: Some("service"),
                    ..Context::at(now)
                }
            } else {
                Context::at(now)
            };
            let verdict = verify_request(&request, &ctx);
            prop_assert!(verdict.is_err(), "accepted: {}", raw);
            let code = verdict.err().map(|r| r.code);
            let report = diagnose(&request, &ctx, None);
            prop_assert_eq!(report.code, code);
            let name = code.map_or("accepted", ErrorCode::as_str);
            *tally.borrow_mut().entry(name.into()).or_default() += 1;
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    for code in [
        ErrorCode::MissingAuthenticationToken,
        ErrorCode::IncompleteSignature,
        ErrorCode::AuthorizationHeaderMalformed,
        ErrorCode::AuthorizationQueryParametersError,
        ErrorCode::RequestTimeTooSkewed,
        ErrorCode::AccessDenied,
        ErrorCode::SignatureDoesNotMatch,
        ErrorCode::XAmzContentSHA256Mismatch,
    ] {
        assert!(tally.contains_key(code.as_str()), "no {code}: {tally:?}");
    }
}

/// A signed request damaged anywhere (flipped, inserted or deleted bytes) is
/// refused unless everything its signature covers is unchanged. The tally
/// shows both sides were reached: damage the signature does not cover (a
/// header name's case, the protocol version, spacing) is accepted, and
/// everything else is refused.
#[test]
fn damaged_signed_requests_are_refused_unless_signed_parts_are_intact() {
    let tally: RefCell<BTreeMap<&'static str, usize>> = RefCell::default();
    let inputs = (
        0..BASES.len(),
        any::<bool>(),
        prop::collection::vec(edit(), 1..4),
    );
    TestRunner::new(config(3_000))
        .run(&inputs, |(base, presign, edits)| {
            let (service, raw) = BASES[base];
            let signed = sign_raw(raw.as_bytes(), service, NOW, presign.then_some(900));
            let original = Request::parse(&signed).unwrap();
            let want = SignedView::of(&original).unwrap();

            let mut damaged = signed.clone();
            for e in &edits {
                e.apply(&mut damaged);
            }
            let Ok(request) = Request::parse(&damaged) else {
                *tally.borrow_mut().entry("not a request").or_default() += 1;
                return Ok(());
            };
            let ctx = Context::at(NOW);
            let verdict = verify_request(&request, &ctx);
            if verdict.is_ok() {
                let got = SignedView::of(&request);
                prop_assert_eq!(
                    got.as_ref(),
                    Some(&want),
                    "accepted after {:?}: {}",
                    edits,
                    String::from_utf8_lossy(&damaged)
                );
            }
            let report = diagnose(&request, &ctx, None);
            prop_assert_eq!(report.code, verdict.err().map(|r| r.code));
            let outcome = match verdict {
                Ok(()) if damaged == signed => "unchanged",
                Ok(()) => "accepted",
                Err(_) => "refused",
            };
            *tally.borrow_mut().entry(outcome).or_default() += 1;
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    for outcome in ["not a request", "accepted", "refused"] {
        assert!(
            tally.get(outcome).is_some_and(|&n| n > 10),
            "{outcome}: {tally:?}"
        );
    }
}

/// Whatever request the signer agrees to sign, the verifier accepts at the
/// signing time: odd paths, queries that already carry `X-Amz-*` names,
/// folded, duplicate and empty headers, both locations, both path rules.
#[test]
fn whatever_the_signer_signs_the_verifier_accepts() {
    let tally: RefCell<BTreeMap<String, usize>> = RefCell::default();
    let inputs = (
        unsigned_request(),
        prop::sample::select(vec!["s3", "service"]),
        prop::option::of(1..=604_800i64),
        prop::sample::select(vec![Payload::Hash, Payload::HashHeader, Payload::Unsigned]),
    );
    TestRunner::new(config(1_500))
        .run(&inputs, |(raw, service, presign, payload)| {
            let Ok(request) = Request::parse(raw.as_bytes()) else {
                *tally
                    .borrow_mut()
                    .entry("not a request".into())
                    .or_default() += 1;
                return Ok(());
            };
            let secret = secret();
            let creds = Credentials {
                access_key_id: AKID,
                secret: &secret,
                session_token: None,
            };
            let opts = Options {
                region: "us-east-1",
                service,
                time: NOW,
                rules: Rules::for_service(service),
                payload,
                presign,
                backend: Backend::Ring,
            };
            let signed = match sign::sign(&request, raw.as_bytes(), &creds, &opts) {
                Ok(signed) => signed,
                Err(e) => {
                    *tally
                        .borrow_mut()
                        .entry(format!("not signed: {e}"))
                        .or_default() += 1;
                    return Ok(());
                }
            };
            let again = Request::parse(&signed.request);
            prop_assert!(
                again.is_ok(),
                "{:?}: {}",
                again,
                String::from_utf8_lossy(&signed.request)
            );
            let verdict = verify_request(&again.unwrap(), &Context::at(NOW));
            // The signer keeps a declared x-amz-content-sha256 as given; the
            // verifier then holds the body to it.
            let kept = presign.is_some() || payload == Payload::Hash;
            let declared = request.header("x-amz-content-sha256").filter(|_| kept);
            let body_hash = hex::encode(Sha256::digest(request.body));
            let wrong_hash = declared.is_some_and(|v| {
                v != UNSIGNED_PAYLOAD && !v.starts_with("STREAMING-") && v != body_hash
            });
            let expected = if wrong_hash {
                Err(ErrorCode::XAmzContentSHA256Mismatch)
            } else {
                Ok(())
            };
            prop_assert_eq!(
                verdict.map_err(|r| r.code),
                expected,
                "{}\n--- signed as ---\n{}",
                raw,
                String::from_utf8_lossy(&signed.request)
            );
            let outcome = if wrong_hash {
                "declared a wrong hash"
            } else {
                "accepted"
            };
            *tally.borrow_mut().entry(outcome.into()).or_default() += 1;
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    assert!(tally.get("accepted").is_some_and(|&n| n > 500), "{tally:?}");
}

/// Requests a person might hand `sigstorm sign`, odd ones included.
fn unsigned_request() -> BoxedStrategy<String> {
    let path = prop::collection::vec(
        prop::sample::select(vec![
            "/", "a", "%2F", "%", "..", ".", " ", "é", "%zz", "+", "~", "//", "%20", "*", "$",
        ]),
        0..6,
    )
    .prop_map(|p| format!("/{}", p.concat()));
    let query = prop::collection::vec(
        prop::sample::select(vec![
            "a",
            "=",
            "&",
            "%",
            "+",
            "b=1",
            "%41",
            " ",
            "é",
            "a=%",
            "X-Amz-Date=x",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=AK%2Fx",
            "X-Amz-Signature=abc",
            "X-Amz-Expires=1",
            "X-Amz-SignedHeaders=host",
        ]),
        0..6,
    )
    .prop_map(|q| q.concat());
    let header = (
        prop::sample::select(vec![
            "X-Custom",
            "x-amz-meta-a",
            "X-Amz-Date",
            "Authorization",
            "User-Agent",
            "Expect",
            "Content-Type",
            "Host",
            "X-Amzn-Trace-Id",
            "x-amz-content-sha256",
        ]),
        prop::sample::select(vec![
            "",
            "v",
            " a  b ",
            "a\n  b",
            "a\r\n\tb",
            "é",
            "a,b",
            "\t",
            "20150830T123600Z",
            "UNSIGNED-PAYLOAD",
        ]),
    )
        .prop_map(|(n, v)| format!("{n}: {v}"));
    (
        prop::sample::select(vec!["GET", "PUT", "POST", "DELETE"]),
        path,
        prop::option::of(query),
        prop::sample::select(vec!["\n", "\r\n"]),
        prop::collection::vec(header, 0..5),
        prop::option::of("[a-z\\n]{0,10}"),
    )
        .prop_map(|(method, path, query, eol, headers, body)| {
            let target = match query {
                Some(q) => format!("{path}?{q}"),
                None => path,
            };
            let mut lines = vec![
                format!("{method} {target} HTTP/1.1"),
                "Host: example.com".into(),
            ];
            lines.extend(headers);
            if let Some(body) = &body {
                lines.push(format!("Content-Length: {}", body.len()));
            }
            let mut raw = lines.join(eol);
            raw.push_str(eol);
            if let Some(body) = body {
                raw.push_str(eol);
                raw.push_str(&body);
            }
            raw
        })
        .boxed()
}

/// One edit of a signed request's bytes.
#[derive(Clone, Debug)]
enum Edit {
    Flip(Index, u8),
    Insert(Index, u8),
    Delete(Index),
}

impl Edit {
    fn apply(&self, bytes: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        match self {
            Edit::Flip(at, mask) => {
                let at = at.index(bytes.len());
                bytes[at] ^= (*mask).max(1);
            }
            Edit::Insert(at, b) => bytes.insert(at.index(bytes.len() + 1), *b),
            Edit::Delete(at) => {
                bytes.remove(at.index(bytes.len()));
            }
        }
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that change meaning in a request, and any byte at all.
    let byte = prop_oneof![
        prop::sample::select(b" \t\r\n:;,=&?/%.+AZaz09\x00\xff".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (
            any::<Index>(),
            prop_oneof![Just(0x20u8), Just(1), any::<u8>()]
        )
            .prop_map(|(i, m)| Edit::Flip(i, m)),
        (any::<Index>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Delete),
    ]
}

/// A request built from hostile SigV4 parts. Most are well-formed enough to
/// get past the parameter parsing, so that every later check sees hostile
/// values too.
fn hostile_request() -> BoxedStrategy<String> {
    let date = prop_oneof![
        20 => Just("20150830T123600Z".to_string()),
        1 => Just("00000101T000000Z".to_string()),
        1 => Just("99991231T235959Z".to_string()),
        1 => Just("00000000T000000Z".to_string()),
        1 => Just("20150830T123600".to_string()),
        1 => "2015083[01]T[0-9]{6}Z",
        1 => "\\PC{0,20}",
    ];
    let scope_date = prop_oneof![
        20 => Just("20150830".to_string()),
        1 => Just("00000101".to_string()),
        1 => "[0-9]{8}",
        1 => "\\PC{0,9}",
    ];
    let credential = (
        prop_oneof![20 => Just(AKID.to_string()), 1 => Just(String::new()), 1 => "\\PC{0,8}"],
        scope_date,
        prop_oneof![20 => Just("us-east-1"), 1 => Just(""), 1 => Just("eu-north-1")],
        prop_oneof![20 => Just("service"), 1 => Just("s3"), 1 => Just("")],
        prop_oneof![20 => Just("aws4_request"), 1 => Just(""), 1 => Just("aws4_request/x")],
    )
        .prop_map(|(k, d, r, s, t)| format!("{k}/{d}/{r}/{s}/{t}"))
        .boxed();
    let signed_headers = prop_oneof![
        20 => Just("host;x-amz-date".to_string()),
        1 => Just("host".to_string()),
        1 => Just(String::new()),
        1 => Just(";;".to_string()),
        1 => Just("HOST;X-AMZ-DATE;host".to_string()),
        1 => Just("host;x-amz-content-sha256;x-amz-date".to_string()),
        1 => "[a-z;-]{0,30}",
    ];
    let signature = prop_oneof![
        20 => "[0-9a-f]{64}",
        1 => "[0-9A-F]{64}",
        1 => "[0-9a-f]{0,70}",
        1 => Just("é".repeat(32)),
        1 => "\\PC{0,64}",
    ];
    let well_formed = (
        credential.clone(),
        signed_headers.clone(),
        signature.clone(),
        prop_oneof![Just(","), Just(", "), Just(",,"), Just(" , ")],
        any::<Index>(),
    )
        .prop_map(|(c, h, sig, sep, order)| {
            let mut items = [
                format!("Credential={c}"),
                format!("SignedHeaders={h}"),
                format!("Signature={sig}"),
            ];
            items.rotate_left(order.index(3));
            items.join(sep)
        })
        .boxed();
    let item = prop_oneof![
        credential.clone().prop_map(|c| format!("Credential={c}")),
        signed_headers
            .clone()
            .prop_map(|s| format!("SignedHeaders={s}")),
        signature.clone().prop_map(|s| format!("Signature={s}")),
        Just("Credential=".to_string()),
        Just(String::new()),
        Just("junk".to_string()),
        Just("Credential==x".to_string()),
        "\\PC{0,12}",
    ];
    let loose = prop::collection::vec(item, 0..6).prop_map(|items| items.join(","));
    let authorization = (
        prop_oneof![
            20 => Just("AWS4-HMAC-SHA256 "),
            1 => Just("AWS4-HMAC-SHA256\t"),
            1 => Just("AWS4-HMAC-SHA256"),
            1 => Just("aws4-hmac-sha256 "),
            1 => Just("AWS "),
            1 => Just(""),
        ],
        prop_oneof![20 => well_formed, 1 => loose],
    )
        .prop_map(|(prefix, rest)| format!("{prefix}{rest}"))
        .boxed();
    let query_value = prop_oneof![
        "[A-Za-z0-9%/._~-]{0,20}",
        Just("%".to_string()),
        Just("%FF%FE".to_string()),
        Just("%E2%82".to_string()),
    ];
    let query_param = (
        prop::sample::select(vec![
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-SignedHeaders",
            "X-Amz-Signature",
            "X-Amz-Security-Token",
            "x",
            "%",
        ]),
        query_value,
    )
        .prop_map(|(n, v)| format!("{n}={v}"));
    let expires = prop_oneof![
        20 => Just("900".to_string()),
        1 => Just("-1".to_string()),
        1 => Just("0".to_string()),
        1 => Just("604800".to_string()),
        1 => Just("604801".to_string()),
        1 => Just("99999999999999999999".to_string()),
        1 => "[0-9+-]{0,8}",
    ];
    let presigned = (
        credential,
        date.clone(),
        expires,
        signed_headers,
        signature,
        prop::collection::vec(query_param, 0..3),
    )
        .prop_map(|(c, d, e, s, sig, extra)| {
            let mut q = format!(
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={}&X-Amz-Date={d}&X-Amz-Expires={e}&X-Amz-SignedHeaders={}&X-Amz-Signature={sig}",
                c.replace('/', "%2F"),
                s.replace(';', "%3B")
            );
            for p in extra {
                q.push('&');
                q.push_str(&p);
            }
            q
        })
        .boxed();
    // Header-signed, presigned, both, or neither.
    let signing = prop_oneof![
        20 => authorization.clone().prop_map(|a| (None, Some(a))),
        20 => presigned.clone().prop_map(|q| (Some(q), None)),
        1 => (presigned, authorization).prop_map(|(q, a)| (Some(q), Some(a))),
        1 => Just((None, None)),
    ]
    .boxed();
    let content_sha = prop_oneof![
        20 => Just(None),
        1 => Just(Some(EMPTY_SHA256_HEX.to_string())),
        1 => Just(Some(UNSIGNED_PAYLOAD.to_string())),
        1 => Just(Some("STREAMING-AWS4-HMAC-SHA256-PAYLOAD".to_string())),
        1 => "[0-9a-fA-F]{64}".prop_map(Some),
    ];
    (
        prop::sample::select(vec!["GET", "POST", "PUT"]),
        prop::sample::select(vec!["/", "/a/../..", "//", "/%", "/%zz/%2F", "/a b", "*"]),
        signing,
        prop_oneof![20 => date.prop_map(Some), 1 => Just(None)],
        prop::option::of(Just("Fri, 24 May 2013 00:00:00 GMT")),
        content_sha,
        "[a-z]{0,12}",
    )
        .prop_map(
            |(method, path, (query, authz), date, http_date, sha, body)| {
                let mut raw = match query {
                    Some(q) => format!("{method} {path}?{q} HTTP/1.1\n"),
                    None => format!("{method} {path} HTTP/1.1\n"),
                };
                raw.push_str("Host: example.amazonaws.com\n");
                for (name, value) in [
                    ("X-Amz-Date", date),
                    ("Date", http_date.map(str::to_string)),
                    ("x-amz-content-sha256", sha),
                    ("Authorization", authz),
                ] {
                    if let Some(v) = value {
                        raw.push_str(&format!("{name}: {v}\n"));
                    }
                }
                raw.push_str(&format!("Content-Length: {}\n\n{body}", body.len()));
                raw
            },
        )
        .boxed()
}

#[test]
fn hostile_authorization_headers_get_aws_codes() {
    use ErrorCode::*;
    let good = "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                SignedHeaders=host;x-amz-date, \
                Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    let huge_key = "A".repeat(1 << 20);
    let many_names = vec!["x-a"; 100_000].join(";");
    let cases: [(String, Result<(), ErrorCode>); 13] = [
        (String::new(), Err(IncompleteSignature)),
        ("AWS4-HMAC-SHA256".into(), Err(IncompleteSignature)),
        (format!("aws4-hmac-sha256 {good}"), Err(IncompleteSignature)),
        ("AWS4-HMAC-SHA256 ,,,,,".into(), Err(IncompleteSignature)),
        (
            "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=".into(),
            Err(AuthorizationHeaderMalformed),
        ),
        (
            format!("AWS4-HMAC-SHA256 {good}, Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"),
            Err(IncompleteSignature),
        ),
        (
            format!("AWS4-HMAC-SHA256 Credential=a, {good}"),
            Err(IncompleteSignature),
        ),
        (
            format!("AWS4-HMAC-SHA256 {}", good.replace("aws4_request", "aws4_request/extra")),
            Err(AuthorizationHeaderMalformed),
        ),
        (
            // A full-width digit in the scope date.
            format!("AWS4-HMAC-SHA256 {}", good.replace("20150830/", "2015083\u{ff10}/")),
            Err(AuthorizationHeaderMalformed),
        ),
        (
            format!("AWS4-HMAC-SHA256 {}", good.replace("AKIDEXAMPLE", &huge_key)),
            Err(InvalidAccessKeyId),
        ),
        (
            // 100,000 names in SignedHeaders that the request does not have.
            format!(
                "AWS4-HMAC-SHA256 {}",
                good.replace("host;x-amz-date", &format!("host;x-amz-date;{many_names}"))
            ),
            Err(SignatureDoesNotMatch),
        ),
        // A megabyte of empty elements is still the same signature.
        (format!("AWS4-HMAC-SHA256 {}{good}", ",".repeat(1 << 20)), Ok(())),
        (format!("AWS4-HMAC-SHA256 {good}"), Ok(())),
    ];
    for (authorization, expected) in cases {
        let raw = format!(
            "GET / HTTP/1.1\nHost:example.amazonaws.com\nX-Amz-Date:20150830T123600Z\nAuthorization: {authorization}\n"
        );
        let shown = &authorization[..authorization.len().min(100)];
        assert_eq!(verdict_of(raw.as_bytes(), NOW), Some(expected), "{shown}");
        let request = Request::parse(raw.as_bytes()).unwrap();
        let report = diagnose(&request, &Context::at(NOW), None);
        assert_eq!(report.code, expected.err(), "{shown}");
    }
}

#[test]
fn hostile_presigned_parameters_get_aws_codes() {
    use ErrorCode::*;
    let signed = String::from_utf8(sign_raw(
        b"GET /k HTTP/1.1\nHost: b.s3.amazonaws.com\n",
        "s3",
        NOW,
        Some(900),
    ))
    .unwrap();
    assert_eq!(verdict_of(signed.as_bytes(), NOW), Some(Ok(())));
    let cases: [(&str, &str, Result<(), ErrorCode>); 13] = [
        // Decodes to bytes that are not UTF-8.
        (
            "X-Amz-Credential=AKIDEXAMPLE",
            "X-Amz-Credential=%FF%FEAKIDEXAMPLE",
            Err(AuthorizationQueryParametersError),
        ),
        (
            "X-Amz-Credential=AKIDEXAMPLE",
            "X-Amz-Credential=%E2%82AKIDEXAMPLE",
            Err(AuthorizationQueryParametersError),
        ),
        // A '%' at the end of a value stays a literal '%'.
        (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Algorithm=AWS4-HMAC-SHA256%",
            Err(AuthorizationQueryParametersError),
        ),
        (
            "X-Amz-Expires=900",
            "X-Amz-Expires=900%",
            Err(AuthorizationQueryParametersError),
        ),
        (
            "X-Amz-Date=20150830T123600Z",
            "X-Amz-Date=20150830T123600Z%",
            Err(AuthorizationQueryParametersError),
        ),
        // `host%` is not `host`, and host must be signed.
        (
            "X-Amz-SignedHeaders=host",
            "X-Amz-SignedHeaders=host%",
            Err(AccessDenied),
        ),
        (
            "X-Amz-SignedHeaders=host",
            "X-Amz-SignedHeaders=host%3Bx%",
            Err(SignatureDoesNotMatch),
        ),
        // The lifetime must be 1 to 604800 whole seconds.
        (
            "X-Amz-Expires=900",
            "X-Amz-Expires=-1",
            Err(AuthorizationQueryParametersError),
        ),
        (
            "X-Amz-Expires=900",
            "X-Amz-Expires=0",
            Err(AuthorizationQueryParametersError),
        ),
        (
            "X-Amz-Expires=900",
            "X-Amz-Expires=604801",
            Err(AuthorizationQueryParametersError),
        ),
        (
            "X-Amz-Expires=900",
            "X-Amz-Expires=99999999999999999999",
            Err(AuthorizationQueryParametersError),
        ),
        (
            "X-Amz-Expires=900",
            "X-Amz-Expires=",
            Err(AuthorizationQueryParametersError),
        ),
        // Signed both ways at once.
        (
            "HTTP/1.1\n",
            "HTTP/1.1\nAuthorization: AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request\n",
            Err(IncompleteSignature),
        ),
    ];
    for (from, to, expected) in cases {
        assert!(signed.contains(from), "{from}");
        let raw = signed.replacen(from, to, 1);
        assert_eq!(verdict_of(raw.as_bytes(), NOW), Some(expected), "{to}");
        let request = Request::parse(raw.as_bytes()).unwrap();
        assert_eq!(
            diagnose(&request, &Context::at(NOW), None).code,
            expected.err(),
            "{to}"
        );
    }
}

#[test]
fn presigned_lifetime_bounds_are_inclusive() {
    let raw = b"GET /k HTTP/1.1\nHost: b.s3.amazonaws.com\n";
    let week = 604_800;
    let signed = sign_raw(raw, "s3", NOW, Some(week));
    assert_eq!(verdict_of(&signed, NOW + week), Some(Ok(())));
    assert_eq!(
        verdict_of(&signed, NOW + week + 1),
        Some(Err(ErrorCode::AccessDenied))
    );
    assert_eq!(verdict_of(&signed, NOW - 900), Some(Ok(())));
    assert_eq!(
        verdict_of(&signed, NOW - 901),
        Some(Err(ErrorCode::AccessDenied))
    );
}

#[test]
fn ten_thousand_query_parameters_sign_and_verify() {
    let query: Vec<String> = (0..10_000).rev().map(|i| format!("p{i}=v%20{i}")).collect();
    let raw = format!(
        "GET /?{} HTTP/1.1\nHost: example.amazonaws.com\n",
        query.join("&")
    );
    for presign in [None, Some(60)] {
        let signed = sign_raw(raw.as_bytes(), "service", NOW, presign);
        assert_eq!(verdict_of(&signed, NOW), Some(Ok(())), "{presign:?}");
        let changed =
            String::from_utf8(signed)
                .unwrap()
                .replacen("p5000=v%205000", "p5000=v%205001", 1);
        assert_eq!(
            verdict_of(changed.as_bytes(), NOW),
            Some(Err(ErrorCode::SignatureDoesNotMatch)),
            "{presign:?}"
        );
    }
}

#[test]
fn a_thousand_headers_sign_verify_and_diagnose() {
    let mut raw = String::from("GET / HTTP/1.1\nHost: example.amazonaws.com\n");
    for i in 0..1_000 {
        raw.push_str(&format!("X-H{i}: value {i}\n"));
    }
    let signed = sign_raw(raw.as_bytes(), "service", NOW, None);
    assert_eq!(verdict_of(&signed, NOW), Some(Ok(())));
    let changed =
        String::from_utf8(signed)
            .unwrap()
            .replacen("X-H999: value 999", "X-H999: value 998", 1);
    let request = Request::parse(changed.as_bytes()).unwrap();
    let report = diagnose(&request, &Context::at(NOW), None);
    assert_eq!(report.code, Some(ErrorCode::SignatureDoesNotMatch));
}

#[test]
fn a_deeply_folded_header_signs_and_verifies() {
    let mut raw = String::from("GET / HTTP/1.1\nHost: example.amazonaws.com\nX-Folded: start\n");
    for i in 0..10_000 {
        raw.push_str(if i % 2 == 0 { "  more\n" } else { "\t\tmore\n" });
    }
    let signed = sign_raw(raw.as_bytes(), "service", NOW, None);
    assert_eq!(verdict_of(&signed, NOW), Some(Ok(())));
    let request = Request::parse(&signed).unwrap();
    let report = diagnose(&request, &Context::at(NOW), None);
    let creq = report.canonical_request.unwrap();
    let expected = format!("x-folded:start{}\n", " more".repeat(10_000));
    assert!(
        creq.contains(&expected),
        "the folded value is one line of single spaces"
    );
}

#[test]
fn dates_at_the_ends_of_x_amz_date_sign_and_verify() {
    let raw = b"GET / HTTP/1.1\nHost: example.amazonaws.com\n";
    for (time, date) in [
        (YEAR_0000, "00000101T000000Z"),
        (YEAR_9999, "99991231T235959Z"),
    ] {
        for presign in [None, Some(604_800)] {
            let signed = sign_raw(raw, "service", time, presign);
            assert!(String::from_utf8_lossy(&signed).contains(date), "{date}");
            assert_eq!(
                verdict_of(&signed, time),
                Some(Ok(())),
                "{date} {presign:?}"
            );
            let late = if presign.is_some() {
                ErrorCode::AccessDenied
            } else {
                ErrorCode::RequestTimeTooSkewed
            };
            for now in [NOW, i64::MIN, i64::MAX, 0] {
                let got = verdict_of(&signed, now);
                assert_eq!(got, Some(Err(late)), "{date} {presign:?} at {now}");
            }
        }
    }
    // A date that names no instant is malformed, not skewed.
    let bad = "GET / HTTP/1.1\nHost:h\nX-Amz-Date:00000000T000000Z\nAuthorization: \
               AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/00000000/us-east-1/service/aws4_request, \
               SignedHeaders=host;x-amz-date, Signature=00";
    assert_eq!(
        verdict_of(bad.as_bytes(), NOW),
        Some(Err(ErrorCode::IncompleteSignature))
    );
}

#[test]
fn signatures_of_the_wrong_length_or_case_do_not_match() {
    // SigV4 signatures are lower-case hex. AWS answers an upper-case one with
    // SignatureDoesNotMatch (aws/aws-sdk-js#3322), so sigstorm does too: one
    // signature has exactly one accepted spelling, and `verify` says why.
    let raw = b"GET / HTTP/1.1\nHost: example.amazonaws.com\n";
    for presign in [None, Some(60)] {
        let signed = String::from_utf8(sign_raw(raw, "service", NOW, presign)).unwrap();
        let request = Request::parse(signed.as_bytes()).unwrap();
        let sig = auth::read(&request).unwrap().signature().to_string();
        assert_eq!(sig.len(), 64);
        let variants = [
            sig.to_ascii_uppercase(),
            sig[..63].to_string(),
            format!("{sig}0"),
            String::new(),
            sig.repeat(2),
            "é".repeat(32),
            format!("{}G", &sig[..63]),
        ];
        for other in variants {
            let tampered = signed.replacen(&sig, &other, 1);
            assert_eq!(
                verdict_of(tampered.as_bytes(), NOW),
                Some(Err(ErrorCode::SignatureDoesNotMatch)),
                "{presign:?} {other}"
            );
        }
        let upper = signed.replacen(&sig, &sig.to_ascii_uppercase(), 1);
        let request = Request::parse(upper.as_bytes()).unwrap();
        let report = diagnose(&request, &Context::at(NOW), None);
        assert_eq!(
            report.message,
            "the provided signature is not 64 lower-case hex digits"
        );
        assert!(
            report.hints[0].contains("upper-case hex"),
            "{:?}",
            report.hints
        );
    }
}

#[test]
fn a_hand_built_request_with_unicode_header_names_does_not_panic() {
    // `Request`'s fields are public, so a caller can build one that the
    // parser would refuse; the verifier must still not panic on it.
    let signed = sign_raw(
        b"GET / HTTP/1.1\nHost: example.amazonaws.com\n",
        "service",
        NOW,
        None,
    );
    let mut request = Request::parse(&signed).unwrap();
    for name in ["x-amzé", "é", "x-am\u{1F600}", "X-AMZ-\u{0}"] {
        request.headers.push(Header { name, value: "v" });
        let verdict = verify_request(&request, &Context::at(NOW));
        let expected = if name.to_ascii_lowercase().starts_with("x-amz-") {
            Err(ErrorCode::AccessDenied)
        } else {
            Ok(())
        };
        assert_eq!(verdict.map_err(|r| r.code), expected, "{name}");
        diagnose(
            &request,
            &Context::at(NOW),
            Some("GET\n/\n\nhost:x\n\nhost\n-"),
        );
        request.headers.pop();
    }
}

// The workload loader.

proptest! {
    #![proptest_config(config(1_000))]

    /// Any text at all: an error naming the file, never a panic.
    #[test]
    fn arbitrary_text_is_refused_naming_the_file(text in "\\PC{0,200}") {
        let err = Workload::parse(&text, "garbage.toml").unwrap_err().to_string();
        prop_assert!(err.starts_with("garbage.toml:"), "{}", err);
        prop_assert!(!err.contains('\n'), "{}", err);
    }

    /// TOML-shaped soup reaches the type checks and the validation.
    #[test]
    fn toml_soup_is_refused_naming_the_file(pieces in prop::collection::vec(toml_fragment(), 0..40)) {
        let text = pieces.concat();
        if let Err(e) = Workload::parse(&text, "soup.toml") {
            let err = e.to_string();
            prop_assert!(err.starts_with("soup.toml:"), "{}", err);
            prop_assert!(!err.contains('\n'), "{}", err);
        }
    }

    /// Any number in a numeric field: accepted only inside the field's range,
    /// otherwise refused with the field named.
    #[test]
    fn numbers_outside_a_fields_range_are_refused_naming_it(
        field in prop::sample::select(NUMERIC_FIELDS.to_vec()),
        value in prop_oneof![
            prop::sample::select(vec![
                "nan", "+nan", "-nan", "inf", "-inf", "0", "-0.0", "-1", "1e300", "-1e300",
                "5e-324", "9223372036854775807", "-9223372036854775808", "18446744073709551615",
                "1e7", "10000001", "0.5", "1",
            ]).prop_map(str::to_string),
            any::<f64>().prop_map(|v| format!("{v:?}")),
            any::<i64>().prop_map(|v| v.to_string()),
        ],
    ) {
        let (table, key, lo, hi) = field;
        let text = with_field(table, key, &value);
        match Workload::parse(&text, "w.toml") {
            Ok(w) => {
                let got = read_field(&w, table, key);
                prop_assert!(got.is_finite() && got >= lo && got <= hi, "{}.{} = {} accepted", table, key, value);
            }
            // A median above the default p99 (30 000 ms) is refused as a p99
            // below the median, at the [replication] header.
            Err(e) if key == "delay_median_ms" && e.to_string().contains("`replication.delay_p99_ms`") => {
                let median: f64 = value.parse().unwrap();
                prop_assert!(median > 30_000.0, "{}", e);
            }
            Err(e) => {
                let err = e.to_string();
                prop_assert!(err.contains(&format!("field `{table}.{key}`")), "{}", err);
                let line = text.lines().position(|l| l.starts_with(key)).unwrap() + 1;
                prop_assert!(err.starts_with(&format!("w.toml:{line}: ")), "{}", err);
            }
        }
    }
}

fn toml_fragment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "name = \"t\"\n",
        "[run]\n",
        "[load]\n",
        "[[regions]]\n",
        "[principals]\n",
        "[traffic]\n",
        "[services]\n",
        "name = ",
        "duration_s = ",
        "rate_per_sec = ",
        "users = ",
        "regions = ",
        "\"us-east-1\"",
        "\"x\"",
        "1",
        "-1",
        "1e400",
        "nan",
        "inf",
        "18446744073709551615",
        "[",
        "]",
        "{",
        "}",
        ",",
        "=",
        "\n",
        "#",
        "'''",
        "\"\"\"",
        "é",
        "\u{0}",
        "\r\n",
        "s3 = ",
        "strategies = [\"none\", \"none\"]\n",
        "true",
        "1979-05-27T07:32:00Z",
    ])
}

/// The smallest f64 above 0: "more than 0" as a closed range.
const SMALLEST_POSITIVE: f64 = 5e-324;

/// `(table, key, lowest, highest)` of every numeric field, as validation
/// documents it.
const NUMERIC_FIELDS: [(&str, &str, f64, f64); 19] = [
    ("run", "duration_s", SMALLEST_POSITIVE, 3600.0),
    ("run", "warmup_s", 0.0, 600.0),
    ("run", "drain_timeout_s", 0.1, 600.0),
    ("load", "rate_per_sec", MIN_RATE_PER_SEC, 10_000_000.0),
    ("load", "max_in_flight", 1.0, 9.223_372_036_854_776e18),
    ("control_plane", "workers", 1.0, 1_000_000.0),
    ("control_plane", "service_time_ms", 0.0, 10_000.0),
    ("control_plane", "push_ahead_s", 0.0, 86_400.0),
    ("data_plane", "azs", 3.0, 16.0),
    ("data_plane", "az_concurrency", 1.0, 1_000_000.0),
    ("data_plane", "workers", 1.0, 256.0),
    (
        "data_plane",
        "cache_capacity",
        1.0,
        9.223_372_036_854_776e18,
    ),
    ("replication", "delay_median_ms", 0.0, 3_600_000.0),
    ("replication", "delay_p99_ms", 2000.0, 3_600_000.0),
    ("replication", "apply_rate_per_sec", SMALLEST_POSITIVE, 1e9),
    ("principals", "users", 1.0, 10_000_000.0),
    ("principals", "keys_per_user", 1.0, 2.0),
    ("principals", "zipf_exponent", 0.0, 10.0),
    ("traffic", "presigned_share", 0.0, 1.0),
];

/// `MINIMAL_WORKLOAD` with `table.key = value` set.
fn with_field(table: &str, key: &str, value: &str) -> String {
    match table {
        "run" | "load" => MINIMAL_WORKLOAD.replacen(
            &format!("[{table}]\n"),
            &format!("[{table}]\n{key} = {value}\n"),
            1,
        ),
        _ => format!("{MINIMAL_WORKLOAD}[{table}]\n{key} = {value}\n"),
    }
    .replacen(
        "duration_s = 1\n",
        if key == "duration_s" {
            ""
        } else {
            "duration_s = 1\n"
        },
        1,
    )
    .replacen(
        "rate_per_sec = 100\n",
        if key == "rate_per_sec" {
            ""
        } else {
            "rate_per_sec = 100\n"
        },
        1,
    )
}

fn read_field(w: &Workload, table: &str, key: &str) -> f64 {
    match (table, key) {
        ("run", "duration_s") => w.run.duration_s,
        ("run", "warmup_s") => w.run.warmup_s,
        ("run", "drain_timeout_s") => w.run.drain_timeout_s,
        ("load", "rate_per_sec") => w.load.rate_per_sec,
        ("load", "max_in_flight") => w.load.max_in_flight as f64,
        ("control_plane", "workers") => w.control_plane.workers as f64,
        ("control_plane", "service_time_ms") => w.control_plane.service_time_ms,
        ("control_plane", "push_ahead_s") => w.control_plane.push_ahead_s,
        ("data_plane", "azs") => w.data_plane.azs as f64,
        ("data_plane", "az_concurrency") => w.data_plane.az_concurrency as f64,
        ("data_plane", "workers") => w.data_plane.workers as f64,
        ("data_plane", "cache_capacity") => w.data_plane.cache_capacity as f64,
        ("replication", "delay_median_ms") => w.replication.delay_median_ms,
        ("replication", "delay_p99_ms") => w.replication.delay_p99_ms,
        ("replication", "apply_rate_per_sec") => w.replication.apply_rate_per_sec,
        ("principals", "users") => w.principals.users as f64,
        ("principals", "keys_per_user") => w.principals.keys_per_user as f64,
        ("principals", "zipf_exponent") => w.principals.zipf_exponent,
        ("traffic", "presigned_share") => w.traffic.presigned_share,
        _ => unreachable!("{table}.{key} is not in NUMERIC_FIELDS"),
    }
}

#[test]
fn impossible_workloads_are_refused_naming_file_line_and_field() {
    let regions = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[[regions]]\nname = \"us-east-{i}\"\n"))
            .collect()
    };
    let base = MINIMAL_WORKLOAD;
    // (text, the line's text, the field as the error names it)
    let cases: Vec<(String, &str, &str)> = vec![
        (
            base.replace("name = \"t\"", "name = \"\""),
            "name = \"\"",
            "name",
        ),
        (
            base.replace("name = \"t\"", &format!("name = \"{}\"", "n".repeat(65))),
            "name = \"nnn",
            "name",
        ),
        (
            base.replace("duration_s = 1", "duration_s = -1"),
            "duration_s = -1",
            "run.duration_s",
        ),
        (
            base.replace("duration_s = 1", "duration_s = nan"),
            "duration_s = nan",
            "run.duration_s",
        ),
        (
            base.replace("duration_s = 1", "duration_s = inf"),
            "duration_s = inf",
            "run.duration_s",
        ),
        (
            base.replace("rate_per_sec = 100", "rate_per_sec = 1e300"),
            "rate_per_sec = 1e300",
            "load.rate_per_sec",
        ),
        (
            base.replace(
                "rate_per_sec = 100",
                "rate_per_sec = 100\nmax_in_flight = 0",
            ),
            "max_in_flight = 0",
            "load.max_in_flight",
        ),
        (
            base.replace(
                "rate_per_sec = 100",
                "rate_per_sec = 100\nmax_in_flight = 18446744073709551615",
            ),
            "max_in_flight = 1844",
            "load.max_in_flight",
        ),
        (
            format!("{base}[principals]\nusers = 0\n"),
            "users = 0",
            "principals.users",
        ),
        (
            format!("{base}[principals]\nusers = 9223372036854775807\n"),
            "users = 9223",
            "principals.users",
        ),
        (
            format!("{base}[principals]\nkeys_per_user = 0\n"),
            "keys_per_user = 0",
            "principals.keys_per_user",
        ),
        (
            format!("{base}[principals]\naccount_id = \"12345678901\"\n"),
            "account_id",
            "principals.account_id",
        ),
        (format!("seed = -1\n{base}"), "seed = -1", "seed"),
        (
            format!("{base}[clock]\nstart = \"yesterday\"\n"),
            "start = ",
            "clock.start",
        ),
        (
            format!("{base}[data_plane]\nazs = 2\n"),
            "azs = 2",
            "data_plane.azs",
        ),
        (
            format!("{base}[data_plane]\nworkers = 0\n"),
            "workers = 0",
            "data_plane.workers",
        ),
        (
            format!("{base}[data_plane]\ncache_capacity = 0\n"),
            "cache_capacity = 0",
            "data_plane.cache_capacity",
        ),
        (
            format!("{base}[data_plane]\naz_concurrency = 9223372036854775807\n"),
            "az_concurrency",
            "data_plane.az_concurrency",
        ),
        (
            format!("{base}[control_plane]\nworkers = 9223372036854775807\n"),
            "workers",
            "control_plane.workers",
        ),
        (
            format!("{base}[replication]\ndelay_p99_ms = nan\n"),
            "delay_p99_ms",
            "replication.delay_p99_ms",
        ),
        (
            format!("{base}[replication]\ndelay_p99_ms = inf\n"),
            "delay_p99_ms",
            "replication.delay_p99_ms",
        ),
        (
            format!("{base}[replication]\ndelay_p99_ms = 1\n"),
            "delay_p99_ms",
            "replication.delay_p99_ms",
        ),
        (
            format!("{base}[replication]\napply_rate_per_sec = 0\n"),
            "apply_rate_per_sec",
            "replication.apply_rate_per_sec",
        ),
        (
            base.replace("name = \"eu-north-1\"", "name = \"us-east-1\""),
            "name = \"us-east-1\"\nrtt",
            "regions[1].name",
        ),
        (
            base.replace("name = \"eu-north-1\"", "name = \"--\""),
            "name = \"--\"",
            "regions[1].name",
        ),
        (
            base.replace("name = \"eu-north-1\"", "name = \"EU-North-1\""),
            "name = \"EU",
            "regions[1].name",
        ),
        (
            base.replace("rtt_ms = 90", "rtt_ms = 90\nweight = -1"),
            "weight = -1",
            "regions[1].weight",
        ),
        (
            base.replace("name = \"us-east-1\"", "name = \"us-east-1\"\nweight = 0")
                .replace("rtt_ms = 90", "rtt_ms = 90\nweight = 0"),
            "[[regions]]",
            "regions",
        ),
        (
            "name = \"t\"\nregions = []\n[run]\nduration_s = 1\n[load]\nrate_per_sec = 100\n"
                .into(),
            "regions = []",
            "regions",
        ),
        (
            format!(
                "name = \"t\"\n[run]\nduration_s = 1\n[load]\nrate_per_sec = 100\n{}",
                regions(MAX_REGIONS + 1)
            ),
            "[[regions]]",
            "regions",
        ),
        (
            format!("strategies = [\"none\", \"none\"]\n{base}"),
            "strategies",
            "strategies",
        ),
        (
            format!("strategies = [\"none\", 3]\n{base}"),
            "strategies",
            "strategies[1]",
        ),
        (
            format!("{base}[services]\ns3 = 1e308\nec2 = 1e308\n"),
            "[services]",
            "services",
        ),
        (
            format!("{base}[services]\ns3 = 0\n"),
            "[services]",
            "services",
        ),
        (
            format!("{base}[services]\ns3 = -1\n"),
            "[services]",
            "services",
        ),
        (
            format!("{base}[traffic]\nwrong_secret_share = 0.6\nunknown_key_share = 0.6\n"),
            "[traffic]",
            "traffic",
        ),
        (
            format!("{base}[traffic]\npresigned_share = 1.5\n"),
            "presigned_share",
            "traffic.presigned_share",
        ),
        (
            format!(
                "load = {{ rate_per_sec = \"fast\" }}\n{}",
                base.replace("[load]\nrate_per_sec = 100\n", "")
            ),
            "load = ",
            "load.rate_per_sec",
        ),
        (
            format!(
                "load.rate_per_sec = -1\n{}",
                base.replace("[load]\nrate_per_sec = 100\n", "")
            ),
            "load.rate_per_sec",
            "load.rate_per_sec",
        ),
        (
            base.replace("rate_per_sec = 100", "rate_per_sec = 1e-308"),
            "rate_per_sec",
            "load.rate_per_sec",
        ),
    ];
    for (text, needle, field) in cases {
        let err = Workload::parse(&text, "w.toml").unwrap_err().to_string();
        let line = 1 + text[..text.find(needle).unwrap_or_else(|| panic!("{needle}"))]
            .matches('\n')
            .count();
        let prefix = format!("w.toml:{line}: field `{field}`: ");
        assert!(
            err.starts_with(&prefix),
            "{field}: expected {prefix}...: {err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn unreadable_workload_files_name_the_file() {
    let dir = std::env::temp_dir().join(format!("sigstorm-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join("binary.toml");
    std::fs::write(&binary, b"name = \"\xff\"\n").unwrap();
    for path in [dir.join("missing.toml"), binary, dir.clone()] {
        let err = Workload::load(&path).unwrap_err();
        // The message names the file; the I/O error is its source, printed
        // once by the binary's error chain.
        assert_eq!(
            err.to_string(),
            format!("{}: cannot read the workload", path.display())
        );
        assert!(std::error::Error::source(&err).is_some(), "{err:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// Helpers.

fn secret() -> SecretAccessKey {
    SecretAccessKey::new(SECRET).unwrap()
}

/// Sign `raw` with the example keys for `us-east-1` and `service` at `time`.
fn sign_raw(raw: &[u8], service: &str, time: i64, presign: Option<i64>) -> Vec<u8> {
    let secret = secret();
    let request = Request::parse(raw).unwrap();
    let creds = Credentials {
        access_key_id: AKID,
        secret: &secret,
        session_token: None,
    };
    let opts = Options {
        region: "us-east-1",
        service,
        time,
        rules: Rules::for_service(service),
        payload: Payload::Hash,
        presign,
        backend: Backend::Ring,
    };
    sign::sign(&request, raw, &creds, &opts).unwrap().request
}

/// Verify with the example keys, as `sigstorm verify` does: another access
/// key id is unknown, and a session token is one too many.
fn verify_request(request: &Request<'_>, ctx: &Context<'_>) -> Result<(), Rejection> {
    let secret = secret();
    verify::verify::<Ring>(request, ctx, &mut Vec::new(), |cred, token| {
        if cred.access_key_id != AKID {
            return Err(Rejection::new(ErrorCode::InvalidAccessKeyId, "unknown key"));
        }
        if token.is_some() {
            return Err(Rejection::new(ErrorCode::InvalidClientTokenId, "no token"));
        }
        Ok(Backend::Ring.full_signing_key(&secret, cred.date, cred.region, cred.service))
    })
    .map(|_| ())
}

/// The verifier's answer for `raw` at `now`; `None` when it is not a request.
fn verdict_of(raw: &[u8], now: i64) -> Option<Result<(), ErrorCode>> {
    let request = Request::parse(raw).ok()?;
    Some(verify_request(&request, &Context::at(now)).map_err(|r| r.code))
}

fn diagnose(
    request: &Request<'_>,
    ctx: &Context<'_>,
    canonical_request: Option<&str>,
) -> explain::Report {
    let secret = secret();
    let expected = Expected {
        access_key_id: AKID,
        secret: &secret,
        session_token: None,
        backend: Backend::Ring,
        canonical_request,
    };
    explain::diagnose(request, ctx, &expected)
}

/// Everything a SigV4 signature covers, read from the definition: the
/// method; the path (S3: percent-decoded; other services: dot segments
/// resolved and empty segments dropped, bytes as sent); the query as a
/// sorted multiset of percent-decoded pairs (without `X-Amz-Signature` in a
/// presigned URL); each signed header's values in order, with runs of spaces
/// and line folds as one space; the payload; the date and the credential.
#[derive(Debug, PartialEq, Eq)]
struct SignedView {
    method: String,
    path: Vec<u8>,
    query: Vec<(Vec<u8>, Vec<u8>)>,
    signed_headers: String,
    headers: Vec<Vec<String>>,
    declared_payload: Option<String>,
    body: Option<Vec<u8>>,
    date: String,
    credential: String,
}

impl SignedView {
    fn of(request: &Request<'_>) -> Option<SignedView> {
        let params = auth::read(request).ok()?;
        let presigned = params.location == Location::Query;
        let credential = params.credential().to_string();
        let s3 = credential.split('/').nth(3) == Some("s3");
        let signed_headers = params.signed_headers().to_string();
        let headers = signed_headers
            .split(';')
            .map(|name| request.header_values(name).map(squeeze).collect())
            .collect();
        let declared_payload = request.header("x-amz-content-sha256").map(str::to_string);
        let unsigned = declared_payload.as_deref() == Some(UNSIGNED_PAYLOAD)
            || (presigned && s3 && declared_payload.is_none());
        let date = match params.query_date() {
            Some(d) => d.to_string(),
            None => request
                .header("x-amz-date")
                .or(request.header("date"))?
                .to_string(),
        };
        let mut query: Vec<(Vec<u8>, Vec<u8>)> = request
            .query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(n), percent_decode(v))
            })
            .filter(|(n, _)| !(presigned && n == b"X-Amz-Signature"))
            .collect();
        query.sort();
        Some(SignedView {
            method: request.method.to_string(),
            path: if s3 {
                percent_decode(request.path)
            } else {
                normalized_path(request.path).into_bytes()
            },
            query,
            signed_headers,
            headers,
            declared_payload,
            body: (!unsigned).then(|| request.body.to_vec()),
            date,
            credential,
        })
    }
}

/// A header value with folds and runs of spaces as one space, trimmed. A
/// bare CR counts as a space, as RFC 9112 (section 2.2) lets a recipient
/// treat it.
fn squeeze(value: &str) -> String {
    let unfolded = value.replace("\r\n", "\n").replace('\r', " ");
    let mut out = String::new();
    let mut lines = unfolded.split('\n');
    out.push_str(lines.next().unwrap_or_default());
    for line in lines {
        out.push(' ');
        out.push_str(line.trim_start_matches([' ', '\t']));
    }
    out.split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn percent_decode(raw: &str) -> Vec<u8> {
    let b = raw.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// RFC 3986 dot-segment removal with empty segments dropped, as every
/// service but S3 canonicalizes a path.
fn normalized_path(raw: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for s in raw.split('/') {
        match s {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let last = raw.rsplit('/').next().unwrap_or_default();
    let trailing = raw.ends_with('/') || last == "." || last == "..";
    let mut out = format!("/{}", segments.join("/"));
    if trailing && !segments.is_empty() {
        out.push('/');
    }
    out
}
