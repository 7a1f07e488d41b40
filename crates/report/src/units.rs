//! Money, time and size: rounded for people in human output, exact-enough numbers with the
//! unit in the key name in JSON.
//!
//! JSON keys end in their unit (`_secs`, `_ms`, `_usd`, `_gib`); money is a number rounded
//! to micro-dollars ([`Usd`]), so a computed `0.0010500000000000002` is written `0.00105`.

use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// US dollars in a JSON report: serialised rounded to micro-dollars (six decimals), which is
/// finer than any price or estimate amiref computes and free of binary-float noise.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Usd(pub f64);

impl Usd {
    /// The amount rounded to micro-dollars.
    pub fn rounded(self) -> f64 {
        let micro = (self.0 * 1e6).round() / 1e6;
        // -0.0 reads oddly in JSON.
        if micro == 0.0 { 0.0 } else { micro }
    }
}

impl From<f64> for Usd {
    fn from(usd: f64) -> Self {
        Self(usd)
    }
}

impl serde::Serialize for Usd {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.0.is_finite() {
            return Err(serde::ser::Error::custom(format!(
                "a money amount is not a number ({})",
                self.0
            )));
        }
        s.serialize_f64(self.rounded())
    }
}

impl JsonSchema for Usd {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Usd".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "number",
            "description": "US dollars, rounded to micro-dollars (six decimals)"
        })
    }
}

/// Rounds every money amount in a JSON value to micro-dollars, as [`Usd`] does: numbers
/// under a key that names dollars (`*_usd`, `*_usd_per_*`, `usd_per_*`). The printer applies
/// it to every document, so a report type of another crate that keeps money as `f64`
/// prints `0.00105`, not `0.0010500000000000002`.
pub fn round_money(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if names_dollars(key) {
                    round_number(v);
                }
                round_money(v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(round_money),
        _ => {}
    }
}

fn names_dollars(key: &str) -> bool {
    key.ends_with("_usd") || key.contains("_usd_") || key.starts_with("usd_")
}

fn round_number(v: &mut serde_json::Value) {
    if let Some(x) = v.as_f64().filter(|_| v.is_f64())
        && let Some(n) = serde_json::Number::from_f64(Usd(x).rounded())
    {
        *v = serde_json::Value::Number(n);
    }
}

/// Whole seconds of a duration, rounded to the nearest second (JSON `_secs` fields).
pub fn secs(d: Duration) -> u64 {
    d.as_secs()
        .saturating_add(u64::from(d.subsec_millis() >= 500))
}

/// Whole milliseconds of a duration (JSON `_ms` fields), saturating.
pub fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An amount of money for people: cents from ten cents up (`$4.20`, `$12.35`), two
/// significant digits below (`$0.0082`, `$0.0011`, `$0.0008`), `$0.00` for nothing.
///
/// ```
/// use amiref_report::units::usd;
/// assert_eq!(usd(0.0010500000000000002), "$0.0011");
/// assert_eq!(usd(4.2), "$4.20");
/// assert_eq!(usd(0.0008), "$0.0008");
/// ```
pub fn usd(amount: f64) -> String {
    let sign = if amount < 0.0 { "-" } else { "" };
    let a = amount.abs();
    if !a.is_finite() {
        return "$?".to_owned();
    }
    if a == 0.0 || a >= 0.1 {
        return format!("{sign}${a:.2}");
    }
    // Two significant digits, at most six decimals.
    let decimals = (1 - a.log10().floor() as i32).clamp(2, 6) as usize;
    let text = format!("{a:.decimals$}");
    if text.trim_start_matches(['0', '.']).is_empty() {
        return format!("< {sign}$0.000001");
    }
    format!("{sign}${}", trim_zeros(&text))
}

