//! Helpers for segmenter scores, which the host expects in 0–1.

/// `part / whole`, clamped to 0–1: how far a customer has come towards a
/// threshold. A `whole` of zero or less counts as reached (1).
#[inline]
pub fn fraction(part: f64, whole: f64) -> f32 {
    if whole <= 0.0 {
        return 1.0;
    }
    (part / whole).clamp(0.0, 1.0) as f32
}

#[cfg(test)]
mod tests {
    use super::fraction;

    #[test]
    fn clamps_to_unit_interval() {
        assert_eq!(fraction(-5.0, 10.0), 0.0);
        assert_eq!(fraction(5.0, 10.0), 0.5);
        assert_eq!(fraction(50.0, 10.0), 1.0);
        assert_eq!(fraction(3.0, 0.0), 1.0);
    }
}
