//! An exact decimal (`i128` units and a scale) for decimal and currency fields: money never
//! passes through floating point.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::limits::{MAX_DECIMAL_INTEGER_DIGITS, MAX_DECIMAL_SCALE};

/// `units / 10^scale`, with `scale <= MAX_DECIMAL_SCALE`. Equality and order are numeric
/// (`1.0 == 1.00`).
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    units: i128,
    scale: u8,
}

/// Why a text is not a decimal; never echoes the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// Not of the form `-?digits(.digits)?`.
    #[error("is not a decimal number")]
    Malformed,
    /// More integer digits than [`MAX_DECIMAL_INTEGER_DIGITS`].
    #[error("has too many digits")]
    TooManyDigits,
    /// More fractional digits than [`MAX_DECIMAL_SCALE`].
    #[error("has too many decimal places")]
    TooManyDecimals,
}

const fn pow10(exp: u8) -> i128 {
    let mut value = 1i128;
    let mut i = 0;
    while i < exp {
        value *= 10;
        i += 1;
    }
    value
}

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal { units: 0, scale: 0 };

    /// `units / 10^scale`; `None` when the scale exceeds [`MAX_DECIMAL_SCALE`].
    pub fn new(units: i128, scale: u8) -> Option<Self> {
        (scale <= MAX_DECIMAL_SCALE).then_some(Self { units, scale })
    }

    /// An integer as a decimal of scale 0.
    pub fn from_i64(value: i64) -> Self {
        Self { units: i128::from(value), scale: 0 }
    }

    /// The raw units (value times `10^scale`).
    pub fn units(&self) -> i128 {
        self.units
    }

    /// Digits after the decimal point.
    pub fn scale(&self) -> u8 {
        self.scale
    }

    /// Whether the value is zero.
    pub fn is_zero(&self) -> bool {
        self.units == 0
    }

    /// The integer value when there is no fractional part and it fits an `i64`.
    pub fn to_i64(&self) -> Option<i64> {
        let p = pow10(self.scale);
        if self.units % p != 0 {
            return None;
        }
        i64::try_from(self.units / p).ok()
    }

    /// The same value at exactly `scale` digits, rounding half away from zero when shrinking;
    /// `None` on overflow or when `scale` exceeds the maximum.
    pub fn with_scale(&self, scale: u8) -> Option<Self> {
        if scale > MAX_DECIMAL_SCALE {
            return None;
        }
        match scale.cmp(&self.scale) {
            Ordering::Equal => Some(*self),
            Ordering::Greater => {
                let units = self.units.checked_mul(pow10(scale - self.scale))?;
                Some(Self { units, scale })
            }
            Ordering::Less => {
                let divisor = pow10(self.scale - scale);
                let quotient = self.units / divisor;
                let remainder = (self.units % divisor).abs();
                let bump = if remainder * 2 >= divisor { self.units.signum() } else { 0 };
                Some(Self { units: quotient + bump, scale })
            }
        }
    }

    /// The value rounded to at most `scale` digits (never adds digits).
    pub fn round(&self, scale: u8) -> Self {
        if scale >= self.scale { *self } else { self.with_scale(scale).unwrap_or(*self) }
    }

    /// The same value without trailing fractional zeros.
    pub fn normalized(&self) -> Self {
        let mut out = *self;
        while out.scale > 0 && out.units % 10 == 0 {
            out.units /= 10;
            out.scale -= 1;
        }
        out
    }

    /// `self + other`; `None` on overflow.
    pub fn checked_add(&self, other: &Self) -> Option<Self> {
        let scale = self.scale.max(other.scale);
        let a = self.with_scale(scale)?;
        let b = other.with_scale(scale)?;
        Some(Self { units: a.units.checked_add(b.units)?, scale })
    }

    /// `self - other`; `None` on overflow.
    pub fn checked_sub(&self, other: &Self) -> Option<Self> {
        self.checked_add(&Self { units: other.units.checked_neg()?, scale: other.scale })
    }

    /// `self * other`, rounded to the maximum scale; `None` on overflow.
    pub fn checked_mul(&self, other: &Self) -> Option<Self> {
        let units = self.units.checked_mul(other.units)?;
        let scale = self.scale + other.scale;
        if scale <= MAX_DECIMAL_SCALE {
            return Some(Self { units, scale });
        }
        // Round the over-precise product down to the maximum scale before it becomes a value.
        let divisor = pow10(scale - MAX_DECIMAL_SCALE);
        let bump = if (units % divisor).abs() * 2 >= divisor { units.signum() } else { 0 };
        Some(Self { units: units / divisor + bump, scale: MAX_DECIMAL_SCALE })
    }

    /// `self / other` to the maximum scale, rounded half away from zero; `None` when dividing
    /// by zero or on overflow.
    pub fn checked_div(&self, other: &Self) -> Option<Self> {
        if other.units == 0 {
            return None;
        }
        let negative = (self.units < 0) != (other.units < 0);
        // a/10^sa ÷ b/10^sb = (a·10^sb / b) / 10^sa; long division keeps intermediates small.
        let numerator = self.units.checked_abs()?.checked_mul(pow10(other.scale))?;
        let divisor = other.units.checked_abs()?;
        let mut quotient = numerator / divisor;
        let mut remainder = numerator % divisor;
        let digits = MAX_DECIMAL_SCALE - self.scale;
        for _ in 0..digits {
            remainder = remainder.checked_mul(10)?;
            quotient = quotient.checked_mul(10)?.checked_add(remainder / divisor)?;
            remainder %= divisor;
        }
        if remainder.checked_mul(2)? >= divisor {
            quotient = quotient.checked_add(1)?;
        }
        let units = if negative { -quotient } else { quotient };
        Some(Self { units, scale: MAX_DECIMAL_SCALE }.normalized())
    }

    /// `-self`; `None` on overflow.
    pub fn checked_neg(&self) -> Option<Self> {
        Some(Self { units: self.units.checked_neg()?, scale: self.scale })
    }

    fn parts(&self) -> (i128, i128) {
        let p = pow10(self.scale);
        let fraction = (self.units % p) * pow10(MAX_DECIMAL_SCALE - self.scale);
        (self.units / p, fraction)
    }
}

