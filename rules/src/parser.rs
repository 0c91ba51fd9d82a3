//! From lines of tokens to a checked [`RuleSet`]. Each statement is one line (a
//! `when` may continue on lines starting with `and` or `or`); an error skips
//! the rest of its statement, so one pass reports every broken line.

use crate::compile::MAX_TAGS;
use crate::error::{RuleError, RuleErrors};
use crate::features::{Feature, Kind, TAGS, closest};
use crate::lexer::{HEADER, Line, Tok, Token, lex};
use crate::ruleset::{Arith, Cmp, Condition, Expr, RuleSet, Segment};

const STATEMENTS: [&str; 6] = [HEADER, "description", "segment", "default", "when", "score"];
const FUNCTIONS: [&str; 3] = ["min", "max", "clamp"];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Plugin names and versions the registry accepts.
const MAX_NAME: usize = 100;
const MAX_VERSION: usize = 50;
/// A segment key as the registry stores it.
const MAX_KEY: usize = 64;

impl RuleSet {
    /// Parses and checks a rule file.
    pub fn parse(source: &str) -> Result<RuleSet, RuleErrors> {
        let (lines, mut errors) = lex(source);
        let mut builder = Builder::default();
        let mut i = 0;
        let starts_with = |line: &Line, words: &[&str]| {
            line.tokens
                .first()
                .is_some_and(|t| words.iter().any(|w| t.tok.is_word(w)))
        };
        while i < lines.len() {
            // A `when` takes the continuation lines that follow it.
            let mut end = i + 1;
            let when = starts_with(&lines[i], &["when"]);
            if when {
                while end < lines.len() && starts_with(&lines[end], &["and", "or"]) {
                    end += 1;
                }
            }
            let statement = &lines[i..end];
            if statement.iter().any(|l| l.broken) {
                // Reported by the lexer; the segment has a condition, if a broken one.
                if when {
                    builder.mark_broken();
                }
            } else if let Err(error) = builder.statement(statement) {
                if when {
                    builder.mark_broken();
                }
                if statement[0].tokens[0].tok.is_word(HEADER) {
                    builder.headless = true;
                }
                errors.push(error);
            }
            i = end;
        }
        let last = lines.last().map_or((1, 1), |l| (l.number, l.end));
        builder.finish(source, last, &mut errors);
        errors.sort_by_key(|e| (e.line, e.column));
        match builder.rules {
            Some(rules) if errors.is_empty() => Ok(rules),
            _ => Err(RuleErrors(errors)),
        }
    }
}

/// A segment with where it was declared, for the checks at the end.
struct Declared {
    segment: Segment,
    line: usize,
    column: usize,
    is_default: bool,
    /// Its `when` line has an error of its own.
    broken: bool,
}

#[derive(Default)]
struct Builder {
    /// Whether "the rules must start with `plugin`" was reported.
    headless: bool,
    header: Option<(String, String)>,
    description: Option<String>,
    segments: Vec<Declared>,
    score: Option<Expr>,
    /// Set once everything is checked.
    rules: Option<RuleSet>,
}

