//! Experiment results: per-variant rates and means, each variant against the
//! control (variant 0), and a sample-ratio-mismatch check.
//!
//! Input is aggregates the caller can compute in SQL (exposures, converters,
//! revenue sum and sum of squares per variant), so results never need a scan of
//! customers in memory. Frequentist tests at 95%:
//!
//! - conversion: two-proportion z-test, pooled standard error for the test and
//!   unpooled for the interval;
//! - revenue per exposed customer: Welch's t-test with Welch–Satterthwaite
//!   degrees of freedom;
//! - relative uplift `treatment / control − 1` with a delta-method interval;
//!   for independent arms the first-order expansion gives
//!   `Var(m₁/m₀) ≈ se₁²/m₀² + m₁²·se₀²/m₀⁴`;
//! - chance to beat control with a Gaussian approximation: under a flat prior
//!   each arm's mean is taken as `N(mean, se²)`, so
//!   `P(μ₁ > μ₀) = Φ((m₁ − m₀) / √(se₀² + se₁²))`.
//!
//! Degenerate input (no exposures, a zero baseline, no spread) gives
//! [`Unavailable`] with the reason instead of a NaN.

use std::fmt;

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

/// Two-sided significance level: intervals are 95% and a comparison is
/// significant when its p-value is below 0.05, the convention the issue asks for.
pub const ALPHA: f64 = 0.05;

/// A sample ratio mismatch is flagged below this p-value. Far stricter than
/// [`ALPHA`] because the check runs on every report of every experiment and a
/// false alarm would make teams distrust a healthy experiment.
pub const SRM_P_THRESHOLD: f64 = 0.001;

/// Relative tolerance for a sum of squares that falls short of `sum²/n` by
/// floating-point rounding rather than by inconsistent input.
const ROUNDING_TOLERANCE: f64 = 1e-9;

/// One variant's aggregates over its exposed customers.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct VariantData {
    /// Customers exposed to the variant.
    pub exposed: u64,
    /// Exposed customers who met the binary metric (converted, or repurchased).
    pub converters: u64,
    /// Sum over exposed customers of each one's revenue in minor units, zero for
    /// those who bought nothing.
    pub revenue_sum: f64,
    /// Sum over exposed customers of each one's revenue squared.
    pub revenue_sum_squares: f64,
}

impl VariantData {
    /// Share of exposed customers who converted.
    pub fn conversion_rate(&self) -> Result<f64, Unavailable> {
        if self.exposed == 0 {
            return Err(Unavailable::NoExposures);
        }
        if self.converters > self.exposed {
            return Err(Unavailable::InvalidData);
        }
        Ok(self.converters as f64 / self.exposed as f64)
    }

    /// Mean revenue per exposed customer, in minor units.
    pub fn revenue_per_customer(&self) -> Result<f64, Unavailable> {
        if self.exposed == 0 {
            return Err(Unavailable::NoExposures);
        }
        if !self.revenue_sum.is_finite() || !self.revenue_sum_squares.is_finite() {
            return Err(Unavailable::InvalidData);
        }
        Ok(self.revenue_sum / self.exposed as f64)
    }

    /// Mean and sample variance of revenue per customer; needs two customers.
    fn revenue_moments(&self) -> Result<(f64, f64), Unavailable> {
        let mean = self.revenue_per_customer()?;
        if self.exposed < 2 {
            return Err(Unavailable::TooFewExposures);
        }
        // Sum of squared deviations; slightly negative only through rounding.
        let deviations = self.revenue_sum_squares - self.revenue_sum * mean;
        if deviations < -ROUNDING_TOLERANCE * self.revenue_sum_squares.abs() {
            return Err(Unavailable::InvalidData);
        }
        Ok((mean, deviations.max(0.0) / (self.exposed - 1) as f64))
    }
}

