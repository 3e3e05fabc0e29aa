//! The identities of the IAM model: users (principals), their access keys and
//! the keys' status. Shared by the control plane, which owns them, and the data
//! planes, which hold replicated copies; neither secret nor derived key lives
//! here.

use std::fmt;
use std::hash::{Hash, Hasher};

use serde::Serialize;

/// The longest access key id sigstorm stores, in bytes. AWS's are 20; a
/// request naming a longer one is refused as an unknown key.
pub const MAX_ACCESS_KEY_ID_LEN: usize = 32;

/// An access key id held inline, so that building a cache key or a map key
/// from a request never allocates.
#[derive(Clone, Copy)]
pub struct AccessKeyId {
    len: u8,
    bytes: [u8; MAX_ACCESS_KEY_ID_LEN],
}

impl AccessKeyId {
    /// The id `s`, or `None` when it is empty, longer than
    /// [`MAX_ACCESS_KEY_ID_LEN`] bytes, or not upper-case letters and digits.
    pub fn new(s: &str) -> Option<AccessKeyId> {
        let b = s.as_bytes();
        if b.is_empty() || b.len() > MAX_ACCESS_KEY_ID_LEN {
            return None;
        }
        if !b
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return None;
        }
        let mut bytes = [0u8; MAX_ACCESS_KEY_ID_LEN];
        bytes[..b.len()].copy_from_slice(b);
        Some(AccessKeyId {
            len: b.len() as u8,
            bytes,
        })
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters and digits are ever stored.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or_default()
    }
}

impl PartialEq for AccessKeyId {
    fn eq(&self, other: &AccessKeyId) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for AccessKeyId {}

impl Hash for AccessKeyId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKeyId({})", self.as_str())
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AccessKeyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A user's index in the control plane's directory; stable for a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct UserId(pub u32);

/// An IAM user as the data planes see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Its name, such as `user-0042`.
    pub name: String,
    /// Its ARN, `arn:aws:iam::<account>:user/<name>`.
    pub arn: String,
}

/// The status of an access key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs requests.
    Active,
    /// Refused, but may be activated again.
    Inactive,
    /// Gone for good.
    Deleted,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_key_ids_are_validated_and_inline() {
        let id = AccessKeyId::new("AKIDEXAMPLE").unwrap();
        assert_eq!(id.as_str(), "AKIDEXAMPLE");
        assert_eq!(id, AccessKeyId::new("AKIDEXAMPLE").unwrap());
        assert!(AccessKeyId::new("").is_none());
        assert!(AccessKeyId::new("akid").is_none());
        assert!(AccessKeyId::new(&"A".repeat(33)).is_none());
        assert!(AccessKeyId::new(&"A".repeat(32)).is_some());
    }
}
