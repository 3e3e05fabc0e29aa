//! The derived-key strategies sigstorm compares: where a data plane gets the
//! signing key that verifies a request (see `MODEL.md`).
//!
//! | strategy | signing key from | HMACs per verification |
//! | --- | --- | --- |
//! | `none` | a call to the control plane, which derives from the secret | 5, at the control plane |
//! | `per-region` | the replicated `kRegion`, derived further on every request | 3 |
//! | `per-service` | a cache of `kSigning` (`moka` by default), filled from `kRegion` on a miss | 1 on a hit |
//! | `per-service-prekeyed` | the same cache holding `kSigning` as a pre-keyed HMAC state | 1 on a hit, two SHA-256 compressions fewer |

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A derived-key strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Strategy {
    /// Every verification is a call to the control plane in the home region.
    #[serde(rename = "none")]
    None,
    /// The endpoint derives `kService` and `kSigning` from the replicated
    /// `kRegion` on every request.
    #[serde(rename = "per-region")]
    PerRegion,
    /// The endpoint caches `kSigning` per (access key, key version, date,
    /// region, service) in a cache (`moka` by default).
    #[serde(rename = "per-service")]
    PerService,
    /// As `per-service`, but the cache holds `kSigning` as an HMAC key whose
    /// inner and outer pad blocks are already hashed.
    #[serde(rename = "per-service-prekeyed")]
    PerServicePrekeyed,
}

impl Strategy {
    /// Every strategy, in the order runs and tables use.
    pub const ALL: [Strategy; 4] = [
        Strategy::None,
        Strategy::PerRegion,
        Strategy::PerService,
        Strategy::PerServicePrekeyed,
    ];

    /// The strategy's name in workloads, flags and reports.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::None => "none",
            Strategy::PerRegion => "per-region",
            Strategy::PerService => "per-service",
            Strategy::PerServicePrekeyed => "per-service-prekeyed",
        }
    }

    /// Whether the strategy keeps a signing-key cache.
    pub fn uses_cache(self) -> bool {
        matches!(self, Strategy::PerService | Strategy::PerServicePrekeyed)
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Strategy, String> {
        Strategy::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| {
                format!("unknown strategy '{s}' (expected none, per-region, per-service or per-service-prekeyed)")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Strategy::ALL {
            assert_eq!(s.name().parse::<Strategy>(), Ok(s));
        }
        assert!("per-key".parse::<Strategy>().is_err());
    }
}
