//! Field checks shared by the services. Each names the field it rejects and why.

use chrono::{DateTime, Duration, Utc};

use crate::error::{ServiceError, ServiceResult};

/// A required, trimmed text of at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> ServiceResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ServiceError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(trimmed.to_string())
}

/// An e-mail address of plausible shape: `local@domain.tld`, no spaces.
pub fn email(field: &str, value: &str) -> ServiceResult<String> {
    let value = text(field, value, 254)?;
    let plausible = match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !plausible {
        return Err(ServiceError::invalid(
            field,
            "is not a valid e-mail address",
        ));
    }
    Ok(value.to_lowercase())
}

/// A phone number: digits with optional `+`, spaces, dashes and parentheses.
pub fn phone(field: &str, value: &str) -> ServiceResult<String> {
    let value = text(field, value, 32)?;
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'));
    if !allowed || !(5..=20).contains(&digits) {
        return Err(ServiceError::invalid(
            field,
            "must be 5 to 20 digits, optionally with +, spaces, dashes or parentheses",
        ));
    }
    Ok(value)
}

/// Interest tags: lowercase words joined by dashes, at most 20 of them, deduplicated.
pub fn tags(field: &str, values: &[String]) -> ServiceResult<Vec<String>> {
    if values.len() > 20 {
        return Err(ServiceError::invalid(field, "must hold at most 20 tags"));
    }
    let mut tags = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let tag = value.trim().to_lowercase();
        let well_formed = !tag.is_empty()
            && tag.len() <= 32
            && tag
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !well_formed {
            return Err(ServiceError::invalid(
                format!("{field}[{i}]"),
                "must be 1 to 32 lowercase letters, digits or dashes",
            ));
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    Ok(tags)
}

/// A currency code that must be the shop's own, so spend can be summed.
pub fn currency(field: &str, value: &str, shop_currency: &str) -> ServiceResult<String> {
    let code = value.trim().to_uppercase();
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(ServiceError::invalid(
            field,
            "must be an ISO 4217 code such as CNY",
        ));
    }
    if code != shop_currency {
        return Err(ServiceError::invalid(
            field,
            format!("must be the shop currency {shop_currency}"),
        ));
    }
    Ok(code)
}

/// The largest amount accepted, in minor units (a trillion major units): far above
/// any real price, and low enough that order arithmetic cannot overflow.
pub const MAX_AMOUNT: i64 = 100_000_000_000_000;

/// A non-negative amount of money in minor units, at most [`MAX_AMOUNT`].
pub fn amount(field: &str, value: i64) -> ServiceResult<i64> {
    if value < 0 {
        return Err(ServiceError::invalid(field, "must not be negative"));
    }
    if value > MAX_AMOUNT {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {MAX_AMOUNT}"),
        ));
    }
    Ok(value)
}

/// A time that is not in the future (a minute of clock skew is tolerated).
pub fn not_future(
    field: &str,
    value: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ServiceResult<DateTime<Utc>> {
    if value > now + Duration::minutes(1) {
        return Err(ServiceError::invalid(field, "must not be in the future"));
    }
    Ok(value)
}

/// An integer score within an inclusive range.
pub fn score(field: &str, value: i32, min: i32, max: i32) -> ServiceResult<i16> {
    if !(min..=max).contains(&value) {
        return Err(ServiceError::invalid(
            field,
            format!("must be between {min} and {max}"),
        ));
    }
    Ok(value as i16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_normalised() {
        assert_eq!(
            email("email", " Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "a@b@c.com",
        ] {
            let err = email("email", bad).unwrap_err();
            assert_eq!(
                err.to_string(),
                "email: is not a valid e-mail address",
                "{bad}"
            );
        }
    }

    #[test]
    fn tags_are_normalised_and_bad_ones_named_by_position() {
        let ok = tags(
            "tags",
            &["Fitness".into(), "mother-and-baby".into(), "fitness".into()],
        )
        .unwrap();
        assert_eq!(ok, vec!["fitness", "mother-and-baby"]);
        let err = tags("tags", &["office".into(), "no spaces".into()]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tags[1]: must be 1 to 32 lowercase letters, digits or dashes"
        );
    }

    #[test]
    fn currency_must_be_the_shop_currency() {
        assert_eq!(currency("currency", "cny", "CNY").unwrap(), "CNY");
        assert_eq!(
            currency("currency", "USD", "CNY").unwrap_err().to_string(),
            "currency: must be the shop currency CNY"
        );
        assert!(currency("currency", "yuan", "CNY").is_err());
    }

    #[test]
    fn phones_and_scores() {
        assert!(phone("phone", "+86 138 0013 8000").is_ok());
        assert!(phone("phone", "call me").is_err());
        assert_eq!(score("csat", 5, 1, 5).unwrap(), 5);
        assert_eq!(
            score("nps", 11, 0, 10).unwrap_err().to_string(),
            "nps: must be between 0 and 10"
        );
    }
}
