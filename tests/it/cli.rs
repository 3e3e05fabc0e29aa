//! `sigstorm sign`, `sigstorm verify` and the command line's error paths, run
//! as a person runs them: the built binary, files on disk, stdin, exit codes,
//! stdout and stderr.
//!
//! Signatures are checked against an oracle built from the `hmac` and `sha2`
//! crates directly and against AWS's published `get-vanilla` vector, not
//! against sigstorm's own signer. `sigstorm run` appears only with broken
//! workloads and `--help`: real runs take seconds and are covered elsewhere.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The time of AWS's suites, and the time every request here is signed at.
const NOW: &str = "20150830T123600Z";
/// `NOW` plus 15 minutes: the last second a header-signed request is fresh.
const NOW_PLUS_15_MIN: &str = "20150830T125100Z";
/// `NOW` plus 15 minutes and 1 second.
const NOW_PLUS_15_MIN_1_S: &str = "20150830T125101Z";
/// `NOW` minus 15 minutes and 1 second.
const NOW_MINUS_15_MIN_1_S: &str = "20150830T122059Z";

/// A valid workload, small enough to edit by line in the `run` tests.
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

/// Every flag of `sigstorm run`.
const RUN_FLAGS: [&str; 8] = [
    "--strategies",
    "--duration",
    "--rate",
    "--seed",
    "--crypto",
    "--out",
    "--quiet",
    "--quick",
];

// Signing.

#[test]
fn signed_lf_and_crlf_requests_with_and_without_body_verify() {
    let scratch = Scratch::new("sign-verify");
    let requests: [(&str, &[u8]); 4] = [
        (
            "lf-no-body",
            b"GET /photos/a%20b.jpg?size=large&lang=en HTTP/1.1\nHost: example.amazonaws.com\nX-Custom: one   two\n",
        ),
        (
            "crlf-no-body",
            b"GET /photos/a%20b.jpg?size=large&lang=en HTTP/1.1\r\nHost: example.amazonaws.com\r\nX-Custom: one   two\r\n",
        ),
        (
            "lf-body",
            b"POST /upload HTTP/1.1\nHost: example.amazonaws.com:8443\nContent-Type: text/plain\nContent-Length: 11\n\nhello world",
        ),
        (
            "crlf-body",
            b"POST /upload HTTP/1.1\r\nHost: example.amazonaws.com:8443\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world",
        ),
    ];
    let mut signatures = Vec::new();
    for (name, raw) in requests {
        let file = scratch.write(&format!("{name}.http"), raw);
        let signed = sigstorm(sign_args(
            &file,
            &["--region", "eu-north-1", "--service", "sts"],
        ));
        assert_eq!(signed.code, 0, "{name}: {}", signed.stderr);
        assert_eq!(signed.stderr, "", "{name}");
        let text = String::from_utf8(signed.stdout.clone()).unwrap();

        // The signed request keeps the file's line ends and its body.
        let crlf = name.starts_with("crlf");
        let (head, body) = text
            .split_once(if crlf { "\r\n\r\n" } else { "\n\n" })
            .unwrap_or_else(|| panic!("{name}: no blank line after the head: {text:?}"));
        if crlf {
            assert_eq!(
                head.matches('\n').count(),
                head.matches("\r\n").count(),
                "{name}"
            );
        } else {
            assert!(!head.contains('\r'), "{name}: {head:?}");
        }
        let has_body = !name.ends_with("no-body");
        let expected_body = if has_body { "hello world" } else { "" };
        assert_eq!(body, expected_body, "{name}");
        let signed_headers = if has_body {
            "content-length;content-type;host;x-amz-date"
        } else {
            "host;x-amz-date;x-custom"
        };
        assert!(
            head.contains(&format!(
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-north-1/sts/aws4_request, SignedHeaders={signed_headers}, Signature="
            )),
            "{name}: {head}"
        );
        assert!(
            head.contains(&format!("X-Amz-Date: {NOW}")),
            "{name}: {head}"
        );

        let signed_file = scratch.write(&format!("{name}.signed"), &signed.stdout);
        let verdict = sigstorm(verify_args(
            &signed_file,
            NOW,
            &["--region", "eu-north-1", "--service", "sts"],
        ));
        assert_eq!(verdict.code, 0, "{name}: {}", verdict.stdout_str());
        assert_eq!(verdict.json()["verdict"], "accepted", "{name}");
        signatures.push(verdict.json()["signature"].as_str().unwrap().to_string());
    }
    // Line ends are not part of what is signed.
    assert_eq!(signatures[0], signatures[1]);
    assert_eq!(signatures[2], signatures[3]);
    assert_ne!(signatures[0], signatures[2]);
}

