//! Parsing a slot's JSON configuration into a plugin's `Config`.

use serde::de::DeserializeOwned;

/// Parses `json` into `C`, where an empty string or `{}` means "all defaults".
///
/// Errors name the offending field (`tiers.gold.min_spend: invalid type …`) so
/// whoever edits the slot's configuration can fix it without reading plugin code.
/// Give `C` `#[serde(default)]` so partial configs keep the other defaults, and
/// `#[serde(deny_unknown_fields)]` so a misspelt key is an error, not a no-op.
pub(crate) fn parse<C: DeserializeOwned + Default>(json: &str) -> Result<C, String> {
    if is_empty_object(json) {
        return Ok(C::default());
    }
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let config =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            match error.path().to_string().as_str() {
                "." => format!("invalid config: {}", error.inner()),
                path => format!("invalid config at `{path}`: {}", error.inner()),
            }
        })?;
    deserializer
        .end()
        .map_err(|error| format!("invalid config: {error}"))?;
    Ok(config)
}

/// `""`, `{}` or `{ }`: the host sends `{}` for a slot without configuration.
fn is_empty_object(json: &str) -> bool {
    let json = json.trim();
    json.is_empty()
        || json
            .strip_prefix('{')
            .and_then(|rest| rest.strip_suffix('}'))
            .is_some_and(|inner| inner.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Config {
        limit: u32,
        nested: Nested,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Nested {
        days: u32,
    }

    impl Default for Config {
        fn default() -> Self {
            Self {
                limit: 7,
                nested: Nested::default(),
            }
        }
    }

    impl Default for Nested {
        fn default() -> Self {
            Self { days: 30 }
        }
    }

    #[test]
    fn empty_and_empty_object_give_defaults() {
        for json in ["", "  ", "{}", "{ \n }"] {
            assert_eq!(parse::<Config>(json), Ok(Config::default()), "{json:?}");
        }
    }

    #[test]
    fn partial_config_keeps_other_defaults() {
        let config: Config = parse(r#"{"nested": {"days": 90}}"#).unwrap();
        assert_eq!(
            config,
            Config {
                limit: 7,
                nested: Nested { days: 90 }
            }
        );
    }

    #[test]
    fn type_error_names_the_field() {
        let error = parse::<Config>(r#"{"nested": {"days": "soon"}}"#).unwrap_err();
        assert!(
            error.starts_with("invalid config at `nested.days`: invalid type"),
            "{error}"
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let error = parse::<Config>(r#"{"limt": 3}"#).unwrap_err();
        assert!(error.contains("unknown field `limt`"), "{error}");
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        assert!(parse::<Config>(r#"{"limit": 3} x"#).is_err());
    }
}