impl Builder {
    fn statement(&mut self, lines: &[Line]) -> Result<(), RuleError> {
        let tokens: Vec<Token> = lines.iter().flat_map(|l| l.tokens.clone()).collect();
        let last = lines.last().expect("a statement has a line");
        let mut c = Cursor {
            tokens: &tokens,
            pos: 1,
            end: (last.number, last.end),
        };
        let first = &tokens[0];
        let keyword = match &first.tok {
            Tok::Word(word) => word.as_str(),
            other => {
                return Err(at(
                    first,
                    format!("expected a statement, found {}", other.describe()),
                )
                .hint(statements_hint()));
            }
        };
        if keyword != HEADER && self.header.is_none() {
            // Said once: every later statement would repeat it.
            if std::mem::replace(&mut self.headless, true) {
                return Ok(());
            }
            return Err(at(first, "the rules must start with `plugin NAME VERSION`")
                .hint("e.g. `plugin rfm-tiers-rules 1.0.0`"));
        }
        match keyword {
            HEADER => self.header(first, &mut c),
            "description" => {
                let text = c.text("the description")?;
                c.done("the description")?;
                self.describe(first, text)
            }
            "segment" | "default" => self.segment(keyword == "default", &mut c),
            "when" => {
                let condition = c.condition()?;
                c.done("the condition")?;
                self.when(first, condition)
            }
            "score" => {
                if self.score.is_some() {
                    return Err(at(first, "the score is given twice")
                        .hint("one `score` line scores every customer"));
                }
                let score = c.expr()?;
                c.done("the score")?;
                self.score = Some(score);
                Ok(())
            }
            "and" | "or" => Err(at(
                first,
                format!("`{keyword}` continues a condition, but no `when` is above it"),
            )
            .hint("start the condition with `when`")),
            other => {
                let error = at(first, format!("unknown statement `{other}`"));
                Err(match closest(other, STATEMENTS) {
                    Some(near) => error.hint(format!("did you mean `{near}`?")),
                    None => error.hint(statements_hint()),
                })
            }
        }
    }

    /// The current segment's `when` has an error: it is not missing a
    /// condition, only a valid one.
    fn mark_broken(&mut self) {
        if let Some(declared) = self.segments.last_mut() {
            declared.broken = true;
        }
    }

    fn header(&mut self, first: &Token, c: &mut Cursor) -> Result<(), RuleError> {
        if self.header.is_some() || !self.segments.is_empty() || self.description.is_some() {
            return Err(at(
                first,
                "`plugin` must be the first statement, and only once",
            ));
        }
        let usage = "write `plugin NAME VERSION`, e.g. `plugin rfm-tiers-rules 1.0.0`";
        let (Some(name), Some(version)) = (c.word(), c.word()) else {
            return Err(c
                .error_here("expected a plugin name and version")
                .hint(usage));
        };
        if name.len() > MAX_NAME || version.len() > MAX_VERSION {
            return Err(at(
                first,
                format!(
                    "the name may have at most {MAX_NAME} characters and the version {MAX_VERSION}"
                ),
            ));
        }
        c.done("the version").map_err(|e| e.hint(usage))?;
        self.header = Some((name, version));
        Ok(())
    }

    fn describe(&mut self, first: &Token, text: String) -> Result<(), RuleError> {
        let slot = match self.segments.last_mut() {
            Some(declared) => &mut declared.segment.description,
            None => self.description.get_or_insert_default(),
        };
        if !slot.is_empty() {
            return Err(at(first, "this already has a description"));
        }
        *slot = text;
        Ok(())
    }

    fn segment(&mut self, is_default: bool, c: &mut Cursor) -> Result<(), RuleError> {
        let what = if is_default { "default" } else { "segment" };
        let Some(key_token) = c.peek().cloned() else {
            return Err(c
                .error_here(format!("expected a segment key after `{what}`"))
                .hint(format!("e.g. `{what} core-loyal \"Core loyal\"`")));
        };
        let key = match &key_token.tok {
            Tok::Word(key) if valid_key(key) => key.clone(),
            other => {
                return Err(at(
                    &key_token,
                    format!("{} is not a segment key", other.describe()),
                )
                .hint("keys are 1–64 of a-z, 0-9, `-` and `_`, starting with a letter"));
            }
        };
        c.pos += 1;
        let label = match c.peek() {
            Some(Token {
                tok: Tok::Text(_), ..
            }) => c.text("the label")?,
            _ => key.clone(),
        };
        c.done("the label")?;
        self.segments.push(Declared {
            segment: Segment {
                key,
                label,
                description: String::new(),
                when: None,
            },
            line: key_token.line,
            column: key_token.column,
            is_default,
            broken: false,
        });
        Ok(())
    }