#[test]
fn presigned_url_verifies_until_it_expires() {
    let scratch = Scratch::new("presign");
    let file = scratch.write(
        "get.http",
        b"GET /bucket/key.txt?versionId=3 HTTP/1.1\nHost: examplebucket.s3.amazonaws.com\n",
    );
    let signed = sigstorm(sign_args(
        &file,
        &[
            "--region",
            "us-east-1",
            "--service",
            "s3",
            "--presign",
            "900",
        ],
    ));
    assert_eq!(signed.code, 0, "{}", signed.stderr);
    let text = signed.stdout_str();
    let request_line = text.lines().next().unwrap();
    for param in [
        "versionId=3",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256",
        "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request",
        "X-Amz-Date=20150830T123600Z",
        "X-Amz-SignedHeaders=host",
        "X-Amz-Expires=900",
        "X-Amz-Signature=",
    ] {
        assert!(request_line.contains(param), "{param} in {request_line}");
    }
    assert!(!text.contains("Authorization:"), "{text}");

    let signed_file = scratch.write("get.signed", &signed.stdout);
    let fresh = sigstorm(verify_args(&signed_file, NOW, &[]));
    assert_eq!(fresh.code, 0, "{}", fresh.stdout_str());
    // Valid for exactly 900 seconds after its date, inclusive.
    let last_second = sigstorm(verify_args(&signed_file, NOW_PLUS_15_MIN, &[]));
    assert_eq!(last_second.code, 0, "{}", last_second.stdout_str());
}

#[test]
fn sign_json_carries_every_intermediate_and_the_signature_is_right() {
    let scratch = Scratch::new("sign-json");
    let file = scratch.write(
        "post.http",
        b"POST /a/./b/../c?z=1&a=%7E HTTP/1.1\nHost: example.amazonaws.com\nContent-Length: 3\n\nabc",
    );
    let out = sigstorm(sign_args(
        &file,
        &["--region", "us-east-1", "--service", "service", "--json"],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json = out.json();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "canonical_request",
            "request",
            "signature",
            "string_to_sign"
        ]
    );

    let creq = json["canonical_request"].as_str().unwrap();
    let body_hash = hex::encode(Sha256::digest(b"abc"));
    assert_eq!(
        creq,
        format!(
            "POST\n/a/c\na=~&z=1\ncontent-length:3\nhost:example.amazonaws.com\nx-amz-date:{NOW}\n\ncontent-length;host;x-amz-date\n{body_hash}"
        )
    );
    let sts = json["string_to_sign"].as_str().unwrap();
    assert_eq!(
        sts,
        format!(
            "AWS4-HMAC-SHA256\n{NOW}\n20150830/us-east-1/service/aws4_request\n{}",
            hex::encode(Sha256::digest(creq.as_bytes()))
        )
    );
    let signature = json["signature"].as_str().unwrap();
    assert_eq!(
        signature,
        oracle_signature("20150830", "us-east-1", "service", sts)
    );
    let request = json["request"].as_str().unwrap();
    assert!(
        request.contains(&format!("Signature={signature}")),
        "{request}"
    );
    assert!(request.ends_with("\n\nabc"), "{request}");
}

