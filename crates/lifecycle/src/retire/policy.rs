//! The retention policy: which images of a template to keep, and in what order they rank.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use amiref_core::Image;
use chrono::{DateTime, Duration, Utc};

use crate::error::LifecycleError;
use crate::tags::TAG_TEMPLATE_VERSION;

/// How long a retired image stays disabled before a later run deregisters it, unless the
/// policy says otherwise ([`RetentionPolicy::grace`]).
pub const DEFAULT_RETIRE_GRACE_DAYS: i64 = 14;

/// For an image shared with others, how recent a launch keeps it when the policy sets no
/// [`RetentionPolicy::keep_launched_within`]: other accounts' instances are invisible to the
/// caller, and their launches only show in the image's `LastLaunchedTime`, which EC2
/// updates within 24 hours of a launch.
pub const SHARED_LAUNCH_WINDOW_DAYS: i64 = 30;

/// Which images of a template to keep.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Keep the newest this many per region.
    pub keep_newest: Option<usize>,
    /// Keep every image younger than this.
    #[serde(with = "duration_secs")]
    pub max_age: Option<Duration>,
    /// Always keep at least this many of the newest per region (raised to 1).
    pub keep_at_least: usize,
    /// Keep images carrying any of these tags: a value, or `None` for the key with any value.
    pub exclude_tags: BTreeMap<String, Option<String>>,
    /// Keep images an instance was launched from this recently (EC2's `LastLaunchedTime`).
    #[serde(default, rename = "keep_launched_within_secs", with = "duration_secs")]
    pub keep_launched_within: Option<Duration>,
    /// How long a retired image stays disabled (and recoverable with `ami enable`) before a
    /// later run deregisters it. Zero deregisters at once, without disabling first.
    #[serde(default = "default_grace", rename = "grace_secs", with = "secs")]
    pub grace: Duration,
}

fn default_grace() -> Duration {
    Duration::days(DEFAULT_RETIRE_GRACE_DAYS)
}

mod duration_secs {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.num_seconds()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<i64>::deserialize(d)?.map(Duration::seconds))
    }
}

mod secs {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(d.num_seconds())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::seconds(i64::deserialize(d)?))
    }
}

impl RetentionPolicy {
    fn with_rules(keep_newest: Option<usize>, max_age: Option<Duration>) -> Self {
        Self {
            keep_newest,
            max_age,
            keep_at_least: 1,
            exclude_tags: BTreeMap::new(),
            keep_launched_within: None,
            grace: default_grace(),
        }
    }

    /// Keep the newest `n` images per region (and at least one); retire in two steps with
    /// the default grace period.
    pub fn keep_newest(n: usize) -> Self {
        Self::with_rules(Some(n), None)
    }

    /// Keep every image younger than `age` (and at least the newest one); retire in two
    /// steps with the default grace period.
    pub fn younger_than(age: Duration) -> Self {
        Self::with_rules(None, Some(age))
    }

    /// Also keep images younger than `age`.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Also keep images carrying tag `key` (with `value`, or any value).
    #[must_use]
    pub fn exclude_tag(mut self, key: impl Into<String>, value: Option<String>) -> Self {
        self.exclude_tags.insert(key.into(), value);
        self
    }

    /// Also keep images launched from within `window` (by their `LastLaunchedTime`).
    #[must_use]
    pub fn keep_launched_within(mut self, window: Duration) -> Self {
        self.keep_launched_within = Some(window);
        self
    }

    /// Keeps retired images disabled for `grace` before deregistering them; zero
    /// deregisters at once.
    #[must_use]
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    pub(super) fn validate(&self) -> Result<(), LifecycleError> {
        if self.keep_newest.is_none() && self.max_age.is_none() {
            return Err(LifecycleError::InvalidInput {
                field: "retention policy",
                found: "no rule".to_owned(),
                expected: "keep the newest N, or those younger than an age, or both".to_owned(),
            });
        }
        for (field, age) in [
            ("max age", self.max_age),
            ("keep launched within", self.keep_launched_within),
        ] {
            if age.is_some_and(|a| a <= Duration::zero()) {
                return Err(LifecycleError::InvalidInput {
                    field,
                    found: format!("{}s", age.map_or(0, |a| a.num_seconds())),
                    expected: "a positive age such as 90d".to_owned(),
                });
            }
        }
        if self.grace < Duration::zero() {
            return Err(LifecycleError::InvalidInput {
                field: "grace",
                found: format!("{}s", self.grace.num_seconds()),
                expected: "zero (deregister at once) or a positive age such as 14d".to_owned(),
            });
        }
        Ok(())
    }

