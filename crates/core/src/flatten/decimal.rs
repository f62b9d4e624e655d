/// Parses a DynamoDB number into a Decimal128 value at `scale`, refusing anything that would
/// lose digits: DynamoDB keeps up to 38 significant digits and so must we.
pub fn parse_decimal(text: &str, precision: u8, scale: i8) -> Result<i128, String> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (
            &text[..at],
            text[at + 1..]
                .parse::<i32>()
                .map_err(|_| format!("number {text:?} has a malformed exponent"))?,
        ),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(format!("{text:?} is not a number"));
    }
    let mut all_digits: String = format!("{whole}{fraction}");
    let mut point = whole.len() as i32 + exponent;
    let target = point + scale as i32;
    if target < 0 {
        all_digits.clear();
        point = 0;
    }
    let kept_len = (point + scale as i32).max(0) as usize;
    if all_digits.len() > kept_len {
        let dropped = &all_digits[kept_len..];
        if dropped.bytes().any(|b| b != b'0') {
            return Err(format!(
                "{text} has more than {scale} decimal places and would lose digits in decimal({precision},{scale})"
            ));
        }
        all_digits.truncate(kept_len);
    }
    while all_digits.len() < kept_len {
        all_digits.push('0');
    }
    let significant = all_digits.trim_start_matches('0');
    if significant.len() > precision as usize {
        return Err(format!("{text} does not fit decimal({precision},{scale})"));
    }
    let magnitude: i128 = if significant.is_empty() {
        0
    } else {
        significant
            .parse()
            .map_err(|_| format!("{text} does not fit decimal({precision},{scale})"))?
    };
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::parse_decimal;

    #[test]
    fn scales_and_keeps_every_digit() {
        assert_eq!(parse_decimal("12.34", 10, 2), Ok(1234));
        assert_eq!(parse_decimal("-0.5", 10, 2), Ok(-50));
        assert_eq!(parse_decimal("7", 10, 2), Ok(700));
        assert_eq!(parse_decimal("1.20", 10, 1), Ok(12));
        assert_eq!(parse_decimal("1E+2", 10, 0), Ok(100));
        assert_eq!(
            parse_decimal("99999999999999999999999999999999999999", 38, 0),
            Ok(99999999999999999999999999999999999999)
        );
    }

    #[test]
    fn refuses_lost_digits_and_overflow() {
        assert!(
            parse_decimal("1.234", 10, 2)
                .unwrap_err()
                .contains("would lose digits")
        );
        assert!(
            parse_decimal("123456", 5, 0)
                .unwrap_err()
                .contains("does not fit")
        );
        assert!(
            parse_decimal("abc", 5, 0)
                .unwrap_err()
                .contains("not a number")
        );
    }
}