#[test]
fn sign_reads_the_request_from_stdin() {
    let scratch = Scratch::new("stdin");
    let raw = b"PUT /k HTTP/1.1\r\nHost: h.example\r\nContent-Length: 4\r\n\r\n\x00\xff\n\x01";
    let file = scratch.write("put.http", raw);
    let from_file = sigstorm(sign_args(
        &file,
        &["--region", "us-west-2", "--service", "s3"],
    ));
    assert_eq!(from_file.code, 0, "{}", from_file.stderr);

    let from_stdin = sigstorm_with_stdin(
        sign_args(
            Path::new("-"),
            &["--region", "us-west-2", "--service", "s3"],
        ),
        raw,
    );
    assert_eq!(from_stdin.code, 0, "{}", from_stdin.stderr);
    assert_eq!(from_stdin.stdout, from_file.stdout);
    assert!(from_stdin.stdout.ends_with(b"\r\n\r\n\x00\xff\n\x01"));

    // And `verify` reads stdin the same way.
    let verdict = sigstorm_with_stdin(verify_args(Path::new("-"), NOW, &[]), &from_stdin.stdout);
    assert_eq!(verdict.code, 0, "{}", verdict.stdout_str());
}

#[test]
fn get_vanilla_signed_through_the_cli_gives_the_published_signature() {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sigv4-test-suite/get-vanilla");
    let authz = std::fs::read_to_string(dir.join("get-vanilla.authz")).unwrap();
    let published = authz.rsplit_once("Signature=").unwrap().1.trim();
    assert_eq!(
        published,
        "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    );

    let out = sigstorm(sign_args(
        &dir.join("get-vanilla.req"),
        &["--region", "us-east-1", "--service", "service", "--json"],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json = out.json();
    assert_eq!(json["signature"], published);
    let read = |ext: &str| std::fs::read_to_string(dir.join(format!("get-vanilla.{ext}"))).unwrap();
    assert_eq!(json["canonical_request"], read("creq"));
    assert_eq!(json["string_to_sign"], read("sts"));
    let request = json["request"].as_str().unwrap();
    assert!(
        request.contains(&format!("Authorization: {}", authz.trim())),
        "{request}"
    );
}

#[test]
fn sign_refuses_a_presign_lifetime_out_of_range() {
    let scratch = Scratch::new("presign-range");
    let file = scratch.write("get.http", b"GET / HTTP/1.1\nHost: h\n");
    for lifetime in ["0", "604801"] {
        let out = sigstorm(sign_args(
            &file,
            &[
                "--region",
                "us-east-1",
                "--service",
                "s3",
                "--presign",
                lifetime,
            ],
        ));
        assert_eq!(out.code, 2, "{lifetime}");
        assert_eq!(
            out.stderr,
            format!(
                "sigstorm: {}: a presigned URL must be valid for 1 to 604800 seconds, not {lifetime}\n",
                file.display()
            )
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn sign_output_verifies_or_sign_refuses() {
    let scratch = Scratch::new("sign-or-refuse");

    // A declared x-amz-content-sha256 is what the verifier hashes with, so it
    // is what gets signed.
    let signed = sign_to_file(
        &scratch,
        b"PUT /k HTTP/1.1\nHost: h\nx-amz-content-sha256: UNSIGNED-PAYLOAD\nContent-Length: 4\n\nbody",
        &[],
    );
    let out = sigstorm(verify_args(&signed, NOW, &[]));
    assert_eq!(out.code, 0, "{}", out.stdout_str());

    let cases: [(&[u8], &[&str], &str); 2] = [
        (
            b"GET / HTTP/1.1\nHost: sts.amazonaws.com\n",
            &[
                "--service",
                "sts",
                "--presign",
                "60",
                "--payload",
                "unsigned",
            ],
            "only S3 leaves a presigned URL's body unsigned",
        ),
        (
            b"GET /?X-Amz-Algorithm=AWS4-HMAC-SHA256 HTTP/1.1\nHost: h\n",
            &["--service", "sts"],
            "the request's query already has X-Amz-Algorithm",
        ),
    ];
    for (raw, flags, why) in cases {
        let file = scratch.write("refused.http", raw);
        let mut args = sign_args(&file, &["--region", "us-east-1"]);
        args.extend(flags.iter().map(|f| f.to_string()));
        let out = sigstorm(args);
        assert_eq!(out.code, 2, "{why}");
        let prefix = format!("sigstorm: {}: {why}", file.display());
        assert!(out.stderr.starts_with(&prefix), "{}", out.stderr);
        assert!(out.stdout.is_empty());
    }
}

// Verifying.

#[test]
fn verify_report_has_every_field_and_exit_0_when_accepted() {
    let scratch = Scratch::new("verify-fields");
    let signed = sign_to_file(&scratch, b"GET /a HTTP/1.1\nHost: example.com\n", &[]);
    let out = sigstorm(verify_args(&signed, NOW, &["--region", "us-east-1"]));
    assert_eq!(out.code, 0, "{}", out.stdout_str());
    assert_eq!(out.stderr, "");
    let json = out.json();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "canonical_request",
            "code",
            "hints",
            "message",
            "provided_signature",
            "signature",
            "string_to_sign",
            "verdict"
        ]
    );
    assert_eq!(json["verdict"], "accepted");
    assert_eq!(json["code"], Value::Null);
    assert_eq!(
        json["message"],
        "the signature matches and every SigV4 rule passed"
    );
    assert_eq!(json["signature"], json["provided_signature"]);
    assert_eq!(json["hints"], serde_json::json!([]));
    let sts = json["string_to_sign"].as_str().unwrap();
    assert_eq!(
        json["signature"],
        oracle_signature("20150830", "us-east-1", "service", sts)
    );
    assert!(json["canonical_request"]
        .as_str()
        .unwrap()
        .starts_with("GET\n/a\n\nhost:example.com\n"));
}

#[test]
fn verify_exits_2_naming_file_and_line_when_the_input_is_not_a_request() {
    let scratch = Scratch::new("not-a-request");
    let jpeg: &[u8] = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb\x00C\x00\n\x08\x06";
    let cases: [(&str, &[u8], &str); 4] = [
        ("photo.jpg", jpeg, "line 1: not valid UTF-8"),
        (
            "hello.txt",
            b"hello",
            "line 1: request line is not METHOD TARGET HTTP/1.1",
        ),
        (
            "header.http",
            b"GET / HTTP/1.1\nHost: h\nno colon here\n",
            "line 3: header has no ':'",
        ),
        ("empty.http", b"", "the request is empty"),
    ];
    for (name, bytes, why) in cases {
        let file = scratch.write(name, bytes);
        let out = sigstorm(verify_args(&file, NOW, &[]));
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        assert_eq!(
            out.stderr,
            format!("sigstorm: {}: {why}\n", file.display()),
            "{name}"
        );
        assert!(out.stdout.is_empty(), "{name}");
    }
}

#[test]
fn wrong_secret_is_signature_does_not_match_with_a_hint() {
    let scratch = Scratch::new("wrong-secret");
    let signed = sign_to_file(&scratch, b"GET / HTTP/1.1\nHost: example.com\n", &[]);
    let mut args = verify_args(&signed, NOW, &[]);
    let secret = args.iter().position(|a| a == SECRET).unwrap();
    args[secret] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ".into();
    let out = sigstorm(args);
    assert_eq!(out.code, 1, "{}", out.stdout_str());
    let json = out.json();
    assert_eq!(json["verdict"], "rejected");
    assert_eq!(json["code"], "SignatureDoesNotMatch");
    assert_ne!(json["signature"], json["provided_signature"]);
    let hints = json["hints"].as_array().unwrap();
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert!(
        hints[0]
            .as_str()
            .unwrap()
            .contains("secret access key differs"),
        "{hints:?}"
    );
}

#[test]
fn region_mismatch_is_authorization_header_malformed() {
    let scratch = Scratch::new("region");
    let signed = sign_to_file(&scratch, b"GET / HTTP/1.1\nHost: example.com\n", &[]);
    let out = sigstorm(verify_args(&signed, NOW, &["--region", "eu-north-1"]));
    assert_eq!(out.code, 1);
    let json = out.json();
    assert_eq!(json["code"], "AuthorizationHeaderMalformed");
    assert_eq!(
        json["message"],
        "the credential scope names another region than this endpoint's"
    );
}

#[test]
fn presigned_region_mismatch_is_a_query_parameters_error() {
    // S3 answers a presigned URL for another region with
    // AuthorizationQueryParametersError, as it does every other scope error in
    // a query.
    let scratch = Scratch::new("presign-region");
    let signed = sign_to_file(
        &scratch,
        b"GET /k HTTP/1.1\nHost: b.s3.amazonaws.com\n",
        &["--presign", "60"],
    );
    let out = sigstorm(verify_args(&signed, NOW, &["--region", "eu-north-1"]));
    assert_eq!(out.code, 1);
    assert_eq!(out.json()["code"], "AuthorizationQueryParametersError");
}

#[test]
fn request_time_outside_15_minutes_is_too_skewed() {
    let scratch = Scratch::new("skew");
    let signed = sign_to_file(&scratch, b"GET / HTTP/1.1\nHost: example.com\n", &[]);
    for (now, code) in [
        (NOW_PLUS_15_MIN, 0),
        (NOW_PLUS_15_MIN_1_S, 1),
        (NOW_MINUS_15_MIN_1_S, 1),
    ] {
        let out = sigstorm(verify_args(&signed, now, &[]));
        assert_eq!(out.code, code, "{now}: {}", out.stdout_str());
        if code == 1 {
            assert_eq!(out.json()["code"], "RequestTimeTooSkewed", "{now}");
        }
    }
}

#[test]
fn tampered_host_port_is_named_in_a_hint() {
    let scratch = Scratch::new("host-port");
    let signed = sign_to_file(&scratch, b"GET / HTTP/1.1\nHost: example.com\n", &[]);
    let text = std::fs::read_to_string(&signed).unwrap();
    let moved = text.replace("Host: example.com", "Host: example.com:8443");
    let moved = scratch.write("moved.http", moved.as_bytes());
    let out = sigstorm(verify_args(&moved, NOW, &[]));
    assert_eq!(out.code, 1);
    let json = out.json();
    assert_eq!(json["code"], "SignatureDoesNotMatch");
    assert_eq!(
        json["hints"],
        serde_json::json!(["the signer saw Host without its port, as 'example.com'"])
    );
}

#[test]
fn client_canonical_request_names_the_first_differing_line() {
    let scratch = Scratch::new("creq-diff");
    let file = scratch.write(
        "get.http",
        b"GET / HTTP/1.1\nHost: example.com\nX-Custom: sent\n",
    );
    let out = sigstorm(sign_args(
        &file,
        &["--region", "us-east-1", "--service", "service", "--json"],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json = out.json();
    let client_creq = json["canonical_request"].as_str().unwrap();
    let client_creq = scratch.write("client.creq", client_creq.as_bytes());

    // A proxy rewrote the header after signing.
    let rewritten = json["request"]
        .as_str()
        .unwrap()
        .replace("X-Custom: sent", "X-Custom: changed");
    let rewritten = scratch.write("rewritten.http", rewritten.as_bytes());
    let creq_arg = client_creq.display().to_string();
    let out = sigstorm(verify_args(
        &rewritten,
        NOW,
        &["--canonical-request", &creq_arg],
    ));
    assert_eq!(out.code, 1);
    let json = out.json();
    assert_eq!(json["code"], "SignatureDoesNotMatch");
    assert_eq!(
        json["hints"][0],
        "line 6 (the canonical header 'x-custom') differs: the verifier has 'x-custom:changed', the client had 'x-custom:sent'"
    );
}

#[test]
fn expired_presigned_url_is_access_denied() {
    let scratch = Scratch::new("expired");
    let signed = sign_to_file(
        &scratch,
        b"GET /k HTTP/1.1\nHost: b.s3.amazonaws.com\n",
        &["--presign", "900"],
    );
    let out = sigstorm(verify_args(&signed, NOW_PLUS_15_MIN_1_S, &[]));
    assert_eq!(out.code, 1);
    let json = out.json();
    assert_eq!(json["code"], "AccessDenied");
    assert_eq!(json["message"], "the presigned URL has expired");
    // The intermediates are still there to compare.
    assert_eq!(json["signature"], json["provided_signature"]);
}

#[test]
fn verify_survives_a_reader_that_goes_away() {
    // `sigstorm verify ... | head -1`: the pipe closes before the report is
    // written. The verdict's exit code stands and nothing panics.
    let scratch = Scratch::new("epipe");
    let signed = sign_to_file(&scratch, b"GET / HTTP/1.1\nHost: example.com\n", &[]);
    let mut child = command(verify_args(&signed, NOW, &[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

// Usage errors.

#[test]
fn missing_required_flags_are_clap_errors_with_exit_2() {
    let out = sigstorm(["sign", "--request", "x.http", "--access-key-id", AKID]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with("error: the following required arguments were not provided:"),
        "{}",
        out.stderr
    );
    for flag in ["--secret-access-key", "--region", "--service"] {
        assert!(out.stderr.contains(flag), "{flag}: {}", out.stderr);
    }
    assert!(out.stdout.is_empty());

    let out = sigstorm(["verify"]);
    assert_eq!(out.code, 2);
    for flag in ["--request", "--access-key-id", "--secret-access-key"] {
        assert!(out.stderr.contains(flag), "{flag}: {}", out.stderr);
    }
}

#[test]
fn unparseable_now_is_exit_2_with_a_clear_message() {
    let scratch = Scratch::new("now");
    let file = scratch.write("get.http", b"GET / HTTP/1.1\nHost: h\n");
    for bad in ["garbage", "20150230T000000Z", "2015-08-30T12:36:00Z"] {
        for verify in [false, true] {
            let args = if verify {
                verify_args(&file, bad, &[])
            } else {
                let mut a = sign_args(&file, &["--region", "us-east-1", "--service", "s3"]);
                let at = a.iter().position(|x| x == NOW).unwrap();
                a[at] = bad.into();
                a
            };
            let out = sigstorm(args);
            assert_eq!(out.code, 2, "{bad}");
            assert_eq!(
                out.stderr,
                format!("sigstorm: --now '{bad}' is not YYYYMMDDTHHMMSSZ\n")
            );
        }
    }
}

#[test]
fn unreadable_files_are_exit_2_naming_the_file() {
    let scratch = Scratch::new("unreadable");
    let missing = scratch.path("missing.http");
    let directory = scratch.path("");
    let signed = sign_to_file(&scratch, b"GET / HTTP/1.1\nHost: h\n", &[]);
    for path in [&missing, &directory] {
        for out in [
            sigstorm(sign_args(path, &["--region", "r", "--service", "s"])),
            sigstorm(verify_args(path, NOW, &[])),
        ] {
            assert_eq!(out.code, 2, "{}", out.stderr);
            let expected = format!(
                "sigstorm: cannot read the request file {}: ",
                path.display()
            );
            assert!(out.stderr.starts_with(&expected), "{}", out.stderr);
        }
    }
    let creq = missing.display().to_string();
    let out = sigstorm(verify_args(&signed, NOW, &["--canonical-request", &creq]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .starts_with(&format!("sigstorm: cannot read {creq}: ")),
        "{}",
        out.stderr
    );
}

// `sigstorm run`.

#[test]
fn broken_workloads_exit_2_naming_file_line_and_field() {
    let scratch = Scratch::new("workloads");
    let cases = [
        (
            "unknown-field.toml",
            MINIMAL_WORKLOAD.replace("rate_per_sec = 100", "rate_per_sec = 100\nrat = 5"),
            6,
            "unknown field `rat`",
        ),
        (
            "wrong-type.toml",
            MINIMAL_WORKLOAD.replace("duration_s = 1", "duration_s = \"long\""),
            3,
            "field `run.duration_s`",
        ),
        (
            "impossible.toml",
            MINIMAL_WORKLOAD.replace("rtt_ms = 90", "rtt_ms = -1"),
            10,
            "field `regions[1].rtt_ms`: must be between 0 and 10000, not -1",
        ),
    ];
    for (name, text, line, what) in cases {
        let file = scratch.write(name, text.as_bytes());
        let out = sigstorm_in(
            scratch.path(""),
            [OsStr::new("run"), OsStr::new("--quiet"), file.as_os_str()],
        );
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        let prefix = format!("sigstorm: {}:{line}: ", file.display());
        assert!(out.stderr.starts_with(&prefix), "{name}: {}", out.stderr);
        assert!(out.stderr.contains(what), "{name}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{name}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{name}");
    }
    // Nothing was run, so nothing was written.
    assert!(!scratch.path("results").exists());
}

#[test]
fn help_names_every_run_flag() {
    let out = sigstorm(["--help"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for command in ["run", "sign", "verify"] {
        assert!(out.stdout_str().contains(command), "{command}");
    }
    let out = sigstorm(["run", "--help"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for flag in RUN_FLAGS {
        assert!(out.stdout_str().contains(flag), "{flag}");
    }
}

// Helpers.

/// What one run of the binary left behind.
struct Outcome {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Outcome {
    fn stdout_str(&self) -> &str {
        std::str::from_utf8(&self.stdout).unwrap()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout_str()))
    }
}

/// A folder of its own under the system's temp folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("sigstorm-cli-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary with `args`, no AWS credentials from the environment, and the
/// system's temp folder as its working folder.
fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sigstorm"));
    cmd.args(args)
        .current_dir(std::env::temp_dir())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

fn finish(mut cmd: Command, stdin: Option<&[u8]>) -> Outcome {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(bytes).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Outcome {
        code: out.status.code().expect("sigstorm was killed by a signal"),
        stdout: out.stdout,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn sigstorm<I, S>(args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    finish(command(args), None)
}

fn sigstorm_with_stdin<I, S>(args: I, stdin: &[u8]) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    finish(command(args), Some(stdin))
}

fn sigstorm_in<I, S>(dir: PathBuf, args: I) -> Outcome
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = command(args);
    cmd.current_dir(dir);
    finish(cmd, None)
}

/// `sign` of `request` at `NOW` with the example keys, plus `extra`.
fn sign_args(request: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["sign".to_string()];
    args.extend(key_args(request, NOW));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// `verify` of `request` at `now` with the example keys, plus `extra`.
fn verify_args(request: &Path, now: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["verify".to_string()];
    args.extend(key_args(request, now));
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn key_args(request: &Path, now: &str) -> Vec<String> {
    [
        "--request",
        &request.display().to_string(),
        "--access-key-id",
        AKID,
        "--secret-access-key",
        SECRET,
        "--now",
        now,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Sign `raw` for `us-east-1`/`service` (or `s3` when presigning) and write
/// the signed request to a file.
fn sign_to_file(scratch: &Scratch, raw: &[u8], extra: &[&str]) -> PathBuf {
    let service = if extra.contains(&"--presign") {
        "s3"
    } else {
        "service"
    };
    let file = scratch.write("unsigned.http", raw);
    let mut flags = vec!["--region", "us-east-1", "--service", service];
    flags.extend_from_slice(extra);
    let out = sigstorm(sign_args(&file, &flags));
    assert_eq!(out.code, 0, "{}", out.stderr);
    scratch.write("signed.http", &out.stdout)
}

/// The SigV4 signature of `string_to_sign`, derived with the `hmac` crate from
/// the example secret: the oracle for the CLI's signatures.
fn oracle_signature(date: &str, region: &str, service: &str, string_to_sign: &str) -> String {
    let hmac = |key: &[u8], data: &str| -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    let k_date = hmac(format!("AWS4{SECRET}").as_bytes(), date);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, service);
    let k_signing = hmac(&k_service, "aws4_request");
    hex::encode(hmac(&k_signing, string_to_sign))
}
