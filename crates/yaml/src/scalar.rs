//! What a plain scalar means: the YAML 1.2 core schema.
//!
//! Quoted and block scalars are always text. A plain one is null, a boolean, an integer
//! (decimal, `0o` octal, `0x` hex) or a float when it is written as one, and text
//! otherwise: `v2.1.0`, `2024-01-01`, `yes` and `1.2.3` stay text (unlike YAML 1.1, which
//! read `yes` as true and `1:20` as a number).

use serde_json::{Number, Value};

/// The value of a plain scalar, or why JSON cannot hold the number it is.
pub(crate) fn resolve_plain(text: &str) -> Result<Value, &'static str> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        _ => {}
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Err("which is not finite");
    }
    if let Some(radix_digits) = radixed(text) {
        return radix_digits;
    }
    if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Ok(Value::from(u));
        }
        return Err("too large for 64 bits");
    }
    if is_float(unsigned) {
        return match text.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => Err("too large for a 64-bit float"),
        };
    }
    Ok(Value::String(text.to_owned()))
}

/// `0o17` and `0x1F`: `None` when `text` is not written so.
fn radixed(text: &str) -> Option<Result<Value, &'static str>> {
    let (digits, radix) = if let Some(d) = text.strip_prefix("0o") {
        (d, 8)
    } else if let Some(d) = text.strip_prefix("0x") {
        (d, 16)
    } else {
        return None;
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    Some(
        u64::from_str_radix(digits, radix)
            .map(Value::from)
            .map_err(|_| "too large for 64 bits"),
    )
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` with a fraction or an exponent (a
/// plain integer is read before this).
fn is_float(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = digits(int)
        && frac.is_none_or(digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()));
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok && (frac.is_some() || exponent.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_scalars_follow_the_core_schema() {
        let ok = |t: &str| resolve_plain(t).unwrap();
        assert_eq!(ok("4.8"), Value::from(4.8));
        assert_eq!(ok("12"), Value::from(12));
        assert_eq!(ok("-12"), Value::from(-12));
        assert_eq!(ok("18446744073709551615"), Value::from(u64::MAX));
        assert_eq!(ok("0x1F"), Value::from(31));
        assert_eq!(ok("0o17"), Value::from(15));
        assert_eq!(ok("1e3"), Value::from(1000.0));
        assert_eq!(ok(".5"), Value::from(0.5));
        assert_eq!(ok("~"), Value::Null);
        assert_eq!(ok("TRUE"), Value::Bool(true));
        for text in [
            "v2.1.0",
            "2.1.0",
            "2024-01-01",
            "yes",
            "0x",
            "1e",
            ".",
            "e3",
            "0xZ",
        ] {
            assert_eq!(ok(text), Value::from(text), "{text}");
        }
        assert!(resolve_plain("123456789012345678901234").is_err());
        assert!(resolve_plain("-.inf").is_err());
        assert!(resolve_plain(".nan").is_err());
        assert!(resolve_plain("1e999").is_err());
    }
}
