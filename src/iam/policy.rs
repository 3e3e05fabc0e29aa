//! IAM identity policies: parsing IAM's JSON policy language into compiled
//! [`Statement`]s, and [`evaluate`], which decides whether a principal's
//! policies allow an action on a resource.
//!
//! The control plane parses a policy once when a customer puts it; the data
//! planes evaluate the compiled form on every request, with the action and
//! resource that [`crate::service`] maps the request to. Evaluation follows
//! IAM's rule for identity policies: an explicit deny beats an allow, and an
//! allow beats the implicit deny of anything not allowed.
//!
//! What is checked at parse time, as IAM does: the `Version`; that every
//! statement has an `Effect`, exactly one of `Action`/`NotAction` and exactly
//! one of `Resource`/`NotResource`; that actions read `service:name` (or `*`)
//! and resources are ARNs (or `*`); that no statement names a `Principal`,
//! which identity policies cannot.
//!
//! NOTE: conditions and policy variables are refused at parse time. A
//! `Condition` block is parsed into [`Condition`]s (so its shape is checked and
//! the room for evaluating it exists), then the policy is refused with
//! [`PolicyError::ConditionsUnsupported`]; a `${...}` variable in a resource
//! of a 2012-10-17 policy is refused with [`PolicyError::PolicyVariable`].
//! Accepting either and ignoring it would evaluate wrongly without a sign: an
//! ignored condition on a deny would deny too much, one on an allow would
//! allow too much. Evaluating them needs the request context (source IP,
//! time, principal tags), which a later change adds.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::{Map, Value};
use thiserror::Error;

use super::pattern::{Case, Pattern};

/// IAM's limit on the size of one user's inline policies, in bytes without
/// whitespace (see [`Policy::size_bytes`]).
pub const USER_INLINE_POLICY_MAX_BYTES: usize = 2048;

/// The outcome of evaluating a principal's policies for one action on one
/// resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// A statement allows the request and none denies it.
    Allow,
    /// A `Deny` statement matches; no allow can override it.
    ExplicitDeny,
    /// No statement matches: IAM's default.
    ImplicitDeny,
}

impl Decision {
    /// Every decision, in a fixed order used for tables and counters.
    pub const ALL: [Decision; 3] = [
        Decision::Allow,
        Decision::ExplicitDeny,
        Decision::ImplicitDeny,
    ];

    /// Whether the request may proceed.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }

    /// A short lower-case name, as used in reports: `allow`, `explicit-deny`,
    /// `implicit-deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::ExplicitDeny => "explicit-deny",
            Decision::ImplicitDeny => "implicit-deny",
        }
    }

    /// The index of the decision in [`Decision::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decide whether `policies`, taken together, allow `action` on `resource`.
///
/// `action` is `service:Operation` (compared ignoring ASCII case) and
/// `resource` an ARN (compared exactly). An explicit deny in any policy wins
/// at once; otherwise any allow wins; otherwise the request is implicitly
/// denied, which is also the answer for no policies at all.
///
/// Cost: one pass over the statements, stopping at the first matching deny;
/// no allocation.
pub fn evaluate<'p>(
    policies: impl IntoIterator<Item = &'p Policy>,
    action: &str,
    resource: &str,
) -> Decision {
    let mut decision = Decision::ImplicitDeny;
    for policy in policies {
        match policy.decide(action, resource) {
            Decision::ExplicitDeny => return Decision::ExplicitDeny,
            Decision::Allow => decision = Decision::Allow,
            Decision::ImplicitDeny => {}
        }
    }
    decision
}

/// The policy language version a document declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// `2012-10-17`, the current language, with policy variables.
    V2012_10_17,
    /// `2008-10-17`, the original language, and IAM's default when `Version`
    /// is absent; `${...}` is literal text in it.
    V2008_10_17,
}

impl Version {
    /// The version as written in a policy.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2012_10_17 => "2012-10-17",
            Version::V2008_10_17 => "2008-10-17",
        }
    }
}

