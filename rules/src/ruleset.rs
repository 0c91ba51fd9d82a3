//! A parsed rule file: segments checked in order, a default, and a score.

use std::collections::BTreeSet;

use crate::features::{Column, Feature};

/// Parsed, checked rules. Build one with [`RuleSet::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    pub name: String,
    pub version: String,
    pub description: String,
    /// In file order, which is the order they are checked in; the last one is the
    /// default and the only one without a condition.
    pub segments: Vec<Segment>,
    /// The score of every customer; 0 without one.
    pub score: Option<Expr>,
    /// The rule file as written, published with the plugin.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub key: String,
    pub label: String,
    pub description: String,
    /// `None` for the default segment.
    pub when: Option<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Cmp {
    pub fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Cmp::Lt => left < right,
            Cmp::Le => left <= right,
            Cmp::Gt => left > right,
            Cmp::Ge => left >= right,
            Cmp::Eq => left == right,
            Cmp::Ne => left != right,
        }
    }
}

/// A segment's condition. Values are in the batch's units: minor units for
/// money, days with "never" as 4294967295.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(Feature, Cmp, i64),
    HasTag(String),
    Not(Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    /// Division by zero gives 0, so a score never becomes infinite through it.
    Div,
}

/// The score expression, in `f64`. Money reads in major units (yuan).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Feature(Feature),
    Neg(Box<Expr>),
    Binary(Arith, Box<Expr>, Box<Expr>),
    Min(Box<Expr>, Box<Expr>),
    Max(Box<Expr>, Box<Expr>),
}

/// Introduces the rule source in a rule plugin's description.
pub const SOURCE_MARKER: &str = "\n\n--- rules source ---\n";

/// The rule source a rule plugin's description carries, if it is one.
pub fn source_in(description: &str) -> Option<&str> {
    description
        .split_once(SOURCE_MARKER)
        .map(|(_, source)| source)
}

impl RuleSet {
    /// The features the rules read, in a stable order.
    pub fn features(&self) -> BTreeSet<Feature> {
        let mut features = BTreeSet::new();
        for segment in &self.segments {
            if let Some(when) = &segment.when {
                when.visit(&mut |c| {
                    if let Condition::Compare(feature, ..) = c {
                        features.insert(*feature);
                    }
                });
            }
        }
        if let Some(score) = &self.score {
            score.visit(&mut |e| {
                if let Expr::Feature(feature) = e {
                    features.insert(*feature);
                }
            });
        }
        features
    }

    /// The batch columns the rules read.
    pub fn columns(&self) -> BTreeSet<Column> {
        self.features().into_iter().map(Feature::column).collect()
    }

    /// The distinct tags the rules test, in order of first use.
    pub fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        for when in self.segments.iter().filter_map(|s| s.when.as_ref()) {
            when.visit(&mut |c| {
                if let Condition::HasTag(tag) = c
                    && !tags.contains(tag)
                {
                    tags.push(tag.clone());
                }
            });
        }
        tags
    }

    /// What `describe()` says: the description, then the source after
    /// [`SOURCE_MARKER`], so anyone can read what a version does.
    pub fn plugin_description(&self) -> String {
        format!("{}{SOURCE_MARKER}{}", self.description, self.source)
    }
}

impl Condition {
    fn visit(&self, f: &mut impl FnMut(&Condition)) {
        f(self);
        match self {
            Condition::Not(inner) => inner.visit(f),
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Condition::Compare(..) | Condition::HasTag(_) => {}
        }
    }
}

impl Expr {
    fn visit(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Neg(inner) => inner.visit(f),
            Expr::Binary(_, a, b) | Expr::Min(a, b) | Expr::Max(a, b) => {
                a.visit(f);
                b.visit(f);
            }
            Expr::Number(_) | Expr::Feature(_) => {}
        }
    }
}