/// Why a figure could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// A variant (or the control) has no exposed customers yet.
    NoExposures,
    /// A sample variance needs at least two exposed customers per variant.
    TooFewExposures,
    /// Every customer within each arm has the same outcome, so there is no
    /// spread to measure the difference against.
    NoVariation,
    /// The control's rate or mean is zero or negative, so a relative uplift is
    /// undefined.
    ControlBaselineNotPositive,
    /// The aggregates contradict each other: more converters than exposures,
    /// non-finite sums, or a sum of squares below what the sum implies.
    InvalidData,
    /// The configured weights do not fit the variants: a different count, or a
    /// weight that is not positive and finite.
    InvalidWeights,
    /// A comparison needs a control and at least one other variant.
    TooFewVariants,
}

impl Unavailable {
    /// A sentence for reports and API clients.
    pub fn reason(self) -> &'static str {
        match self {
            Self::NoExposures => "no exposed customers yet",
            Self::TooFewExposures => "fewer than two exposed customers",
            Self::NoVariation => "every customer in each variant has the same outcome",
            Self::ControlBaselineNotPositive => {
                "the control's value is zero, so a relative uplift is undefined"
            }
            Self::InvalidData => "the aggregates are inconsistent",
            Self::InvalidWeights => "the weights do not match the variants",
            Self::TooFewVariants => "fewer than two variants",
        }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// A closed confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// `center ± half_width`.
    fn around(center: f64, half_width: f64) -> Self {
        Self {
            low: center - half_width,
            high: center + half_width,
        }
    }

    /// Whether `value` lies inside the interval.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// A point estimate with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Its 95% confidence interval.
    pub interval: Interval,
}

/// One metric of one variant against the control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricComparison {
    /// The control's conversion rate or mean revenue per customer.
    pub control: f64,
    /// The variant's.
    pub treatment: f64,
    /// `treatment − control`.
    pub difference: Estimate,
    /// `treatment / control − 1`, delta-method interval.
    pub relative: Result<Estimate, Unavailable>,
    /// The test statistic: z for conversion, t for revenue.
    pub statistic: f64,
    /// Welch–Satterthwaite degrees of freedom; `None` for the z-test.
    pub degrees_of_freedom: Option<f64>,
    /// Two-sided p-value for "no difference".
    pub p_value: f64,
    /// Whether `p_value < ALPHA`.
    pub significant: bool,
    /// Gaussian-approximation probability that the variant's true value
    /// exceeds the control's.
    pub chance_to_beat_control: f64,
}

/// A variant's own figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VariantSummary {
    /// Customers exposed.
    pub exposed: u64,
    /// Customers who converted.
    pub converters: u64,
    /// `converters / exposed`.
    pub conversion_rate: Result<f64, Unavailable>,
    /// Mean revenue per exposed customer, in minor units.
    pub revenue_per_customer: Result<f64, Unavailable>,
}

/// A non-control variant against the control.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Index of the variant (1 and up; 0 is the control).
    pub variant: usize,
    /// Conversion rate, two-proportion z-test.
    pub conversion: Result<MetricComparison, Unavailable>,
    /// Revenue per exposed customer, Welch's t-test.
    pub revenue: Result<MetricComparison, Unavailable>,
}

/// Chi-square goodness of fit of exposures against the configured weights.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRatio {
    /// Exposures each variant should have had under its weight.
    pub expected: Vec<f64>,
    /// The chi-square statistic.
    pub statistic: f64,
    /// Variants minus one.
    pub degrees_of_freedom: f64,
    /// Probability of a split at least this uneven if assignment were healthy.
    pub p_value: f64,
    /// `p_value < SRM_P_THRESHOLD`: the split is off and the results suspect.
    pub mismatch: bool,
}

/// Everything a results report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentResults {
    /// One per variant, control first.
    pub variants: Vec<VariantSummary>,
    /// One per non-control variant, in order.
    pub comparisons: Vec<Comparison>,
    /// The sample-ratio-mismatch check.
    pub sample_ratio: Result<SampleRatio, Unavailable>,
}

