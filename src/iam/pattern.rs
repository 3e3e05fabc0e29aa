//! IAM's wildcard patterns: `*` matches any run of characters (the empty run
//! included) and `?` exactly one character; every other character stands for
//! itself. [`super::policy`] compiles every `Action` and `Resource` value into
//! a [`Pattern`] once, at parse time, so that evaluating a request only
//! compares bytes.
//!
//! Matching never allocates and never backtracks further than the most recent
//! `*`: a failed attempt after a `*` restarts one character later from that
//! `*` only, because any match an earlier `*` could still find, the later one
//! finds too. The worst case is therefore the product of the two lengths, not
//! exponential, even for patterns such as `*a*a*a*a*b`.
//!
//! NOTE: case-insensitive matching folds ASCII letters only. IAM action names
//! are ASCII, so this costs nothing in practice; a non-ASCII action pattern
//! would match only its exact case.

use std::fmt;

/// How letters compare: resources are case-sensitive, actions are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Case {
    /// `a` and `A` differ (IAM's rule for resource ARNs).
    Sensitive,
    /// ASCII letters match either case (IAM's rule for actions).
    Insensitive,
}

/// One compiled wildcard pattern, such as `s3:Get*` or `arn:aws:s3:::bucket/*`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern {
    source: Box<str>,
    case: Case,
    shape: Shape,
}

impl Pattern {
    /// Compile `source`, with letters compared according to `case`.
    ///
    /// Cost: one copy of `source` and one scan of it.
    pub fn new(source: &str, case: Case) -> Pattern {
        Pattern {
            source: source.into(),
            case,
            shape: Shape::of(source),
        }
    }

    /// A pattern for an action name (`service:Operation`), matched ignoring case.
    pub fn action(source: &str) -> Pattern {
        Pattern::new(source, Case::Insensitive)
    }

    /// A pattern for a resource ARN, matched case-sensitively.
    pub fn resource(source: &str) -> Pattern {
        Pattern::new(source, Case::Sensitive)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// How the pattern compares letters.
    pub fn case(&self) -> Case {
        self.case
    }

    /// Whether `text` matches the whole pattern.
    ///
    /// Cost: linear in `text` for a pattern without wildcards, made only of
    /// `*`, or ending in its only `*`; at worst the product of both lengths.
    /// Never allocates.
    pub fn matches(&self, text: &str) -> bool {
        let pattern = self.source.as_bytes();
        let insensitive = self.case == Case::Insensitive;
        match self.shape {
            Shape::Anything => true,
            Shape::Exact if insensitive => text.eq_ignore_ascii_case(&self.source),
            Shape::Exact => text == &*self.source,
            Shape::Prefix => {
                let prefix = &pattern[..pattern.len() - 1];
                let head = text.as_bytes().get(..prefix.len());
                match head {
                    Some(head) if insensitive => head.eq_ignore_ascii_case(prefix),
                    Some(head) => head == prefix,
                    None => false,
                }
            }
            Shape::Glob => glob(pattern, text, insensitive),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// What a pattern's wildcards allow, so that common shapes skip the general
/// matcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Shape {
    /// Only `*`s: every text matches.
    Anything,
    /// No wildcard: the text must equal the pattern.
    Exact,
    /// A literal followed by a single `*`, such as `s3:Get*`.
    Prefix,
    /// Anything else.
    Glob,
}

impl Shape {
    fn of(source: &str) -> Shape {
        let bytes = source.as_bytes();
        let stars = bytes.iter().filter(|&&b| b == b'*').count();
        let has_question = bytes.contains(&b'?');
        if !bytes.is_empty() && stars == bytes.len() {
            Shape::Anything
        } else if stars == 0 && !has_question {
            Shape::Exact
        } else if stars == 1 && !has_question && bytes.last() == Some(&b'*') {
            Shape::Prefix
        } else {
            Shape::Glob
        }
    }
}

/// The general matcher: walks text and pattern together, remembering only the
/// most recent `*` and where in the text it was last tried.
///
/// Text positions stay on character boundaries: a literal byte can only equal
/// a text byte of the same kind (pattern and text are both UTF-8), `?`
/// consumes a whole character, and a `*` is retried one whole character later.
fn glob(pattern: &[u8], text: &str, insensitive: bool) -> bool {
    let text = text.as_bytes();
    let (mut p, mut t) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                last_star = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(b'?') => {
                p += 1;
                t += utf8_len(text[t]);
                continue;
            }
            Some(&literal) if same_byte(literal, text[t], insensitive) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }

        // A mismatch: let the most recent `*` swallow one more character.
        let Some((after_star, tried)) = last_star else {
            return false;
        };
        let next = tried + utf8_len(text[tried]);
        last_star = Some((after_star, next));
        p = after_star;
        t = next;
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

fn same_byte(pattern: u8, text: u8, insensitive: bool) -> bool {
    pattern == text || (insensitive && pattern.eq_ignore_ascii_case(&text))
}

/// The length of the UTF-8 character that starts with `lead`.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition of a glob, by brute-force recursion over characters.
    fn oracle(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|i| oracle(rest, &text[i..])),
            Some(('?', rest)) => !text.is_empty() && oracle(rest, &text[1..]),
            Some((c, rest)) => text.first() == Some(c) && oracle(rest, &text[1..]),
        }
    }

    fn oracle_matches(pattern: &str, text: &str, case: Case) -> bool {
        let fold = |s: &str| -> Vec<char> {
            s.chars()
                .map(|c| match case {
                    Case::Insensitive => c.to_ascii_lowercase(),
                    Case::Sensitive => c,
                })
                .collect()
        };
        oracle(&fold(pattern), &fold(text))
    }