    fn when(&mut self, first: &Token, condition: Condition) -> Result<(), RuleError> {
        let Some(declared) = self.segments.last_mut() else {
            return Err(at(first, "`when` must follow a `segment` line"));
        };
        if declared.is_default {
            return Err(at(first, "the default segment takes no condition")
                .hint("it catches every customer no segment above caught"));
        }
        if declared.segment.when.is_some() {
            return Err(at(
                first,
                format!("segment `{}` already has a condition", declared.segment.key),
            )
            .hint("combine them with `and` or `or`"));
        }
        declared.segment.when = Some(condition);
        Ok(())
    }

    /// The checks over the whole file: a header, conditions, reachability and a
    /// default.
    fn finish(&mut self, source: &str, last: (usize, usize), errors: &mut Vec<RuleError>) {
        let Some((name, version)) = self.header.take() else {
            if errors.is_empty() {
                errors.push(
                    RuleError::new(last.0, 1, "the rules are empty")
                        .hint("start with `plugin NAME VERSION`, then segments and a `default`"),
                );
            }
            return;
        };
        let mut default: Option<&Declared> = None;
        for (i, declared) in self.segments.iter().enumerate() {
            let key = &declared.segment.key;
            let error = |message: String| RuleError::new(declared.line, declared.column, message);
            if let Some(earlier) = self.segments[..i].iter().find(|d| d.segment.key == *key) {
                errors.push(
                    error(format!(
                        "segment `{key}` is unreachable: the key is already used on line {}",
                        earlier.line
                    ))
                    .hint("give it a key of its own"),
                );
            } else if let Some(default) = default {
                errors.push(error(format!(
                    "segment `{key}` is unreachable: the default `{}` on line {} catches every customer",
                    default.segment.key, default.line
                ))
                .hint("put the default last"));
            } else if let Some(earlier) = self.segments[..i]
                .iter()
                .find(|d| d.segment.when.is_some() && d.segment.when == declared.segment.when)
            {
                errors.push(error(format!(
                    "segment `{key}` is unreachable: segment `{}` on line {} has the same condition",
                    earlier.segment.key, earlier.line
                ))
                .hint("change one of the conditions"));
            } else if !declared.is_default && !declared.broken && declared.segment.when.is_none() {
                errors.push(
                    error(format!("segment `{key}` has no condition"))
                        .hint("add a `when` line below it, or declare it with `default`"),
                );
            }
            if declared.is_default && default.is_none() {
                default = Some(declared);
            }
        }
        if default.is_none() {
            errors.push(
                RuleError::new(last.0, last.1, "the rules have no default segment")
                    .hint("end with `default KEY \"Label\"` for customers no segment catches"),
            );
        }
        if self.segments.len() > usize::from(u16::MAX) {
            errors.push(RuleError::new(1, 1, "too many segments"));
        }
        let rules = RuleSet {
            name,
            version,
            description: self.description.take().unwrap_or_default(),
            segments: self.segments.drain(..).map(|d| d.segment).collect(),
            score: self.score.take(),
            source: source.to_owned(),
        };
        if rules.tags().len() > MAX_TAGS {
            errors.push(
                RuleError::new(
                    1,
                    1,
                    format!("the rules test more than {MAX_TAGS} distinct tags"),
                )
                .hint("group customers by fewer tags"),
            );
        }
        self.rules = Some(rules);
    }
}

fn valid_key(key: &str) -> bool {
    key.len() <= MAX_KEY
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn statements_hint() -> String {
    format!(
        "statements are {}",
        STATEMENTS.map(|s| format!("`{s}`")).join(", ")
    )
}

fn at(token: &Token, message: impl Into<String>) -> RuleError {
    RuleError::new(token.line, token.column, message)
}

/// The tokens of one statement, read left to right.
struct Cursor<'a> {
    tokens: &'a [Token],
    pos: usize,
    /// Where the statement ends, for errors about what is missing.
    end: (usize, usize),
}