/// Results for `variants` (control first) assigned with `weights` (one per
/// variant, any positive scale).
pub fn analyze(variants: &[VariantData], weights: &[f64]) -> ExperimentResults {
    let summaries = variants
        .iter()
        .map(|v| VariantSummary {
            exposed: v.exposed,
            converters: v.converters,
            conversion_rate: v.conversion_rate(),
            revenue_per_customer: v.revenue_per_customer(),
        })
        .collect();
    let comparisons = match variants.split_first() {
        Some((control, others)) => others
            .iter()
            .enumerate()
            .map(|(i, treatment)| Comparison {
                variant: i + 1,
                conversion: compare_conversion(control, treatment),
                revenue: compare_revenue(control, treatment),
            })
            .collect(),
        None => Vec::new(),
    };
    let exposed: Vec<u64> = variants.iter().map(|v| v.exposed).collect();
    ExperimentResults {
        variants: summaries,
        comparisons,
        sample_ratio: sample_ratio_mismatch(&exposed, weights),
    }
}

/// Conversion rate of `treatment` against `control`: two-proportion z-test
/// with the pooled standard error (the null hypothesis says both rates are
/// equal), interval from the unpooled one (the rates may differ). The two
/// standard errors differ slightly, so right at the margin a significant test
/// can come with an interval that touches zero.
pub fn compare_conversion(
    control: &VariantData,
    treatment: &VariantData,
) -> Result<MetricComparison, Unavailable> {
    let (p0, p1) = (control.conversion_rate()?, treatment.conversion_rate()?);
    let (n0, n1) = (control.exposed as f64, treatment.exposed as f64);
    let pooled = (control.converters + treatment.converters) as f64 / (n0 + n1);
    let pooled_se = (pooled * (1.0 - pooled) * (1.0 / n0 + 1.0 / n1)).sqrt();
    let (var0, var1) = (p0 * (1.0 - p0) / n0, p1 * (1.0 - p1) / n1);
    if pooled_se == 0.0 || var0 + var1 == 0.0 {
        return Err(Unavailable::NoVariation);
    }
    let normal = Normal::standard();
    let z = (p1 - p0) / pooled_se;
    Ok(comparison(
        (p0, var0),
        (p1, var1),
        normal.inverse_cdf(1.0 - ALPHA / 2.0),
        z,
        None,
        2.0 * normal.sf(z.abs()),
    ))
}

/// Revenue per exposed customer of `treatment` against `control`: Welch's
/// t-test, which does not assume equal variances (revenue spreads differ when
/// a strategy changes who buys), with t quantiles at the Welch–Satterthwaite
/// degrees of freedom for every interval.
pub fn compare_revenue(
    control: &VariantData,
    treatment: &VariantData,
) -> Result<MetricComparison, Unavailable> {
    let (m0, s0) = control.revenue_moments()?;
    let (m1, s1) = treatment.revenue_moments()?;
    let (var0, var1) = (s0 / control.exposed as f64, s1 / treatment.exposed as f64);
    let se2 = var0 + var1;
    if se2 == 0.0 {
        return Err(Unavailable::NoVariation);
    }
    let df = se2 * se2
        / (var0 * var0 / (control.exposed - 1) as f64
            + var1 * var1 / (treatment.exposed - 1) as f64);
    let t_dist = StudentsT::new(0.0, 1.0, df).map_err(|_| Unavailable::InvalidData)?;
    let t = (m1 - m0) / se2.sqrt();
    Ok(comparison(
        (m0, var0),
        (m1, var1),
        t_dist.inverse_cdf(1.0 - ALPHA / 2.0),
        t,
        Some(df),
        2.0 * t_dist.sf(t.abs()),
    ))
}