/// A parsed and compiled IAM identity policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    version: Version,
    id: Option<String>,
    statements: Vec<Statement>,
    size_bytes: usize,
}

impl Policy {
    /// Parse an IAM policy document.
    ///
    /// # Errors
    ///
    /// [`PolicyError`] names what is wrong and, for a statement, which one (by
    /// 1-based position and `Sid`) and which element.
    pub fn parse(json: &str) -> Result<Policy, PolicyError> {
        let document: Value = serde_json::from_str(json).map_err(|e| PolicyError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let object = document.as_object().ok_or(PolicyError::NotAnObject)?;
        if let Some(element) = object
            .keys()
            .find(|k| !POLICY_ELEMENTS.contains(&k.as_str()))
        {
            return Err(PolicyError::UnknownElement {
                element: element.clone(),
            });
        }

        let version = match object.get("Version") {
            None => Version::V2008_10_17,
            Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
            Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
            Some(other) => {
                return Err(PolicyError::UnknownVersion {
                    version: other.to_string(),
                })
            }
        };
        let id = match object.get("Id") {
            None => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(PolicyError::IdNotString),
        };

        // `Statement` is one statement object or an array of them.
        let statements = match object.get("Statement") {
            None => return Err(PolicyError::NoStatement),
            Some(Value::Array(list)) if list.is_empty() => return Err(PolicyError::NoStatement),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, s)| Statement::parse(i + 1, s, version))
                .collect::<Result<Vec<_>, _>>()?,
            Some(single) => vec![Statement::parse(1, single, version)?],
        };
        Ok(Policy {
            version,
            id,
            statements,
            size_bytes: size_without_whitespace(json),
        })
    }

    /// The language version the document declares (2008-10-17 when absent).
    pub fn version(&self) -> Version {
        self.version
    }

    /// The document's optional `Id`.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The statements, in document order.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The document's size as IAM counts it against its quotas: bytes of the
    /// JSON text as given, leaving out whitespace between JSON tokens
    /// (whitespace inside strings counts).
    pub fn size_bytes(&self) -> usize {
        self.size_bytes
    }

    /// The decision of this policy alone; see [`evaluate`] for several.
    pub fn decide(&self, action: &str, resource: &str) -> Decision {
        let mut allowed = false;
        for statement in &self.statements {
            // Once allowed, only a deny can change the answer.
            if allowed && statement.effect == Effect::Allow {
                continue;
            }
            if !statement.applies_to(action, resource) {
                continue;
            }
            match statement.effect {
                Effect::Deny => return Decision::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

impl FromStr for Policy {
    type Err = PolicyError;

    fn from_str(json: &str) -> Result<Policy, PolicyError> {
        Policy::parse(json)
    }
}

/// Whether a statement grants or refuses what it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

/// One compiled policy statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    sid: Option<String>,
    effect: Effect,
    actions: PatternSet,
    resources: PatternSet,
    conditions: Vec<Condition>,
}

impl Statement {
    /// The statement's `Sid`, when it has one.
    pub fn sid(&self) -> Option<&str> {
        self.sid.as_deref()
    }

    /// Allow or deny.
    pub fn effect(&self) -> Effect {
        self.effect
    }

    /// The `Action` (or, negated, `NotAction`) patterns.
    pub fn actions(&self) -> &PatternSet {
        &self.actions
    }

    /// The `Resource` (or, negated, `NotResource`) patterns.
    pub fn resources(&self) -> &PatternSet {
        &self.resources
    }

    /// The statement's conditions; always empty today, because a policy with
    /// conditions is refused at parse time (see the module documentation).
    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// Whether the statement applies to `action` on `resource`: both its
    /// action set and its resource set match.
    pub fn applies_to(&self, action: &str, resource: &str) -> bool {
        self.actions.matches(action) && self.resources.matches(resource)
    }

    /// Parse the statement at 1-based position `number`.
    fn parse(number: usize, value: &Value, version: Version) -> Result<Statement, PolicyError> {
        let mut at = StatementAt { number, sid: None };
        let Some(object) = value.as_object() else {
            return Err(PolicyError::StatementNotObject { at });
        };
        match object.get("Sid") {
            None => {}
            Some(Value::String(sid)) => at.sid = Some(sid.clone()),
            Some(_) => return Err(wrong_type(&at, "Sid", "a string")),
        }
        check_statement_elements(object, &at)?;

        let effect = match object.get("Effect") {
            None => return Err(missing(&at, "Effect")),
            Some(Value::String(e)) if e == "Allow" => Effect::Allow,
            Some(Value::String(e)) if e == "Deny" => Effect::Deny,
            Some(_) => return Err(wrong_type(&at, "Effect", "\"Allow\" or \"Deny\"")),
        };
        let actions = PatternSet::parse(object, &at, ACTION, version)?;
        let resources = PatternSet::parse(object, &at, RESOURCE, version)?;
        let conditions = match object.get("Condition") {
            None => Vec::new(),
            Some(block) => Condition::parse_block(block, &at)?,
        };
        if !conditions.is_empty() {
            return Err(PolicyError::ConditionsUnsupported { at });
        }
        Ok(Statement {
            sid: at.sid,
            effect,
            actions,
            resources,
            conditions,
        })
    }
}

/// A statement's `Action` or `NotAction` (or `Resource` or `NotResource`):
/// patterns, and whether the set is negated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternSet {
    negated: bool,
    patterns: Vec<Pattern>,
}

impl PatternSet {
    /// Whether this is a `NotAction`/`NotResource` set, which matches what
    /// none of its patterns match.
    pub fn is_negated(&self) -> bool {
        self.negated
    }

    /// The patterns, in document order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether `text` is in the set.
    pub fn matches(&self, text: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(text)) != self.negated
    }

    fn parse(
        object: &Map<String, Value>,
        at: &StatementAt,
        element: &Element,
        version: Version,
    ) -> Result<PatternSet, PolicyError> {
        let (name, negated, value) = match (object.get(element.name), object.get(element.not_name))
        {
            (Some(_), Some(_)) => {
                return Err(PolicyError::Both {
                    at: at.clone(),
                    element: element.name,
                    not_element: element.not_name,
                })
            }
            (None, None) => return Err(missing(at, element.either)),
            (Some(v), None) => (element.name, false, v),
            (None, Some(v)) => (element.not_name, true, v),
        };
        let expected = "a string or an array of strings";
        let values: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(list) => list
                .iter()
                .map(|v| v.as_str().ok_or_else(|| wrong_type(at, name, expected)))
                .collect::<Result<_, _>>()?,
            _ => return Err(wrong_type(at, name, expected)),
        };
        if values.is_empty() {
            return Err(PolicyError::Empty {
                at: at.clone(),
                element: name,
            });
        }
        let mut patterns = Vec::with_capacity(values.len());
        for value in values {
            (element.check)(value).map_err(|problem| PolicyError::BadValue {
                at: at.clone(),
                element: name,
                value: value.to_owned(),
                problem,
            })?;
            if element.has_variables && version == Version::V2012_10_17 && value.contains("${") {
                return Err(PolicyError::PolicyVariable {
                    at: at.clone(),
                    element: name,
                    value: value.to_owned(),
                });
            }
            patterns.push(Pattern::new(value, element.case));
        }
        Ok(PatternSet { negated, patterns })
    }
}