    pub(super) fn excluded_by(&self, image: &Image) -> Option<String> {
        self.exclude_tags.iter().find_map(|(k, v)| {
            let matches = match v {
                Some(v) => image.tag(k) == Some(v.as_str()),
                None => image.tags.contains_key(k),
            };
            matches.then(|| k.clone())
        })
    }

    /// Why the policy keeps the image ranked `index` (0 the newest), if it does.
    pub(super) fn keeps(
        &self,
        image: &Image,
        index: usize,
        now: DateTime<Utc>,
    ) -> Option<KeepReason> {
        if let Some(tag) = self.excluded_by(image) {
            Some(KeepReason::ExcludedByTag { tag })
        } else if self.keep_newest.is_some_and(|n| index < n) {
            Some(KeepReason::AmongNewest { rank: index + 1 })
        } else if self
            .max_age
            .is_some_and(|age| now - image.creation_date < age)
        {
            Some(KeepReason::YoungerThanMaxAge)
        } else if index < self.keep_at_least.max(1) {
            Some(KeepReason::Minimum)
        } else {
            None
        }
    }
}

/// Why the policy keeps an image.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(tag = "kept_because", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeepReason {
    /// Among the newest N.
    AmongNewest {
        /// Its rank, 1 the newest.
        rank: usize,
    },
    /// Younger than the maximum age.
    YoungerThanMaxAge,
    /// Kept so that at least `keep_at_least` remain.
    Minimum,
    /// It carries an exclusion tag.
    ExcludedByTag {
        /// The tag key.
        tag: String,
    },
}

/// The image's version: its `amiref:template-version` tag read as semver (a leading `v`
/// allowed), `None` when absent or not semver.
pub fn image_version(image: &Image) -> Option<semver::Version> {
    let text = image.tag(TAG_TEMPLATE_VERSION)?.trim();
    semver::Version::parse(text.strip_prefix('v').unwrap_or(text)).ok()
}