/// Assembles a comparison from each arm's `(mean, variance of the mean)`, the
/// interval's critical value and the test's statistic and p-value.
fn comparison(
    (m0, var0): (f64, f64),
    (m1, var1): (f64, f64),
    critical: f64,
    statistic: f64,
    degrees_of_freedom: Option<f64>,
    p_value: f64,
) -> MetricComparison {
    let se = (var0 + var1).sqrt();
    let relative = if m0 > 0.0 {
        let se_ratio = (var1 / (m0 * m0) + m1 * m1 * var0 / m0.powi(4)).sqrt();
        let value = m1 / m0 - 1.0;
        Ok(Estimate {
            value,
            interval: Interval::around(value, critical * se_ratio),
        })
    } else {
        Err(Unavailable::ControlBaselineNotPositive)
    };
    MetricComparison {
        control: m0,
        treatment: m1,
        difference: Estimate {
            value: m1 - m0,
            interval: Interval::around(m1 - m0, critical * se),
        },
        relative,
        statistic,
        degrees_of_freedom,
        p_value,
        significant: p_value < ALPHA,
        chance_to_beat_control: Normal::standard().cdf((m1 - m0) / se),
    }
}

/// Sample-ratio-mismatch check: chi-square goodness of fit of `exposed`
/// against `weights` (one per variant, normalised here). A mismatch means
/// assignment or exposure logging is broken, which invalidates every other
/// figure of the experiment.
pub fn sample_ratio_mismatch(exposed: &[u64], weights: &[f64]) -> Result<SampleRatio, Unavailable> {
    if exposed.len() < 2 {
        return Err(Unavailable::TooFewVariants);
    }
    if weights.len() != exposed.len() || weights.iter().any(|w| !w.is_finite() || *w <= 0.0) {
        return Err(Unavailable::InvalidWeights);
    }
    let total: u64 = exposed.iter().sum();
    if total == 0 {
        return Err(Unavailable::NoExposures);
    }
    let weight_sum: f64 = weights.iter().sum();
    let expected: Vec<f64> = weights
        .iter()
        .map(|w| total as f64 * w / weight_sum)
        .collect();
    let statistic = exposed
        .iter()
        .zip(&expected)
        .map(|(&o, &e)| (o as f64 - e).powi(2) / e)
        .sum();
    let degrees_of_freedom = (exposed.len() - 1) as f64;
    let chi2 = ChiSquared::new(degrees_of_freedom).map_err(|_| Unavailable::InvalidWeights)?;
    let p_value = chi2.sf(statistic);
    Ok(SampleRatio {
        expected,
        statistic,
        degrees_of_freedom,
        p_value,
        mismatch: p_value < SRM_P_THRESHOLD,
    })
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Gamma};

    use super::super::assignment::{Assignment, HASH_VERSION};
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance * expected.abs().max(1.0)
    }

    macro_rules! assert_close {
        ($actual:expr, $expected:expr) => {
            assert_close!($actual, $expected, 1e-9)
        };
        ($actual:expr, $expected:expr, $tolerance:expr) => {{
            let (a, e) = ($actual, $expected);
            assert!(
                close(a, e, $tolerance),
                "{} = {a}, expected {e}",
                stringify!($actual)
            );
        }};
    }

    fn conversions(exposed: u64, converters: u64) -> VariantData {
        VariantData {
            exposed,
            converters,
            ..VariantData::default()
        }
    }

    fn revenues(values: &[f64]) -> VariantData {
        VariantData {
            exposed: values.len() as u64,
            converters: values.iter().filter(|v| **v > 0.0).count() as u64,
            revenue_sum: values.iter().sum(),
            revenue_sum_squares: values.iter().map(|v| v * v).sum(),
        }
    }

    /// Aggregates with a given mean and sample standard deviation.
    fn from_moments(exposed: u64, mean: f64, sd: f64) -> VariantData {
        let n = exposed as f64;
        VariantData {
            exposed,
            converters: 0,
            revenue_sum: n * mean,
            revenue_sum_squares: (n - 1.0) * sd * sd + n * mean * mean,
        }
    }

    /// Every float a report could show is finite.
    fn assert_no_nan(results: &ExperimentResults) {
        let check = |x: f64| assert!(x.is_finite(), "non-finite value in {results:?}");
        for s in &results.variants {
            s.conversion_rate
                .iter()
                .chain(&s.revenue_per_customer)
                .for_each(|&x| check(x));
        }
        for c in &results.comparisons {
            for m in c.conversion.iter().chain(&c.revenue) {
                let e = &m.difference;
                for x in [
                    m.control,
                    m.treatment,
                    e.value,
                    e.interval.low,
                    e.interval.high,
                ] {
                    check(x);
                }
                for x in [m.statistic, m.p_value, m.chance_to_beat_control] {
                    check(x);
                }
                m.degrees_of_freedom.iter().for_each(|&x| check(x));
                if let Ok(r) = m.relative {
                    [r.value, r.interval.low, r.interval.high]
                        .into_iter()
                        .for_each(check);
                }
            }
        }
        if let Ok(srm) = &results.sample_ratio {
            srm.expected.iter().for_each(|&x| check(x));
            [srm.statistic, srm.p_value].into_iter().for_each(check);
        }
    }

    // Expected values from scipy 1.17.1 (Python 3): pooled z by hand with
    // scipy.stats.norm; p cross-checked with
    // chi2_contingency([[1000, 9000], [1100, 8900]], correction=False)
    // = 0.021075189273797777.
    #[test]
    fn conversion_matches_scipy() {
        let m = compare_conversion(&conversions(10_000, 1_000), &conversions(10_000, 1_100))
            .expect("well-posed");
        assert_close!(m.control, 0.1);
        assert_close!(m.treatment, 0.11);
        assert_close!(m.statistic, 2.3066347738170103);
        assert_close!(m.p_value, 0.021075189273797826, 1e-7);
        assert!(m.significant);
        assert_eq!(m.degrees_of_freedom, None);
        assert_close!(m.difference.interval.low, 0.001504059131512114, 1e-7);
        assert_close!(m.difference.interval.high, 0.018495940868487874, 1e-7);
        let r = m.relative.expect("control rate is positive");
        assert_close!(r.value, 0.1);
        assert_close!(r.interval.low, 0.010870112525620937, 1e-7);
        assert_close!(r.interval.high, 0.1891298874743788, 1e-7);
        assert_close!(m.chance_to_beat_control, 0.9894709633919611, 1e-7);
    }

    // scipy.stats.ttest_ind(b, a, equal_var=False) on the samples below:
    // statistic, pvalue, df and confidence_interval(0.95); relative interval with
    // scipy.stats.t.ppf(0.975, df) and the delta method, chance with norm.cdf.
    #[test]
    fn revenue_matches_scipy_welch() {
        let control = revenues(&[
            0.0, 0.0, 0.0, 1200.0, 0.0, 3500.0, 0.0, 0.0, 800.0, 0.0, 0.0, 0.0, 2400.0, 0.0, 0.0,
            0.0, 0.0, 1500.0, 0.0, 0.0,
        ]);
        let treatment = revenues(&[
            0.0, 1800.0, 0.0, 0.0, 2600.0, 0.0, 4100.0, 0.0, 0.0, 950.0, 0.0, 0.0, 3000.0, 0.0,
            0.0, 1200.0, 0.0, 0.0, 0.0, 2750.0, 0.0, 0.0, 500.0, 0.0, 0.0,
        ]);
        let m = compare_revenue(&control, &treatment).expect("well-posed");
        assert_close!(m.control, 470.0);
        assert_close!(m.treatment, 676.0);
        assert_close!(m.statistic, 0.6365462426412877);
        assert_close!(m.degrees_of_freedom.expect("Welch df"), 42.98750418028271);
        assert_close!(m.p_value, 0.5277956386086181, 1e-7);
        assert!(!m.significant);
        assert_close!(m.difference.interval.low, -446.6502829334215, 1e-7);
        assert_close!(m.difference.interval.high, 858.6502829334215, 1e-7);
        let r = m.relative.expect("control mean is positive");
        assert_close!(r.value, 0.4382978723404256);
        assert_close!(r.interval.low, -1.251750306172906, 1e-7);
        assert_close!(r.interval.high, 2.1283460508537573, 1e-7);
        assert_close!(m.chance_to_beat_control, 0.7377897746460577, 1e-7);
    }

    // scipy.stats.ttest_ind_from_stats(540, 2030, 20000, 500, 1870, 20000,
    // equal_var=False); df by the Welch–Satterthwaite formula, t.ppf(0.975, df).
    #[test]
    fn revenue_with_large_samples_matches_scipy() {
        let control = from_moments(20_000, 500.0, 1870.0);
        let treatment = from_moments(20_000, 540.0, 2030.0);
        let m = compare_revenue(&control, &treatment).expect("well-posed");
        assert_close!(m.statistic, 2.0495579676207027, 1e-7);
        assert_close!(m.p_value, 0.04041413663772662, 1e-6);
        assert_close!(
            m.degrees_of_freedom.expect("Welch df"),
            39731.40989655326,
            1e-7
        );
        let half_width = m.difference.interval.high - m.difference.value;
        let se = (1870.0f64.powi(2) / 20_000.0 + 2030.0f64.powi(2) / 20_000.0).sqrt();
        assert_close!(half_width / se, 1.9600236940312994, 1e-7);
    }

    // scipy.stats.chisquare([10000, 9000], [9500, 9500]):
    // statistic 52.63157894736842, pvalue 4.023672190684225e-13.
    #[test]
    fn ten_thousand_against_nine_thousand_is_a_mismatch() {
        let srm = sample_ratio_mismatch(&[10_000, 9_000], &[0.5, 0.5]).expect("well-posed");
        assert_close!(srm.statistic, 52.63157894736842);
        assert_close!(srm.p_value, 4.023672190684225e-13, 1e-6);
        assert!(srm.mismatch);
    }

    // scipy.stats.chisquare([5000, 2600, 2400], [5000, 2500, 2500]): 8.0,
    // 0.018315638888734182; and ([10050, 9950], [10000, 10000]): 0.5, 0.4795…
    #[test]
    fn uneven_weights_and_healthy_splits_are_not_flagged() {
        let three = sample_ratio_mismatch(&[5_000, 2_600, 2_400], &[2.0, 1.0, 1.0]).expect("ok");
        assert_eq!(three.expected, vec![5_000.0, 2_500.0, 2_500.0]);
        assert_close!(three.statistic, 8.0);
        assert_close!(three.degrees_of_freedom, 2.0);
        assert_close!(three.p_value, 0.018315638888734182, 1e-7);
        assert!(!three.mismatch);
        let even = sample_ratio_mismatch(&[10_050, 9_950], &[0.5, 0.5]).expect("ok");
        assert_close!(even.p_value, 0.47950012218695337, 1e-7);
        assert!(!even.mismatch);
    }

    #[test]
    fn sample_ratio_rejects_unusable_input() {
        use Unavailable::*;
        assert_eq!(sample_ratio_mismatch(&[10], &[1.0]), Err(TooFewVariants));
        assert_eq!(
            sample_ratio_mismatch(&[10, 10], &[1.0]),
            Err(InvalidWeights)
        );
        assert_eq!(
            sample_ratio_mismatch(&[10, 10], &[1.0, 0.0]),
            Err(InvalidWeights)
        );
        assert_eq!(
            sample_ratio_mismatch(&[10, 10], &[1.0, f64::NAN]),
            Err(InvalidWeights)
        );
        assert_eq!(
            sample_ratio_mismatch(&[0, 0], &[0.5, 0.5]),
            Err(NoExposures)
        );
    }

    #[test]
    fn no_exposures_gives_reasons_not_nan() {
        let empty = VariantData::default();
        let results = analyze(&[empty, conversions(100, 10)], &[0.5, 0.5]);
        assert_no_nan(&results);
        assert_eq!(
            results.variants[0].conversion_rate,
            Err(Unavailable::NoExposures)
        );
        assert_eq!(
            results.comparisons[0].conversion,
            Err(Unavailable::NoExposures)
        );
        assert_eq!(
            results.comparisons[0].revenue,
            Err(Unavailable::NoExposures)
        );
        let nobody = analyze(&[empty, empty], &[0.5, 0.5]);
        assert_no_nan(&nobody);
        assert_eq!(nobody.sample_ratio, Err(Unavailable::NoExposures));
        assert!(analyze(&[], &[]).comparisons.is_empty());
    }

    // Zero conversions in the control: the test is defined (scipy: pooled z
    // 2.456871446336364, p 0.01401528293993006), the relative uplift is not.
    #[test]
    fn zero_control_conversions_still_test_but_have_no_relative_uplift() {
        let m = compare_conversion(&conversions(500, 0), &conversions(500, 6)).expect("test");
        assert_close!(m.statistic, 2.456871446336364);
        assert_close!(m.p_value, 0.01401528293993006, 1e-7);
        assert_eq!(m.relative, Err(Unavailable::ControlBaselineNotPositive));
        assert!(m.chance_to_beat_control > 0.99);
    }

    #[test]
    fn no_spread_gives_no_variation() {
        let none = compare_conversion(&conversions(500, 0), &conversions(500, 0));
        assert_eq!(none, Err(Unavailable::NoVariation));
        let all = compare_conversion(&conversions(500, 500), &conversions(400, 400));
        assert_eq!(all, Err(Unavailable::NoVariation));
        let zeros = revenues(&[0.0; 50]);
        assert_eq!(
            compare_revenue(&zeros, &zeros),
            Err(Unavailable::NoVariation)
        );
        // Same amount for everyone: the sum of squares matches sum²/n only up to rounding.
        let flat = revenues(&[1999.99; 3_000]);
        assert_eq!(compare_revenue(&flat, &flat), Err(Unavailable::NoVariation));
    }

    #[test]
    fn one_arm_without_spread_still_compares_revenue() {
        let zeros = revenues(&[0.0; 40]);
        let spread = revenues(&[0.0, 100.0, 0.0, 300.0, 50.0, 0.0, 0.0, 200.0]);
        let m = compare_revenue(&zeros, &spread).expect("treatment has spread");
        // One variance is zero, so df collapses to the other arm's n − 1.
        assert_close!(m.degrees_of_freedom.expect("Welch df"), 7.0);
        assert_eq!(m.relative, Err(Unavailable::ControlBaselineNotPositive));
    }

    #[test]
    fn inconsistent_aggregates_are_rejected() {
        let good = revenues(&[0.0, 10.0, 20.0]);
        let too_many = conversions(10, 11);
        assert_eq!(too_many.conversion_rate(), Err(Unavailable::InvalidData));
        assert_eq!(
            compare_conversion(&good, &too_many),
            Err(Unavailable::InvalidData)
        );
        let squares_too_small = VariantData {
            revenue_sum_squares: 100.0,
            ..good
        };
        assert_eq!(
            compare_revenue(&good, &squares_too_small),
            Err(Unavailable::InvalidData)
        );
        let infinite = VariantData {
            revenue_sum: f64::INFINITY,
            ..good
        };
        assert_eq!(
            compare_revenue(&good, &infinite),
            Err(Unavailable::InvalidData)
        );
        let single = revenues(&[10.0]);
        assert_eq!(
            compare_revenue(&good, &single),
            Err(Unavailable::TooFewExposures)
        );
    }

    #[test]
    fn identical_arms_are_a_coin_flip() {
        let arm = VariantData {
            exposed: 1_000,
            converters: 120,
            revenue_sum: 60_000.0,
            revenue_sum_squares: 30_000_000.0,
        };
        for m in [compare_conversion(&arm, &arm), compare_revenue(&arm, &arm)] {
            let m = m.expect("well-posed");
            assert_close!(m.p_value, 1.0);
            assert_close!(m.chance_to_beat_control, 0.5);
            assert!(!m.significant);
        }
    }

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(
            Unavailable::NoExposures.to_string(),
            "no exposed customers yet"
        );
    }

    /// Splits `customers` ids through the experiment's real assignment and draws
    /// each one's outcome: conversion with the variant's rate, then an order
    /// value from a gamma distribution (mean 5,000 minor units).
    fn simulate(key: &str, customers: usize, rates: [f64; 2], seed: u64) -> [VariantData; 2] {
        let rule = Assignment::new(key, None, HASH_VERSION, &[0.5, 0.5], 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let order_value = Gamma::<f64>::new(2.0, 2_500.0).expect("valid gamma");
        let mut arms = [VariantData::default(); 2];
        for i in 0..customers {
            let variant = rule.variant(&format!("cust-{i}")).expect("full coverage");
            let arm = &mut arms[variant];
            arm.exposed += 1;
            if rng.random_bool(rates[variant]) {
                let revenue = order_value.sample(&mut rng).round();
                arm.converters += 1;
                arm.revenue_sum += revenue;
                arm.revenue_sum_squares += revenue * revenue;
            }
        }
        arms
    }

    #[test]
    fn simulation_detects_a_true_twenty_percent_uplift() {
        // 10% → 12%, about 20,000 customers per arm.
        let arms = simulate("coupon-vs-points", 40_000, [0.10, 0.12], 20_240_501);
        let results = analyze(&arms, &[0.5, 0.5]);
        assert_no_nan(&results);
        let comparison = results.comparisons[0];
        let conversion = comparison.conversion.expect("well-posed");
        assert!(conversion.significant, "{conversion:?}");
        assert!(conversion.p_value < 1e-6, "{conversion:?}");
        let uplift = conversion.relative.expect("control converts");
        assert!((uplift.value - 0.2).abs() < 0.07, "{uplift:?}");
        assert!(uplift.interval.contains(0.2), "{uplift:?}");
        assert!(uplift.interval.low > 0.0, "{uplift:?}");
        assert!(conversion.chance_to_beat_control > 0.999);
        // Same order values, more buyers: revenue per customer rises 20% too.
        let revenue = comparison.revenue.expect("well-posed");
        assert!(revenue.significant, "{revenue:?}");
        let revenue_uplift = revenue.relative.expect("control has revenue");
        assert!(revenue_uplift.interval.contains(0.2), "{revenue_uplift:?}");
        assert!(!results.sample_ratio.expect("weights fit").mismatch);
    }

    #[test]
    fn aa_runs_give_about_five_percent_false_positives_and_no_srm() {
        const RUNS: u64 = 400;
        let (mut conversion_hits, mut revenue_hits, mut srm_flags, mut srm_below_5pct) =
            (0, 0, 0, 0);
        for run in 0..RUNS {
            // A new experiment key per run gives an independent split of the same ids.
            let arms = simulate(&format!("aa-{run}"), 4_000, [0.10, 0.10], run);
            let results = analyze(&arms, &[0.5, 0.5]);
            assert_no_nan(&results);
            let comparison = results.comparisons[0];
            conversion_hits += u32::from(comparison.conversion.expect("well-posed").significant);
            revenue_hits += u32::from(comparison.revenue.expect("well-posed").significant);
            let srm = results.sample_ratio.expect("weights fit");
            srm_flags += u32::from(srm.mismatch);
            srm_below_5pct += u32::from(srm.p_value < 0.05);
        }
        let rate = |hits: u32| f64::from(hits) / RUNS as f64;
        for (metric, hits) in [("conversion", conversion_hits), ("revenue", revenue_hits)] {
            assert!(
                (0.025..=0.08).contains(&rate(hits)),
                "{metric}: {hits} of {RUNS}"
            );
        }
        // Expected 0.4 flags in 400 healthy runs at p < 0.001.
        assert_eq!(srm_flags, 0);
        // The hash split behaves like a fair coin: SRM p-values look uniform.
        assert!(
            (0.025..=0.08).contains(&rate(srm_below_5pct)),
            "{srm_below_5pct} of {RUNS}"
        );
    }
}