/// One parsed condition: an operator, a context key and the values to compare
/// with, such as `StringEquals`, `aws:username`, `["alice"]`.
///
/// Kept so that a later change can evaluate conditions; today a statement with
/// any condition is refused at parse time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The operator, such as `StringEquals` or `IpAddress`.
    pub operator: String,
    /// The context key, such as `aws:SourceIp`.
    pub key: String,
    /// The values, as written (numbers and booleans in their JSON form).
    pub values: Vec<String>,
}

impl Condition {
    /// Parse a `Condition` block: `{ operator: { key: value or [values] } }`.
    fn parse_block(block: &Value, at: &StatementAt) -> Result<Vec<Condition>, PolicyError> {
        let malformed = |reason| PolicyError::MalformedCondition {
            at: at.clone(),
            reason,
        };
        let operators = block
            .as_object()
            .ok_or_else(|| malformed("Condition must be an object of operators"))?;
        let mut conditions = Vec::new();
        for (operator, keys) in operators {
            let keys = keys.as_object().ok_or_else(|| {
                malformed("each condition operator must map to an object of keys")
            })?;
            for (key, value) in keys {
                let values = match value {
                    Value::Array(list) => list.iter().map(condition_value).collect(),
                    single => vec![condition_value(single)],
                };
                let values = values
                    .into_iter()
                    .collect::<Option<Vec<String>>>()
                    .ok_or_else(|| {
                        malformed("condition values must be strings, numbers or booleans")
                    })?;
                conditions.push(Condition {
                    operator: operator.clone(),
                    key: key.clone(),
                    values,
                });
            }
        }
        Ok(conditions)
    }
}