impl Cursor<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn peek_word(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.tok.is_word(word))
    }

    fn peek_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Op(o), .. }) if *o == op)
    }

    /// An error at the current token, or at the end of the statement.
    fn error_here(&self, message: impl Into<String>) -> RuleError {
        match self.peek() {
            Some(token) => at(token, message),
            None => RuleError::new(self.end.0, self.end.1, message),
        }
    }

    /// "expected X, found Y" at the current token.
    fn expected(&self, what: &str) -> RuleError {
        match self.peek() {
            Some(token) => at(
                token,
                format!("expected {what}, found {}", token.tok.describe()),
            ),
            None => RuleError::new(
                self.end.0,
                self.end.1,
                format!("expected {what} at the end of the line"),
            ),
        }
    }

    fn word(&mut self) -> Option<String> {
        match self.peek() {
            Some(Token {
                tok: Tok::Word(word),
                ..
            }) => {
                let word = word.clone();
                self.pos += 1;
                Some(word)
            }
            _ => None,
        }
    }

    fn text(&mut self, what: &str) -> Result<String, RuleError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Text(text),
                ..
            }) => {
                let text = text.clone();
                self.pos += 1;
                Ok(text)
            }
            _ => Err(self.expected(&format!("{what} in double quotes"))),
        }
    }

    /// The statement must end here.
    fn done(&self, after: &str) -> Result<(), RuleError> {
        match self.peek() {
            None => Ok(()),
            Some(token) => Err(at(
                token,
                format!("unexpected {} after {after}", token.tok.describe()),
            )),
        }
    }

    fn expect_close(&mut self) -> Result<(), RuleError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Close, ..
            }) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(self.expected("`)`")),
        }
    }

    // Conditions: `or` binds loosest, then `and`, then `not`.

    fn condition(&mut self) -> Result<Condition, RuleError> {
        let mut left = self.conjunction()?;
        while self.peek_word("or") {
            self.pos += 1;
            left = Condition::Or(Box::new(left), Box::new(self.conjunction()?));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Result<Condition, RuleError> {
        let mut left = self.negation()?;
        while self.peek_word("and") {
            self.pos += 1;
            left = Condition::And(Box::new(left), Box::new(self.negation()?));
        }
        Ok(left)
    }

    fn negation(&mut self) -> Result<Condition, RuleError> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Condition::Not(Box::new(self.negation()?)));
        }
        self.test()
    }

    fn test(&mut self) -> Result<Condition, RuleError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.expected("a condition"));
        };
        let name = match &token.tok {
            Tok::Open => {
                self.pos += 1;
                let inner = self.condition()?;
                self.expect_close()?;
                return Ok(inner);
            }
            Tok::Word(word) if word == "has" => {
                self.pos += 1;
                if !self.peek_word("tag") {
                    return Err(self.expected("`tag`"));
                }
                self.pos += 1;
                return Ok(Condition::HasTag(self.text("a tag")?));
            }
            Tok::Word(word) => word.clone(),
            _ => return Err(self.expected("a feature, `has tag`, `not` or `(`")),
        };
        self.pos += 1;
        let feature = feature(&token, &name, "write `has tag \"fitness\"`")?;
        if self.peek_word("between") {
            self.pos += 1;
            let low = self.value(feature)?;
            if !self.peek_word("and") {
                return Err(self.expected("`and` in `between … and …`"));
            }
            self.pos += 1;
            let high_token = self.peek().cloned();
            let high = self.value(feature)?;
            if low > high {
                let token = high_token.expect("a value was read");
                return Err(at(
                    &token,
                    "the range is empty: its lower end is above its upper end",
                )
                .hint("write the smaller value first"));
            }
            return Ok(Condition::And(
                Box::new(Condition::Compare(feature, Cmp::Ge, low)),
                Box::new(Condition::Compare(feature, Cmp::Le, high)),
            ));
        }
        let cmp = self.comparison()?;
        Ok(Condition::Compare(feature, cmp, self.value(feature)?))
    }

    fn comparison(&mut self) -> Result<Cmp, RuleError> {
        let cmp = match self.peek().map(|t| &t.tok) {
            Some(Tok::Op("<")) => Cmp::Lt,
            Some(Tok::Op("<=")) => Cmp::Le,
            Some(Tok::Op(">")) => Cmp::Gt,
            Some(Tok::Op(">=")) => Cmp::Ge,
            Some(Tok::Op("=")) => Cmp::Eq,
            Some(Tok::Op("!=")) => Cmp::Ne,
            Some(Tok::Word(w)) if w == "is" => {
                self.pos += 1;
                if self.peek_word("not") {
                    self.pos += 1;
                    return Ok(Cmp::Ne);
                }
                return Ok(Cmp::Eq);
            }
            _ => return Err(self.expected("a comparison (< <= > >= = != is, or between)")),
        };
        self.pos += 1;
        Ok(cmp)
    }

    /// A literal compared with `feature`, in the batch's units, type-checked
    /// against the feature's kind.
    fn value(&mut self, feature: Feature) -> Result<i64, RuleError> {
        let kind = feature.kind();
        let name = feature.name();
        let Some(start) = self.peek().cloned() else {
            return Err(self.expected(&format!("a value for `{name}`")));
        };
        let negative = self.peek_op("-");
        if negative {
            self.pos += 1;
        }
        let number = match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Number(number)) => number,
            Some(Tok::Word(word)) if !negative => {
                let month = MONTHS
                    .iter()
                    .position(|m| *m == word || (word.len() == 3 && m.starts_with(word.as_str())));
                return match month {
                    Some(month) if kind == Kind::Month => {
                        self.pos += 1;
                        Ok(month as i64 + 1)
                    }
                    Some(_) => Err(mismatch(&start, feature, &format!("`{word}` is a month"))),
                    None if Feature::parse(&word).is_some() => Err(at(
                        &start,
                        format!("`{name}` can only be compared with a value, not with `{word}`"),
                    )),
                    None => Err(self.expected(&format!("a value for `{name}`"))),
                };
            }
            Some(Tok::Text(text)) if !negative => {
                return Err(mismatch(&start, feature, &format!("\"{text}\" is text"))
                    .hint("text is only used in `has tag \"…\"`"));
            }
            _ => return Err(self.expected(&format!("a value for `{name}`"))),
        };
        self.pos += 1;
        let days_unit = self.peek_word("days") || self.peek_word("day");
        let written = if negative {
            format!("-{number}")
        } else {
            number.clone()
        };
        if days_unit {
            self.pos += 1;
            if kind != Kind::Days {
                return Err(mismatch(
                    &start,
                    feature,
                    &format!("`{written} days` is a number of days"),
                )
                .hint(match kind {
                    Kind::Money => "write money in yuan without a unit, e.g. 5000",
                    _ => "drop the unit",
                }));
            }
        }
        let (whole, fraction) = number.split_once('.').unwrap_or((&number, ""));
        let too_large = || at(&start, format!("{written} is too large"));
        let mut value: i64 = whole.parse().map_err(|_| too_large())?;
        if kind == Kind::Money {
            if fraction.len() > 2 {
                return Err(at(&start, format!("{written} has more than 2 decimals"))
                    .hint("money is in yuan, to the fen"));
            }
            let fen: i64 = format!("{fraction:0<2}").parse().expect("two digits");
            value = value
                .checked_mul(100)
                .and_then(|v| v.checked_add(fen))
                .ok_or_else(too_large)?;
        } else if !fraction.is_empty() {
            return Err(at(
                &start,
                format!(
                    "`{name}` is {}, so {written} must be a whole number",
                    kind.describe()
                ),
            ));
        }
        if negative {
            value = -value;
        }
        if kind == Kind::Month && !(0..=12).contains(&value) {
            return Err(at(&start, format!("{written} is not a month"))
                .hint("months are 1–12 or january–december; 0 means unknown"));
        }
        Ok(value)
    }

    // The score: `+ -` bind looser than `* /`; then unary minus.

    fn expr(&mut self) -> Result<Expr, RuleError> {
        let mut left = self.product()?;
        loop {
            let op = if self.peek_op("+") {
                Arith::Add
            } else if self.peek_op("-") {
                Arith::Sub
            } else {
                return Ok(left);
            };
            self.pos += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Expr, RuleError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.peek_op("*") {
                Arith::Mul
            } else if self.peek_op("/") {
                Arith::Div
            } else {
                return Ok(left);
            };
            self.pos += 1;
            left = Expr::Binary(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, RuleError> {
        if self.peek_op("-") {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        let Some(token) = self.next() else {
            return Err(self.expected("a number, a feature or `(`"));
        };
        match &token.tok {
            Tok::Number(number) => number
                .parse()
                .map(Expr::Number)
                .map_err(|_| at(&token, format!("`{number}` is not a number"))),
            Tok::Open => {
                let inner = self.expr()?;
                self.expect_close()?;
                Ok(inner)
            }
            Tok::Word(name) if self.peek().is_some_and(|t| t.tok == Tok::Open) => {
                self.pos += 1;
                self.call(&token, name)
            }
            Tok::Word(name) => Ok(Expr::Feature(feature(
                &token,
                name,
                "a score reads numeric features",
            )?)),
            _ => {
                self.pos -= 1;
                Err(self.expected("a number, a feature or `(`"))
            }
        }
    }

    fn call(&mut self, token: &Token, name: &str) -> Result<Expr, RuleError> {
        let arity = match name {
            "min" | "max" => 2,
            "clamp" => 3,
            other => {
                let error = at(token, format!("unknown function `{other}`"));
                return Err(match closest(other, FUNCTIONS) {
                    Some(near) => error.hint(format!("did you mean `{near}`?")),
                    None => {
                        error.hint("functions are min(a, b), max(a, b) and clamp(x, low, high)")
                    }
                });
            }
        };
        let mut args = vec![self.expr()?];
        while matches!(
            self.peek(),
            Some(Token {
                tok: Tok::Comma,
                ..
            })
        ) {
            self.pos += 1;
            args.push(self.expr()?);
        }
        self.expect_close()?;
        if args.len() != arity {
            return Err(at(
                token,
                format!("`{name}` takes {arity} arguments, not {}", args.len()),
            ));
        }
        let mut args = args.into_iter().map(Box::new);
        let mut arg = || args.next().expect("arity checked");
        Ok(match name {
            "min" => Expr::Min(arg(), arg()),
            "max" => Expr::Max(arg(), arg()),
            _ => {
                let (x, low, high) = (arg(), arg(), arg());
                Expr::Min(Box::new(Expr::Max(x, low)), high)
            }
        })
    }
}

/// The feature `name` names, or why not: tags, or a typo with its closest match.
fn feature(token: &Token, name: &str, tags_hint: &'static str) -> Result<Feature, RuleError> {
    if let Some(feature) = Feature::parse(name) {
        return Ok(feature);
    }
    if crate::features::normalize(name) == TAGS {
        return Err(at(token, "`tags` is a list of tags, not a number").hint(tags_hint));
    }
    let error = at(token, format!("unknown feature `{name}`"));
    Err(match closest(name, Feature::ALL.map(Feature::name)) {
        Some(near) => error.hint(format!("did you mean `{near}`?")),
        None => error.hint(format!(
            "features are {}",
            Feature::ALL.map(|f| format!("`{}`", f.name())).join(", ")
        )),
    })
}

/// A literal of the wrong kind for `feature`.
fn mismatch(token: &Token, feature: Feature, literal: &str) -> RuleError {
    at(
        token,
        format!(
            "type mismatch: `{}` is {}, but {literal}",
            feature.name(),
            feature.kind().describe()
        ),
    )
}