/// Newest first: a higher version first; images with a version before those without;
/// then the later creation date; then the id, so that the order is total.
pub fn newest_first(a: &Image, b: &Image) -> Ordering {
    let (va, vb) = (image_version(a), image_version(b));
    let by_version = match (&va, &vb) {
        (Some(x), Some(y)) => y.cmp(x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_version
        .then_with(|| b.creation_date.cmp(&a.creation_date))
        .then_with(|| a.id.cmp(&b.id))
}

/// The longest age [`parse_age`] takes: 100 years (36,500 days), far past any image's life,
/// and short enough that any time now or later, less or plus the age, is a valid time.
pub const MAX_AGE_DAYS: i64 = 36_500;

/// Parses an age such as `90d`, `12w`, `36h` or `1d12h`: a duration of
/// [`amiref_template::HumanDuration`]'s grammar (units w, d, h, m, s, in that order), more than
/// zero and at most [`MAX_AGE_DAYS`].
pub fn parse_age(text: &str) -> Result<Duration, LifecycleError> {
    let err = || LifecycleError::InvalidInput {
        field: "age",
        found: text.to_owned(),
        expected: format!(
            "an age more than zero and at most {MAX_AGE_DAYS}d: {}",
            amiref_template::DURATION_EXPECTED
        ),
    };
    let written: amiref_template::HumanDuration = text.parse().map_err(|_| err())?;
    match Duration::from_std(written.get()) {
        Ok(age) if age > Duration::zero() && age <= Duration::days(MAX_AGE_DAYS) => Ok(age),
        _ => Err(err()),
    }
}

/// Parses a retirement's grace period: `0` to deregister at once, else an age
/// ([`parse_age`]).
pub fn parse_grace(text: &str) -> Result<Duration, LifecycleError> {
    match text.trim() {
        "0" => Ok(Duration::zero()),
        other => parse_age(other).map_err(|e| match e {
            LifecycleError::InvalidInput {
                field,
                found,
                expected,
            } => LifecycleError::InvalidInput {
                field,
                found,
                expected: format!("{expected}, or 0 to deregister at once"),
            },
            other => other,
        }),
    }
}

#[cfg(test)]
mod tests {
    use amiref_core::Architecture;
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn ages_parse() {
        assert_eq!(parse_age("90d").unwrap(), Duration::days(90));
        assert_eq!(parse_age("1d12h").unwrap(), Duration::hours(36));
        assert_eq!(parse_age("2w").unwrap(), Duration::days(14));
        assert_eq!(parse_age("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse_age("36500d").unwrap(), Duration::days(MAX_AGE_DAYS));
        for bad in [
            "",
            "90",
            "d",
            "12h1d",
            "0d",
            "1y",
            "-3d",
            "36501d",
            "2147483647w",
            "99999999999999999999h",
        ] {
            assert!(parse_age(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn graces_are_zero_or_an_age() {
        assert_eq!(parse_grace("0").unwrap(), Duration::zero());
        assert_eq!(parse_grace("2w").unwrap(), Duration::days(14));
        let e = parse_grace("soon").unwrap_err().to_string();
        assert!(e.ends_with(", or 0 to deregister at once"), "{e}");
    }

    #[test]
    fn a_policy_needs_a_rule_and_sane_durations() {
        let mut p = RetentionPolicy::keep_newest(2);
        p.keep_newest = None;
        assert!(p.validate().is_err());
        assert!(
            RetentionPolicy::younger_than(Duration::days(1))
                .validate()
                .is_ok()
        );
        let negative = RetentionPolicy::keep_newest(1).grace(Duration::days(-1));
        assert!(
            negative
                .validate()
                .unwrap_err()
                .to_string()
                .contains("grace")
        );
        let zero = RetentionPolicy::keep_newest(1).keep_launched_within(Duration::zero());
        assert!(zero.validate().is_err());
        assert!(
            RetentionPolicy::keep_newest(1)
                .grace(Duration::zero())
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn policies_read_without_the_new_fields_get_the_default_grace() {
        let old = r#"{"keep_newest":2,"max_age":null,"keep_at_least":1,"exclude_tags":{}}"#;
        let p: RetentionPolicy = serde_json::from_str(old).unwrap();
        assert_eq!(p, RetentionPolicy::keep_newest(2));
        let round: RetentionPolicy =
            serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(round, p);
    }

    fn image(id: &str, version: Option<&str>, day: u32) -> Image {
        let mut i = Image::new(
            id.parse().unwrap(),
            "us-east-1".parse().unwrap(),
            id,
            "123456789012".parse().unwrap(),
            Architecture::X86_64,
            Utc.with_ymd_and_hms(2025, 1, day, 0, 0, 0).unwrap(),
        );
        if let Some(v) = version {
            i.tags.insert(TAG_TEMPLATE_VERSION.into(), v.into());
        }
        i
    }

    #[test]
    fn versions_rank_by_semver_then_creation_date() {
        let mut images = [
            image("ami-00000000000000001", Some("2.1.1"), 1),
            image("ami-00000000000000002", Some("2.0.6"), 9),
            image("ami-00000000000000003", None, 20),
            image("ami-00000000000000004", Some("v2.10.0"), 2),
            image("ami-00000000000000005", Some("2.1.1"), 3),
            image("ami-00000000000000006", Some("not-semver"), 25),
        ];
        images.sort_by(newest_first);
        let order: Vec<&str> = images.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            order,
            [
                "ami-00000000000000004", // 2.10.0
                "ami-00000000000000005", // 2.1.1, the later rebuild
                "ami-00000000000000001", // 2.1.1
                "ami-00000000000000002", // 2.0.6, although newer
                "ami-00000000000000006", // no semver: by date
                "ami-00000000000000003",
            ]
        );
    }
}