/// A price for people, as price lists write them: up to four decimals, at least two
/// (`$0.0816`, `$0.096`, `$1.50`); smaller amounts as [`usd`].
///
/// ```
/// use amiref_report::units::usd_price;
/// assert_eq!(usd_price(0.096), "$0.096");
/// assert_eq!(usd_price(0.0816), "$0.0816");
/// ```
pub fn usd_price(amount: f64) -> String {
    if amount.abs() < 0.0001 || !amount.is_finite() {
        return usd(amount);
    }
    let sign = if amount < 0.0 { "-" } else { "" };
    format!("{sign}${}", trim_zeros(&format!("{:.4}", amount.abs())))
}

/// Drops trailing zeros after the second decimal: `0.0960` -> `0.096`, `1.5000` -> `1.50`.
fn trim_zeros(text: &str) -> &str {
    let Some(dot) = text.find('.') else {
        return text;
    };
    let keep = dot + 3;
    let trimmed = text.trim_end_matches('0');
    if trimmed.len() < keep {
        &text[..keep.min(text.len())]
    } else {
        trimmed
    }
}

/// A duration for people: `30 seconds`, `6 minutes`, `17.5 minutes`, `2 hours 5 minutes`,
/// `3 days 4 hours`.
///
/// ```
/// use std::time::Duration;
/// use amiref_report::units::duration;
/// assert_eq!(duration(Duration::from_secs(30)), "30 seconds");
/// assert_eq!(duration(Duration::from_secs(1050)), "17.5 minutes");
/// assert_eq!(duration(Duration::from_secs(5400)), "90 minutes");
/// assert_eq!(duration(Duration::from_secs(7500)), "2 hours 5 minutes");
/// ```
pub fn duration(d: Duration) -> String {
    match Span::of(d) {
        Span::Seconds(s) => plural(s, "second"),
        Span::Minutes(whole, 0) => plural(whole, "minute"),
        Span::Minutes(whole, tenth) => format!("{whole}.{tenth} minutes"),
        Span::Hours(h, m) => joined(plural(h, "hour"), m, "minute"),
        Span::Days(d, h) => joined(plural(d, "day"), h, "hour"),
    }
}

/// The short form, inside parentheses: `30s`, `6min`, `17.5min`, `2h05min`, `3d04h`.
///
/// ```
/// use std::time::Duration;
/// use amiref_report::units::short_duration;
/// assert_eq!(short_duration(Duration::from_secs(360)), "6min");
/// assert_eq!(short_duration(Duration::from_secs(7500)), "2h05min");
/// ```
pub fn short_duration(d: Duration) -> String {
    match Span::of(d) {
        Span::Seconds(s) => format!("{s}s"),
        Span::Minutes(whole, 0) => format!("{whole}min"),
        Span::Minutes(whole, tenth) => format!("{whole}.{tenth}min"),
        Span::Hours(h, m) => format!("{h}h{m:02}min"),
        Span::Days(d, h) => format!("{d}d{h:02}h"),
    }
}

/// A duration in the largest unit that reads well, rounded in that unit.
enum Span {
    /// Under 90 seconds.
    Seconds(u64),
    /// Under two hours: whole minutes and a tenth.
    Minutes(u64, u64),
    /// Under two days: hours and minutes.
    Hours(u64, u64),
    /// Days and hours.
    Days(u64, u64),
}