impl FromStr for Decimal {
    type Err = DecimalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, f),
            None => (body, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(DecimalError::Malformed);
        }
        if body.contains('.') && frac_part.is_empty() {
            return Err(DecimalError::Malformed);
        }
        if int_part.trim_start_matches('0').len() > MAX_DECIMAL_INTEGER_DIGITS {
            return Err(DecimalError::TooManyDigits);
        }
        if frac_part.len() > usize::from(MAX_DECIMAL_SCALE) {
            return Err(DecimalError::TooManyDecimals);
        }
        let mut units: i128 = 0;
        for b in int_part.bytes().chain(frac_part.bytes()) {
            // Bounded by the digit limits above: at most 30 significant digits.
            units = units * 10 + i128::from(b - b'0');
        }
        let scale = u8::try_from(frac_part.len()).map_err(|_| DecimalError::TooManyDecimals)?;
        Ok(Self { units: if negative { -units } else { units }, scale })
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int_part, frac_part) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int_part}.{frac_part}")
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        // Integer and fraction parts carry the sign of the value, so comparing the pairs is
        // numeric ordering without any rescaling that could overflow.
        self.parts().cmp(&other.parts())
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_exactly() {
        for text in ["0", "12", "-3", "0.05", "-0.05", "1234.5600", "999999999999999999.999999999999"] {
            assert_eq!(d(text).to_string(), text);
        }
    }

    #[test]
    fn refuses_malformed_text_and_excess_precision() {
        for text in ["", "-", "1.", ".5", "1e3", "+1", "1,5", " 1", "1.2.3"] {
            assert_eq!(text.parse::<Decimal>(), Err(DecimalError::Malformed), "{text}");
        }
        assert_eq!("1234567890123456789".parse::<Decimal>(), Err(DecimalError::TooManyDigits));
        assert_eq!("0.1234567890123".parse::<Decimal>(), Err(DecimalError::TooManyDecimals));
    }

    #[test]
    fn equality_and_order_are_numeric_across_scales() {
        assert_eq!(d("1.0"), d("1.00"));
        assert!(d("-1.5") < d("-1.2"));
        assert!(d("-0.5") < d("0.5"));
        assert!(d("0.5") < d("1"));
        assert!(d("999999999999999999.9") > d("-999999999999999999.9"));
    }

    #[test]
    fn rescaling_rounds_half_away_from_zero() {
        assert_eq!(d("2.345").with_scale(2).unwrap().to_string(), "2.35");
        assert_eq!(d("-2.345").with_scale(2).unwrap().to_string(), "-2.35");
        assert_eq!(d("2.344").with_scale(2).unwrap().to_string(), "2.34");
        assert_eq!(d("2").with_scale(2).unwrap().to_string(), "2.00");
    }

    #[test]
    fn arithmetic_is_exact_and_division_by_zero_is_none() {
        assert_eq!(d("0.1").checked_add(&d("0.2")).unwrap(), d("0.3"));
        assert_eq!(d("1.5").checked_mul(&d("-2")).unwrap(), d("-3"));
        assert_eq!(d("1").checked_div(&d("3")).unwrap().to_string(), "0.333333333333");
        assert_eq!(d("10").checked_div(&d("4")).unwrap().to_string(), "2.5");
        assert_eq!(d("1").checked_div(&Decimal::ZERO), None);
    }

    #[test]
    fn serializes_as_a_json_string() {
        assert_eq!(serde_json::to_string(&d("1.50")).unwrap(), "\"1.50\"");
        let back: Decimal = serde_json::from_str("\"-2.5\"").unwrap();
        assert_eq!(back, d("-2.5"));
    }
}
