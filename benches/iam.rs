//! Authorization on its own: mapping a parsed request to its IAM action and
//! resource, and evaluating a principal's policies, for a typical user (one
//! policy of five statements) and a heavy one (ten policies of twenty
//! statements with wildcards, the deciding statement last). `control/empty`
//! evaluates no policy at all.
//!
//! An evaluation of the heavy set faster than the typical one, or any
//! evaluation faster than `control/empty`, would mean the measurement is
//! broken (a decision cached or optimized away); each closure asserts the
//! decision it expects.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use sigstorm::iam::{evaluate, Decision, Policy};
use sigstorm::loadgen::traffic::user_policy;
use sigstorm::service::{Service, Target};
use sigstorm::sigv4::http::Request;

fn heavy_policies() -> Vec<Policy> {
    (0..10)
        .map(|p| {
            let statements: Vec<String> = (0..20)
                .map(|s| {
                    format!(
                        r#"{{"Effect":"Allow","Action":["ec2:Describe{p}x{s}*","s3:Get?bject{p}{s}"],"Resource":"arn:aws:s3:::bucket-{p}-{s}/*/data-?.bin"}}"#
                    )
                })
                .collect();
            let mut doc = format!(r#"{{"Version":"2012-10-17","Statement":[{}"#, statements.join(","));
            if p == 9 {
                doc.push_str(r#",{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::sigstorm-data/objects/*"}"#);
            }
            doc.push_str("]}");
            Policy::parse(&doc).unwrap()
        })
        .collect()
}

fn policies(c: &mut Criterion) {
    let typical = [Policy::parse(&user_policy("123456789012")).unwrap()];
    let heavy = heavy_policies();
    let object = "arn:aws:s3:::sigstorm-data/objects/obj-17.dat";
    let restricted = "arn:aws:s3:::sigstorm-data/restricted/obj-17.dat";
    let mut group = c.benchmark_group("iam");
    group.bench_function("control/empty", |b| {
        b.iter(|| {
            let d = evaluate(
                std::iter::empty(),
                black_box("s3:GetObject"),
                black_box(object),
            );
            assert_eq!(d, Decision::ImplicitDeny);
        })
    });
    group.bench_function("typical/allow", |b| {
        b.iter(|| {
            assert_eq!(
                evaluate(&typical, black_box("s3:GetObject"), black_box(object)),
                Decision::Allow
            )
        })
    });
    group.bench_function("typical/explicit-deny", |b| {
        b.iter(|| {
            let d = evaluate(&typical, black_box("s3:GetObject"), black_box(restricted));
            assert_eq!(d, Decision::ExplicitDeny);
        })
    });
    group.bench_function("typical/implicit-deny", |b| {
        b.iter(|| {
            let d = evaluate(
                &typical,
                black_box("ec2:TerminateInstances"),
                black_box("*"),
            );
            assert_eq!(d, Decision::ImplicitDeny);
        })
    });
    group.bench_function("heavy/allow-last", |b| {
        b.iter(|| {
            assert_eq!(
                evaluate(&heavy, black_box("s3:GetObject"), black_box(object)),
                Decision::Allow
            )
        })
    });
    group.finish();
}

fn mapping(c: &mut Criterion) {
    let s3 = b"GET /objects/obj-17.dat HTTP/1.1\r\nHost: sigstorm-data.s3.eu-north-1.amazonaws.com\r\n\r\n";
    let body = "Action=SendMessage&QueueUrl=https%3A%2F%2Fsqs.eu-north-1.amazonaws.com%2F123456789012%2Fsigstorm-queue&MessageBody=m";
    let sqs = format!(
        "POST / HTTP/1.1\r\nHost: sqs.eu-north-1.amazonaws.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let sqs = sqs.as_bytes();
    let mut target = Target::default();
    let mut group = c.benchmark_group("iam");
    for (id, service, raw) in [
        ("map/s3", Service::S3, &s3[..]),
        ("map/sqs", Service::Sqs, sqs),
    ] {
        let request = Request::parse(raw).unwrap();
        service
            .authorization_target(&request, "eu-north-1", &mut target)
            .unwrap();
        group.bench_function(id, |b| {
            b.iter(|| {
                service
                    .authorization_target(black_box(&request), "eu-north-1", &mut target)
                    .unwrap();
                target.resource.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, policies, mapping);
criterion_main!(benches);