/// Which statement an error is about: its 1-based position, and its `Sid`
/// when it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementAt {
    /// 1-based position in the `Statement` array (1 for a lone statement).
    pub number: usize,
    /// The statement's `Sid`, if it has one and it could be read.
    pub sid: Option<String>,
}

impl fmt::Display for StatementAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "statement {}", self.number)?;
        if let Some(sid) = &self.sid {
            write!(f, ", Sid {sid:?}")?;
        }
        Ok(())
    }
}

/// Why a document is not an IAM identity policy this crate can evaluate.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PolicyError {
    /// The text is not JSON.
    #[error("the policy is not valid JSON (line {line}, column {column}): {message}")]
    Json {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// serde_json's description.
        message: String,
    },
    /// The JSON is not an object.
    #[error("the policy must be a JSON object")]
    NotAnObject,
    /// A top-level element other than `Version`, `Id` and `Statement`.
    #[error("the policy has an unknown top-level element {element:?}")]
    UnknownElement {
        /// The element's name.
        element: String,
    },
    /// `Version` is neither `2012-10-17` nor `2008-10-17`.
    #[error("the policy Version {version} is not \"2012-10-17\" or \"2008-10-17\"")]
    UnknownVersion {
        /// The value as JSON.
        version: String,
    },
    /// `Id` is not a string.
    #[error("the policy Id must be a string")]
    IdNotString,
    /// `Statement` is absent or an empty array.
    #[error("the policy has no Statement")]
    NoStatement,
    /// A statement is not a JSON object.
    #[error("{at}: must be a JSON object")]
    StatementNotObject {
        /// Which statement.
        at: StatementAt,
    },
    /// A statement element IAM does not know, or one identity policies cannot
    /// have (`Principal`, `NotPrincipal`).
    #[error("{at}: element {element:?} is not allowed in an identity policy statement")]
    UnknownStatementElement {
        /// Which statement.
        at: StatementAt,
        /// The element's name.
        element: String,
    },
    /// A required element is absent.
    #[error("{at}: has no {element}")]
    Missing {
        /// Which statement.
        at: StatementAt,
        /// The element, or the pair of which one is required.
        element: &'static str,
    },
    /// Both an element and its negation are present.
    #[error("{at}: has both {element} and {not_element}; use exactly one")]
    Both {
        /// Which statement.
        at: StatementAt,
        /// The positive element, such as `Action`.
        element: &'static str,
        /// The negated element, such as `NotAction`.
        not_element: &'static str,
    },
    /// An element has the wrong JSON type or value.
    #[error("{at}: {element} must be {expected}")]
    WrongType {
        /// Which statement.
        at: StatementAt,
        /// The element.
        element: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// An action or resource list is empty.
    #[error("{at}: {element} is an empty list")]
    Empty {
        /// Which statement.
        at: StatementAt,
        /// The element.
        element: &'static str,
    },
    /// An action is not `service:name`, or a resource is not an ARN.
    #[error("{at}: {element} value {value:?} {problem}")]
    BadValue {
        /// Which statement.
        at: StatementAt,
        /// The element.
        element: &'static str,
        /// The offending value.
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A resource uses a `${...}` policy variable, which is not evaluated yet.
    #[error("{at}: {element} value {value:?} uses a policy variable, which is not supported yet")]
    PolicyVariable {
        /// Which statement.
        at: StatementAt,
        /// The element.
        element: &'static str,
        /// The offending value.
        value: String,
    },
    /// A `Condition` block is not `{ operator: { key: values } }`.
    #[error("{at}: {reason}")]
    MalformedCondition {
        /// Which statement.
        at: StatementAt,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A statement has conditions, which are not evaluated yet.
    #[error("conditions are not supported yet ({at})")]
    ConditionsUnsupported {
        /// Which statement.
        at: StatementAt,
    },
}

/// Top-level elements of a policy document.
const POLICY_ELEMENTS: &[&str] = &["Version", "Id", "Statement"];

/// Elements an identity policy statement may have.
const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// How one of the two pattern elements of a statement is read.
struct Element {
    name: &'static str,
    not_name: &'static str,
    either: &'static str,
    case: Case,
    /// Whether `${...}` is a policy variable here (in 2012-10-17 policies).
    has_variables: bool,
    check: fn(&str) -> Result<(), &'static str>,
}

const ACTION: &Element = &Element {
    name: "Action",
    not_name: "NotAction",
    either: "Action or NotAction",
    case: Case::Insensitive,
    has_variables: false,
    check: check_action,
};

const RESOURCE: &Element = &Element {
    name: "Resource",
    not_name: "NotResource",
    either: "Resource or NotResource",
    case: Case::Sensitive,
    has_variables: true,
    check: check_resource,
};

fn check_action(value: &str) -> Result<(), &'static str> {
    if value == "*" {
        return Ok(());
    }
    match value.split_once(':') {
        Some((service, name)) if !service.is_empty() && !name.is_empty() => Ok(()),
        _ => Err("is not \"*\" or service:action, such as s3:GetObject"),
    }
}

fn check_resource(value: &str) -> Result<(), &'static str> {
    if value != "*" && !value.starts_with("arn:") {
        return Err("is not \"*\" or an ARN");
    }
    Ok(())
}