impl Span {
    fn of(d: Duration) -> Self {
        let s = secs(d);
        let tenths_of_minutes = (s + 3) / 6;
        let minutes = (s + 30) / 60;
        let hours = (s + 1800) / 3600;
        if s < 90 {
            Self::Seconds(s)
        } else if tenths_of_minutes < 1200 {
            Self::Minutes(tenths_of_minutes / 10, tenths_of_minutes % 10)
        } else if hours < 48 {
            Self::Hours(minutes / 60, minutes % 60)
        } else {
            Self::Days(hours / 24, hours % 24)
        }
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn joined(first: String, rest: u64, unit: &str) -> String {
    if rest == 0 {
        first
    } else {
        format!("{first} {}", plural(rest, unit))
    }
}

/// GiB for people: `8 GiB`.
pub fn gib(size: u64) -> String {
    format!("{size} GiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_money_is_rounded_to_micro_dollars() {
        let v = serde_json::to_value(Usd(0.0010500000000000002)).unwrap_or_default();
        assert_eq!(v.to_string(), "0.00105");
        assert_eq!(
            serde_json::to_string(&Usd(4.2)).ok().as_deref(),
            Some("4.2")
        );
        assert_eq!(
            serde_json::to_string(&Usd(-0.0000001)).ok().as_deref(),
            Some("0.0")
        );
        assert!(serde_json::to_string(&Usd(f64::NAN)).is_err());
    }

    #[test]
    fn money_in_any_document_is_rounded_by_key() {
        let mut v = serde_json::json!({
            "setup_cost_usd": 0.0010500000000000002,
            "storage_cost_usd_per_month": 0.30000000000000004,
            "nested": [{ "usd_per_hour": 0.0816000001, "hourly_price_usd": null }],
            "launch_time_secs": 30,
            "ratio": 0.30000000000000004
        });
        round_money(&mut v);
        // Compared as values: key order depends on whether some crate in the build turns on
        // serde_json's `preserve_order` (a workspace-wide test build does).
        let want: serde_json::Value = serde_json::from_str(
            r#"{"launch_time_secs":30,"nested":[{"hourly_price_usd":null,"usd_per_hour":0.0816}],"ratio":0.30000000000000004,"setup_cost_usd":0.00105,"storage_cost_usd_per_month":0.3}"#,
        )
        .unwrap();
        assert_eq!(v, want);
        assert!(v.to_string().contains(r#""setup_cost_usd":0.00105"#), "{v}");
    }

    #[test]
    fn money_reads_to_two_significant_digits_below_ten_cents() {
        let cases = [
            (0.0, "$0.00"),
            (0.45, "$0.45"),
            (0.1, "$0.10"),
            (12.345, "$12.35"),
            (0.0082, "$0.0082"),
            (0.00816, "$0.0082"),
            (0.0008, "$0.0008"),
            (0.099, "$0.099"),
            (0.0099999, "$0.01"),
            (0.00000001, "< $0.000001"),
            (-0.5, "-$0.50"),
        ];
        for (amount, text) in cases {
            assert_eq!(usd(amount), text, "{amount}");
        }
    }

    #[test]
    fn prices_keep_four_decimals() {
        assert_eq!(usd_price(0.0960), "$0.096");
        assert_eq!(usd_price(0.0816), "$0.0816");
        assert_eq!(usd_price(1.5), "$1.50");
        assert_eq!(usd_price(0.00002), "$0.00002");
    }

    #[test]
    fn durations_read_in_the_largest_fitting_unit() {
        let cases = [
            (0, "0 seconds", "0s"),
            (1, "1 second", "1s"),
            (89, "89 seconds", "89s"),
            (90, "1.5 minutes", "1.5min"),
            (360, "6 minutes", "6min"),
            (1050, "17.5 minutes", "17.5min"),
            (1022, "17 minutes", "17min"),
            (7199, "2 hours", "2h00min"),
            (7200, "2 hours", "2h00min"),
            (7500, "2 hours 5 minutes", "2h05min"),
            (3600 * 49, "2 days 1 hour", "2d01h"),
        ];
        for (s, long, short) in cases {
            let d = Duration::from_secs(s);
            assert_eq!(duration(d), long, "{s}");
            assert_eq!(short_duration(d), short, "{s}");
        }
    }

    #[test]
    fn seconds_round_to_the_nearest() {
        assert_eq!(secs(Duration::from_millis(1499)), 1);
        assert_eq!(secs(Duration::from_millis(1500)), 2);
        assert_eq!(millis(Duration::from_micros(2500)), 2);
    }
}