    fn string_of(alphabet: &'static [char], max_len: usize) -> impl Strategy<Value = String> {
        proptest::collection::vec(proptest::sample::select(alphabet), 0..max_len)
            .prop_map(|chars| chars.into_iter().collect())
    }

    fn any_case() -> impl Strategy<Value = Case> {
        prop_oneof![Just(Case::Sensitive), Just(Case::Insensitive)]
    }

    proptest! {
        #[test]
        fn matcher_agrees_with_recursive_oracle(
            pattern in string_of(&['a', 'b', 'A', '*', '?', 'é'], 9),
            text in string_of(&['a', 'b', 'A', 'B', 'é', '*', '?'], 12),
            case in any_case(),
        ) {
            let compiled = Pattern::new(&pattern, case);
            prop_assert_eq!(
                compiled.matches(&text),
                oracle_matches(&pattern, &text, case),
                "pattern {:?} text {:?} {:?}", pattern, text, case
            );
        }

        #[test]
        fn pattern_matches_every_text_it_generates(
            pattern in string_of(&['a', 'b', 'é', ':', '*', '?'], 10),
            fillers in proptest::collection::vec(string_of(&['a', 'b', 'é', '/'], 4), 10),
            singles in proptest::collection::vec(proptest::sample::select(&['x', 'é', '*']), 10),
        ) {
            // Instantiate each wildcard: `*` with a filler run, `?` with one character.
            let mut text = String::new();
            for (i, c) in pattern.chars().enumerate() {
                match c {
                    '*' => text.push_str(&fillers[i]),
                    '?' => text.push(singles[i]),
                    c => text.push(c),
                }
            }
            prop_assert!(Pattern::resource(&pattern).matches(&text), "{:?} {:?}", pattern, text);
            prop_assert!(oracle_matches(&pattern, &text, Case::Sensitive));
        }
    }

    #[test]
    fn star_matches_any_run_including_empty() {
        let p = Pattern::resource("arn:aws:s3:::bucket/*");
        assert!(p.matches("arn:aws:s3:::bucket/"));
        assert!(p.matches("arn:aws:s3:::bucket/a/b/c"));
        assert!(!p.matches("arn:aws:s3:::bucket"));
        assert!(!p.matches("arn:aws:s3:::bucket2/a"));
        assert!(Pattern::resource("*").matches(""));
        assert!(Pattern::resource("**").matches("anything"));
        assert!(Pattern::resource("a*b*c").matches("abc"));
        assert!(Pattern::resource("a*b*c").matches("a-b-b-c"));
        assert!(!Pattern::resource("a*b*c").matches("a-c-b"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        let p = Pattern::resource("arn:aws:sqs:eu-north-1:123456789012:q?");
        assert!(p.matches("arn:aws:sqs:eu-north-1:123456789012:q1"));
        assert!(!p.matches("arn:aws:sqs:eu-north-1:123456789012:q"));
        assert!(!p.matches("arn:aws:sqs:eu-north-1:123456789012:q12"));
        // One character, not one byte: `é` is two bytes of UTF-8.
        assert!(Pattern::resource("a?c").matches("aéc"));
        assert!(!Pattern::resource("a??c").matches("aéc"));
    }

    #[test]
    fn actions_ignore_case_and_resources_do_not() {
        assert!(Pattern::action("s3:GetObject").matches("s3:getobject"));
        assert!(Pattern::action("S3:GET*").matches("s3:GetObjectAcl"));
        assert!(Pattern::action("ec2:Describe?nstances").matches("EC2:DESCRIBEINSTANCES"));
        assert!(!Pattern::resource("arn:aws:s3:::Bucket/*").matches("arn:aws:s3:::bucket/k"));
        assert!(!Pattern::resource("arn:aws:s3:::bucket/Key").matches("arn:aws:s3:::bucket/key"));
        assert!(Pattern::resource("arn:aws:s3:::bucket/Key").matches("arn:aws:s3:::bucket/Key"));
    }

    #[test]
    fn wildcards_in_the_text_are_literal_characters() {
        assert!(!Pattern::action("s3:GetObject").matches("s3:Get*"));
        assert!(Pattern::action("s3:Get*").matches("s3:Get*"));
        assert!(!Pattern::resource("a?").matches("a"));
    }

    #[test]
    fn shapes_are_chosen_from_the_wildcards() {
        assert_eq!(Shape::of("*"), Shape::Anything);
        assert_eq!(Shape::of("***"), Shape::Anything);
        assert_eq!(Shape::of("s3:GetObject"), Shape::Exact);
        assert_eq!(Shape::of(""), Shape::Exact);
        assert_eq!(Shape::of("s3:Get*"), Shape::Prefix);
        assert_eq!(Shape::of("s3:Get?*"), Shape::Glob);
        assert_eq!(Shape::of("*Object"), Shape::Glob);
        assert_eq!(Shape::of("s3:*Object*"), Shape::Glob);
    }

    #[test]
    fn many_stars_do_not_blow_up() {
        // Exponential backtracking would never finish this; the last-star
        // matcher does at most |pattern| * |text| steps.
        let pattern = format!("{}b", "*a".repeat(40));
        let text = "a".repeat(20_000);
        assert!(!Pattern::resource(&pattern).matches(&text));
        assert!(Pattern::resource(&pattern).matches(&format!("{text}b")));
    }

    #[test]
    fn empty_pattern_matches_only_empty_text() {
        assert!(Pattern::resource("").matches(""));
        assert!(!Pattern::resource("").matches("a"));
    }
}