fn check_statement_elements(
    object: &Map<String, Value>,
    at: &StatementAt,
) -> Result<(), PolicyError> {
    match object
        .keys()
        .find(|k| !STATEMENT_ELEMENTS.contains(&k.as_str()))
    {
        Some(element) => Err(PolicyError::UnknownStatementElement {
            at: at.clone(),
            element: element.clone(),
        }),
        None => Ok(()),
    }
}

fn missing(at: &StatementAt, element: &'static str) -> PolicyError {
    PolicyError::Missing {
        at: at.clone(),
        element,
    }
}

fn wrong_type(at: &StatementAt, element: &'static str, expected: &'static str) -> PolicyError {
    PolicyError::WrongType {
        at: at.clone(),
        element,
        expected,
    }
}

fn condition_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Bytes of `json` outside whitespace between tokens; string contents count
/// in full, escapes as written.
fn size_without_whitespace(json: &str) -> usize {
    let mut in_string = false;
    let mut escaped = false;
    let mut size = 0;
    for &b in json.as_bytes() {
        if in_string {
            size += 1;
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            size += 1;
            in_string = b == b'"';
        }
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Policy {
        Policy::parse(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(json: &str) -> String {
        Policy::parse(json).unwrap_err().to_string()
    }

    const READ_BUCKET: &str = r#"{
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"]},
            {"Sid": "NoSecrets", "Effect": "Deny", "Action": "s3:*",
             "Resource": "arn:aws:s3:::logs/secret/*"}
        ]
    }"#;

    #[test]
    fn parses_statement_array_with_sids_and_patterns() {
        let p = policy(READ_BUCKET);
        assert_eq!(p.version(), Version::V2012_10_17);
        assert_eq!(p.id(), None);
        assert_eq!(p.statements().len(), 2);
        let read = &p.statements()[0];
        assert_eq!(read.sid(), Some("Read"));
        assert_eq!(read.effect(), Effect::Allow);
        assert!(!read.actions().is_negated());
        let actions: Vec<&str> = read
            .actions()
            .patterns()
            .iter()
            .map(Pattern::as_str)
            .collect();
        assert_eq!(actions, ["s3:GetObject", "s3:ListBucket"]);
        assert_eq!(
            read.resources().patterns()[1].as_str(),
            "arn:aws:s3:::logs/*"
        );
        assert!(read.conditions().is_empty());
        assert_eq!(p.statements()[1].effect(), Effect::Deny);
    }

    #[test]
    fn parses_a_lone_statement_object() {
        let p = policy(
            r#"{"Version":"2012-10-17","Id":"one","Statement":
                {"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}}"#,
        );
        assert_eq!(p.id(), Some("one"));
        assert_eq!(p.statements().len(), 1);
        assert_eq!(p.statements()[0].sid(), None);
        assert_eq!(
            p.decide("sqs:SendMessage", "arn:aws:sqs:eu-north-1:123456789012:q"),
            Decision::Allow
        );
    }

    #[test]
    fn explicit_deny_beats_allow_within_a_policy() {
        let p = policy(READ_BUCKET);
        assert_eq!(
            p.decide("s3:GetObject", "arn:aws:s3:::logs/2024/a.gz"),
            Decision::Allow
        );
        assert_eq!(
            p.decide("s3:GetObject", "arn:aws:s3:::logs/secret/key"),
            Decision::ExplicitDeny
        );
        assert_eq!(
            p.decide("s3:ListBucket", "arn:aws:s3:::logs"),
            Decision::Allow
        );
    }

    #[test]
    fn explicit_deny_beats_allow_across_policies_in_any_order() {
        let allow = policy(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
        );
        let deny = policy(
            r#"{"Version":"2012-10-17","Statement":
                {"Effect":"Deny","Action":"ec2:TerminateInstances","Resource":"*"}}"#,
        );
        let decide = |ps: &[&Policy], action| evaluate(ps.iter().copied(), action, "*");
        assert_eq!(
            decide(&[&allow, &deny], "ec2:TerminateInstances"),
            Decision::ExplicitDeny
        );
        assert_eq!(
            decide(&[&deny, &allow], "ec2:TerminateInstances"),
            Decision::ExplicitDeny
        );
        assert_eq!(
            decide(&[&allow, &deny], "ec2:DescribeInstances"),
            Decision::Allow
        );
        assert_eq!(
            decide(&[&deny], "ec2:DescribeInstances"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn nothing_matching_is_an_implicit_deny() {
        let p = policy(READ_BUCKET);
        assert_eq!(
            p.decide("s3:PutObject", "arn:aws:s3:::logs/a"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            p.decide("s3:GetObject", "arn:aws:s3:::other/a"),
            Decision::ImplicitDeny
        );
        assert_eq!(evaluate([], "s3:GetObject", "*"), Decision::ImplicitDeny);
        assert_eq!(
            evaluate([&p], "s3:PutObject", "arn:aws:s3:::logs/a"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn not_action_matches_every_action_but_its_own() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","NotAction":["iam:*","sts:AssumeRole"],"Resource":"*"}]}"#,
        );
        assert!(p.statements()[0].actions().is_negated());
        assert_eq!(
            p.decide("s3:GetObject", "arn:aws:s3:::b/k"),
            Decision::Allow
        );
        assert_eq!(p.decide("iam:CreateUser", "*"), Decision::ImplicitDeny);
        assert_eq!(p.decide("STS:assumerole", "*"), Decision::ImplicitDeny);
        assert_eq!(p.decide("sts:GetSessionToken", "*"), Decision::Allow);
    }

    #[test]
    fn not_resource_matches_every_resource_but_its_own() {
        let p = policy(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Action":"s3:*","Resource":"*"},
                {"Effect":"Deny","Action":"s3:*","NotResource":"arn:aws:s3:::public/*"}]}"#,
        );
        assert!(p.statements()[1].resources().is_negated());
        assert_eq!(
            p.decide("s3:GetObject", "arn:aws:s3:::public/a"),
            Decision::Allow
        );
        assert_eq!(
            p.decide("s3:GetObject", "arn:aws:s3:::private/a"),
            Decision::ExplicitDeny
        );
    }

    #[test]
    fn actions_ignore_case_and_resources_do_not() {
        let p = policy(READ_BUCKET);
        assert_eq!(
            p.decide("S3:GETOBJECT", "arn:aws:s3:::logs/a"),
            Decision::Allow
        );
        assert_eq!(
            p.decide("s3:getobject", "arn:aws:s3:::LOGS/a"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            p.decide("s3:GetObject", "arn:aws:s3:::logs/Secret/a"),
            Decision::Allow,
            "the deny names secret/ in lower case"
        );
    }

    #[test]
    fn missing_version_is_2008_where_variables_are_literal() {
        let p = policy(
            r#"{"Statement":{"Effect":"Allow","Action":"s3:GetObject",
                "Resource":"arn:aws:s3:::home/${aws:username}/*"}}"#,
        );
        assert_eq!(p.version(), Version::V2008_10_17);
        assert_eq!(
            p.decide("s3:GetObject", "arn:aws:s3:::home/${aws:username}/a"),
            Decision::Allow
        );
        assert_eq!(
            p.decide("s3:GetObject", "arn:aws:s3:::home/alice/a"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn conditions_are_refused_naming_the_statement() {
        let json = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":"s3:*","Resource":"*"},
            {"Sid":"Office","Effect":"Allow","Action":"ec2:*","Resource":"*",
             "Condition":{"IpAddress":{"aws:SourceIp":["192.0.2.0/24"]}}}]}"#;
        assert_eq!(
            Policy::parse(json),
            Err(PolicyError::ConditionsUnsupported {
                at: StatementAt {
                    number: 2,
                    sid: Some("Office".into())
                }
            })
        );
        assert_eq!(
            error(json),
            r#"conditions are not supported yet (statement 2, Sid "Office")"#
        );
    }

    #[test]
    fn condition_shape_is_checked_before_refusing() {
        let with_condition = |c: &str| {
            error(&format!(
                r#"{{"Version":"2012-10-17","Statement":
                    {{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{c}}}}}"#
            ))
        };
        assert_eq!(
            with_condition(r#""x""#),
            "statement 1: Condition must be an object of operators"
        );
        assert_eq!(
            with_condition(r#"{"StringEquals":["a"]}"#),
            "statement 1: each condition operator must map to an object of keys"
        );
        assert_eq!(
            with_condition(r#"{"StringEquals":{"aws:username":{"a":1}}}"#),
            "statement 1: condition values must be strings, numbers or booleans"
        );
        assert_eq!(
            with_condition(r#"{"Bool":{"aws:SecureTransport":true}}"#),
            "conditions are not supported yet (statement 1)"
        );
    }

    #[test]
    fn policy_variables_are_refused_in_2012_policies() {
        let json = r#"{"Version":"2012-10-17","Statement":{"Sid":"Home","Effect":"Allow",
            "Action":"s3:*","Resource":"arn:aws:s3:::home/${aws:username}/*"}}"#;
        assert_eq!(
            error(json),
            "statement 1, Sid \"Home\": Resource value \"arn:aws:s3:::home/${aws:username}/*\" \
             uses a policy variable, which is not supported yet"
        );
    }

    #[test]
    fn document_errors_are_named() {
        assert!(error("{").starts_with("the policy is not valid JSON (line 1, column 1)"));
        assert_eq!(error("[]"), "the policy must be a JSON object");
        assert_eq!(
            error(r#"{"Version":"2012-10-17"}"#),
            "the policy has no Statement"
        );
        assert_eq!(
            error(r#"{"Version":"2012-10-17","Statement":[]}"#),
            "the policy has no Statement"
        );
        assert_eq!(
            error(r#"{"Version":"2020-01-01","Statement":[]}"#),
            r#"the policy Version "2020-01-01" is not "2012-10-17" or "2008-10-17""#
        );
        assert_eq!(
            error(r#"{"Statement":[],"statement":[]}"#),
            r#"the policy has an unknown top-level element "statement""#
        );
        assert_eq!(
            error(r#"{"Id":3,"Statement":[]}"#),
            "the policy Id must be a string"
        );
    }

    #[test]
    fn statement_errors_name_the_statement_and_element() {
        let statement = |body: &str| {
            error(&format!(
                r#"{{"Version":"2012-10-17","Statement":[
                    {{"Effect":"Allow","Action":"*","Resource":"*"}},{body}]}}"#
            ))
        };
        assert_eq!(statement("3"), "statement 2: must be a JSON object");
        assert_eq!(
            statement(r#"{"Sid":"S","Action":"*","Resource":"*"}"#),
            r#"statement 2, Sid "S": has no Effect"#
        );
        assert_eq!(
            statement(r#"{"Effect":"allow","Action":"*","Resource":"*"}"#),
            r#"statement 2: Effect must be "Allow" or "Deny""#
        );
        assert_eq!(
            statement(r#"{"Effect":"Allow","Resource":"*"}"#),
            "statement 2: has no Action or NotAction"
        );
        assert_eq!(
            statement(r#"{"Effect":"Allow","Action":"*"}"#),
            "statement 2: has no Resource or NotResource"
        );
        assert_eq!(
            statement(r#"{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}"#),
            "statement 2: has both Action and NotAction; use exactly one"
        );
        assert_eq!(
            statement(r#"{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}"#),
            "statement 2: has both Resource and NotResource; use exactly one"
        );
        assert_eq!(
            statement(r#"{"Effect":"Allow","Action":["s3:*",7],"Resource":"*"}"#),
            "statement 2: Action must be a string or an array of strings"
        );
        assert_eq!(
            statement(r#"{"Effect":"Allow","NotAction":[],"Resource":"*"}"#),
            "statement 2: NotAction is an empty list"
        );
        assert_eq!(
            statement(r#"{"Effect":"Allow","Action":"GetObject","Resource":"*"}"#),
            r#"statement 2: Action value "GetObject" is not "*" or service:action, such as s3:GetObject"#
        );
        assert_eq!(
            statement(r#"{"Effect":"Allow","Action":"*","NotResource":"bucket/*"}"#),
            r#"statement 2: NotResource value "bucket/*" is not "*" or an ARN"#
        );
        assert_eq!(
            statement(r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#),
            r#"statement 2: element "Principal" is not allowed in an identity policy statement"#
        );
        assert_eq!(
            statement(r#"{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}"#),
            "statement 2: Sid must be a string"
        );
    }

    #[test]
    fn size_leaves_out_whitespace_between_tokens_only() {
        let compact = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a b/*"}}"#;
        let spaced = "{\n  \"Version\": \"2012-10-17\",\n\t\"Statement\": {\"Effect\": \"Allow\", \
             \"Action\": \"s3:*\", \"Resource\": \"arn:aws:s3:::a b/*\"}\r\n}";
        assert_eq!(policy(compact).size_bytes(), compact.len());
        assert_eq!(policy(spaced).size_bytes(), compact.len());
        // An escaped quote does not end the string, so the space after it counts.
        assert_eq!(size_without_whitespace(r#" "a\" b" "#), 7);
        assert!(policy(compact).size_bytes() <= USER_INLINE_POLICY_MAX_BYTES);
    }

    #[test]
    fn decisions_have_stable_names_and_indices() {
        let names: Vec<&str> = Decision::ALL.iter().map(|d| d.as_str()).collect();
        assert_eq!(names, ["allow", "explicit-deny", "implicit-deny"]);
        for (i, d) in Decision::ALL.iter().enumerate() {
            assert_eq!(d.index(), i);
        }
        assert_eq!(
            serde_json::to_string(&Decision::ExplicitDeny).unwrap(),
            r#""explicit-deny""#
        );
        assert!(Decision::Allow.is_allowed());
        assert!(!Decision::ImplicitDeny.is_allowed());
    }
}
