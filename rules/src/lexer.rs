//! Splitting a rule file into lines of tokens. `#` starts a comment; blank and
//! comment-only lines are dropped.

use crate::error::RuleError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name or keyword: a letter, then letters, digits, `-` and `_`.
    Word(String),
    /// Digits with at most one `.`, as written.
    Number(String),
    Text(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

impl Tok {
    /// The token as an error message quotes it.
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(word) => format!("`{word}`"),
            Tok::Number(number) => format!("`{number}`"),
            Tok::Text(text) => format!("\"{text}\""),
            Tok::Op(op) => format!("`{op}`"),
            Tok::Open => "`(`".into(),
            Tok::Close => "`)`".into(),
            Tok::Comma => "`,`".into(),
        }
    }

    pub fn is_word(&self, word: &str) -> bool {
        matches!(self, Tok::Word(w) if w == word)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
    pub column: usize,
}

/// One non-blank line: its number and its tokens.
#[derive(Debug, Clone)]
pub struct Line {
    pub number: usize,
    pub tokens: Vec<Token>,
    /// Column just past the line's last character, for "expected …" at the end.
    pub end: usize,
    /// The line has a lexical error (reported already); `tokens` are those
    /// before it.
    pub broken: bool,
}

/// The header's keyword: its line is split into plain words, since a version
/// like `1.0.0` is no number.
pub const HEADER: &str = "plugin";

const OPERATORS: [&str; 10] = ["<=", ">=", "!=", "<", ">", "=", "+", "-", "*", "/"];

pub fn lex(source: &str) -> (Vec<Line>, Vec<RuleError>) {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (index, text) in source.lines().enumerate() {
        let number = index + 1;
        let header = text.split_whitespace().next() == Some(HEADER);
        let mut tokens = Vec::new();
        let outcome = if header {
            tokens = words(text, number);
            Ok(())
        } else {
            lex_line(text, number, &mut tokens)
        };
        let broken = outcome.is_err();
        if let Err(error) = outcome {
            errors.push(error);
        }
        if !tokens.is_empty() || broken {
            lines.push(Line {
                number,
                tokens,
                end: text.trim_end().chars().count() + 1,
                broken,
            });
        }
    }
    (lines, errors)
}

/// The whitespace-separated words of a line, up to a `#` comment.
fn words(text: &str, line: usize) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut start = 0;
    for (i, c) in text.chars().chain([' ']).enumerate() {
        if c == '#' && word.is_empty() {
            break;
        }
        if c.is_whitespace() {
            if !word.is_empty() {
                tokens.push(Token {
                    tok: Tok::Word(std::mem::take(&mut word)),
                    line,
                    column: start + 1,
                });
            }
        } else {
            if word.is_empty() {
                start = i;
            }
            word.push(c);
        }
    }
    tokens
}

/// Appends the line's tokens to `tokens`, up to the first error.
fn lex_line(text: &str, line: usize, tokens: &mut Vec<Token>) -> Result<(), RuleError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        let start = i;
        let tok = if c.is_whitespace() {
            i += 1;
            continue;
        } else if c == '#' {
            break;
        } else if c.is_alphabetic() {
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '-' | '_')) {
                i += 1;
            }
            Tok::Word(chars[start..i].iter().collect())
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let number: String = chars[start..i].iter().collect();
            if number.matches('.').count() > 1 || number.ends_with('.') {
                return Err(
                    RuleError::new(line, column, format!("`{number}` is not a number"))
                        .hint("write numbers like 180 or 49.99"),
                );
            }
            Tok::Number(number)
        } else if c == '"' {
            i += 1;
            let mut text = String::new();
            loop {
                match chars.get(i) {
                    None => {
                        return Err(RuleError::new(line, column, "text is not closed")
                            .hint("end it with `\"` on the same line"));
                    }
                    Some('"') => break,
                    Some('\\') if matches!(chars.get(i + 1), Some('"' | '\\')) => {
                        text.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(other) => {
                        text.push(*other);
                        i += 1;
                    }
                }
            }
            i += 1;
            Tok::Text(text)
        } else if c == '(' {
            i += 1;
            Tok::Open
        } else if c == ')' {
            i += 1;
            Tok::Close
        } else if c == ',' {
            i += 1;
            Tok::Comma
        } else if let Some(op) = OPERATORS.iter().find(|op| {
            op.chars()
                .enumerate()
                .all(|(k, oc)| chars.get(i + k) == Some(&oc))
        }) {
            i += op.len();
            Tok::Op(op)
        } else {
            return Err(RuleError::new(line, column, format!("unexpected `{c}`")).hint(
                "rules use names, numbers, \"text\", comparisons (< <= > >= = != is), + - * / and parentheses",
            ));
        };
        tokens.push(Token { tok, line, column });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        let mut tokens = Vec::new();
        lex_line(text, 1, &mut tokens).unwrap();
        tokens.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_numbers_text_and_operators() {
        assert_eq!(
            toks(r#"when spend-365d >= 49.99 and has tag "mother \"&\" baby" # note"#),
            vec![
                Tok::Word("when".into()),
                Tok::Word("spend-365d".into()),
                Tok::Op(">="),
                Tok::Number("49.99".into()),
                Tok::Word("and".into()),
                Tok::Word("has".into()),
                Tok::Word("tag".into()),
                Tok::Text("mother \"&\" baby".into()),
            ]
        );
        assert_eq!(
            toks("clamp(a / 2,0)-1"),
            vec![
                Tok::Word("clamp".into()),
                Tok::Open,
                Tok::Word("a".into()),
                Tok::Op("/"),
                Tok::Number("2".into()),
                Tok::Comma,
                Tok::Number("0".into()),
                Tok::Close,
                Tok::Op("-"),
                Tok::Number("1".into()),
            ]
        );
    }

    #[test]
    fn the_header_is_plain_words() {
        let (lines, errors) = lex("\n  plugin rfm 1.0.0-beta.2 # comment\n");
        assert!(errors.is_empty());
        let words: Vec<_> = lines[0]
            .tokens
            .iter()
            .map(|t| (t.tok.clone(), t.column))
            .collect();
        assert_eq!(
            words,
            [
                (Tok::Word("plugin".into()), 3),
                (Tok::Word("rfm".into()), 10),
                (Tok::Word("1.0.0-beta.2".into()), 14),
            ]
        );
        assert_eq!(lines[0].number, 2);
    }

    #[test]
    fn bad_characters_are_located() {
        let (lines, errors) = lex("\n\n\n  when x ≥ 3");
        assert_eq!((errors[0].line, errors[0].column), (4, 10));
        assert_eq!(errors[0].message, "unexpected `≥`");
        assert!(lines[0].broken);
        assert_eq!(lines[0].tokens.len(), 2, "the tokens before the error");
        let error = lex_line(r#"label "open"#, 2, &mut Vec::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 2, column 7: text is not closed (hint: end it with `\"` on the same line)"
        );
    }
}
