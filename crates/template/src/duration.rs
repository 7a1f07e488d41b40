//! Durations written the way people write them: `90s`, `10m`, `1h30m`, `90d`, `2w`: the one
//! grammar of every duration a person writes for amiref (templates, configuration, flags).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A duration written as weeks, days, hours, minutes and seconds: `90s`, `10m`, `1h30m`,
/// `2h`, `90d`, `2w`. It displays in hours, minutes and seconds (`90d` as `2160h`).
///
/// Units must appear in the order w, d, h, m, s, each at most once, with a whole number before
/// each; a bare number is refused because "10" could mean seconds or minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HumanDuration(Duration);

/// The longest `ami_config.fallback_timeout` a template may give: 24 hours.
///
/// The deadline bounds the search for an image before the fallback runs, which takes
/// seconds, or minutes when a tier is slow: a deadline longer than a day is a mistake
/// (hours written for minutes), and the loader refuses it. A validated template's
/// deadline can be added to any clock reading without overflow.
pub const MAX_FALLBACK_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest `provisioning_time` a template may give: 24 hours.
///
/// It estimates how long `user_data` takes at first boot; a script that runs for more
/// than a day is not a launch but a build, better captured once in an image (and an
/// estimate past it would only distort the comparison with a copy).
pub const MAX_PROVISIONING_TIME: Duration = Duration::from_secs(24 * 60 * 60);

/// What a valid duration looks like, for error messages.
pub const DURATION_EXPECTED: &str = "a duration such as \"90s\", \"10m\", \"1h30m\", \"90d\" or \"2w\" (whole numbers with units w, d, h, m, s, in that order)";

impl HumanDuration {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl From<Duration> for HumanDuration {
    fn from(d: Duration) -> Self {
        Self(d)
    }
}

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DurationError {
    /// What was given.
    pub found: String,
    /// Whether it is well-formed but too large to count in seconds (`u64`): parsing
    /// uses checked arithmetic, so an enormous duration is this error, never an overflow.
    pub too_large: bool,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let found = &self.found;
        if self.too_large {
            write!(
                f,
                "duration {found:?} is too large: its number of seconds does not fit in 64 bits"
            )
        } else {
            write!(
                f,
                "invalid duration {found:?}: expected {DURATION_EXPECTED}"
            )
        }
    }
}

impl std::error::Error for DurationError {}

impl FromStr for HumanDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DurationError {
            found: s.to_owned(),
            too_large: false,
        };
        let too_large = || DurationError {
            found: s.to_owned(),
            too_large: true,
        };
        let mut total: u64 = 0;
        let mut number = String::new();
        let mut last_unit = 0; // 0 none, 1 w, 2 d, 3 h, 4 m, 5 s: enforces order and uniqueness
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let (rank, secs) = match c {
                'w' => (1, 7 * 86_400),
                'd' => (2, 86_400),
                'h' => (3, 3600),
                'm' => (4, 60),
                's' => (5, 1),
                _ => return Err(err()),
            };
            if number.is_empty() || rank <= last_unit {
                return Err(err());
            }
            // Only ASCII digits are pushed, so the parse fails only when the number does
            // not fit.
            let n: u64 = number.parse().map_err(|_| too_large())?;
            total = n
                .checked_mul(secs)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(too_large)?;
            number.clear();
            last_unit = rank;
        }
        if !number.is_empty() || last_unit == 0 {
            return Err(err());
        }
        Ok(Self(Duration::from_secs(total)))
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 || secs == 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

impl serde::Serialize for HumanDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HumanDuration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": DURATION_EXPECTED,
            "pattern": "^([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$",
            "minLength": 2
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (text, secs) in [
            ("90s", 90),
            ("10m", 600),
            ("1h30m", 5400),
            ("2h", 7200),
            ("1h0m5s", 3605),
            ("90d", 90 * 86_400),
            ("1d1h", 90_000),
            ("2w", 14 * 86_400),
            ("1w1d12h", 8 * 86_400 + 12 * 3600),
        ] {
            let d: HumanDuration = text.parse().unwrap();
            assert_eq!(d.get().as_secs(), secs, "{text}");
            let again: HumanDuration = d.to_string().parse().unwrap();
            assert_eq!(again, d);
        }
    }

    #[test]
    fn refuses_ambiguous_or_malformed() {
        for bad in [
            "", "10", "m", "d", "w", "10x", "1m1h", "1h1d", "1d1d", "1d1w", "-5s", "1.5h",
        ] {
            let e = bad.parse::<HumanDuration>().unwrap_err();
            assert!(!e.too_large, "{bad}");
        }
    }

    #[test]
    fn enormous_durations_are_errors_not_overflows() {
        for huge in [
            "99999999999999999999h",
            "18446744073709551616s",
            "5124095576030432h",
            "5124095576030431h15m",
            "5124095576030431h0m16s",
        ] {
            let e = huge.parse::<HumanDuration>().unwrap_err();
            assert!(e.too_large, "{huge}");
            assert!(e.to_string().contains("too large"), "{e}");
        }
        // The largest that fits still parses (and is refused by validation, not here).
        let max: HumanDuration = "18446744073709551615s".parse().unwrap();
        assert_eq!(max.get().as_secs(), u64::MAX);
        assert_eq!(max.to_string().parse::<HumanDuration>().unwrap(), max);
        let big: HumanDuration = "3000000000000000h".parse().unwrap();
        assert!(big.get() > super::MAX_FALLBACK_TIMEOUT);
    }
}
