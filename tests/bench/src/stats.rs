//! Medians and percentiles of what was measured.

use std::collections::BTreeMap;

/// Measurements grouped by what they measure (an operation, a function).
#[derive(Debug)]
pub struct Samples<T> {
    by: BTreeMap<String, Vec<T>>,
}

impl<T> Default for Samples<T> {
    fn default() -> Self {
        Samples { by: BTreeMap::new() }
    }
}

impl<T: Clone> Samples<T> {
    pub fn add(&mut self, name: &str, sample: T) {
        self.by.entry(name.to_string()).or_default().push(sample);
    }

    /// The median of one figure of each group's samples.
    pub fn medians(&self, figure: impl Fn(&T) -> f64) -> BTreeMap<String, f64> {
        self.by.iter().map(|(name, samples)| (name.clone(), median(samples.iter().map(&figure).collect()))).collect()
    }

    /// Each group's sample whose figure lies nearest the group's median: a typical one.
    pub fn typical(&self, figure: impl Fn(&T) -> f64) -> BTreeMap<String, T> {
        let pick = |samples: &Vec<T>| {
            let middle = median(samples.iter().map(&figure).collect());
            samples.iter().min_by(|a, b| (figure(a) - middle).abs().total_cmp(&(figure(b) - middle).abs())).cloned()
        };
        self.by.iter().filter_map(|(name, samples)| Some((name.clone(), pick(samples)?))).collect()
    }
}

/// The middle value (the mean of the two middle ones for an even count); 0 for none.
pub fn median(values: Vec<f64>) -> f64 {
    percentile(values, 50.0)
}

/// The p-th percentile, interpolated between the two nearest ranks; 0 for no values.
pub fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = (p / 100.0) * (values.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    values[low] + (values[high] - values[low]) * (rank - low as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![]), 0.0);
    }

    #[test]
    fn a_typical_sample_is_the_one_at_the_median() {
        let mut samples = Samples::default();
        for (trips, calls) in [(4, "a"), (9, "b"), (4, "c"), (5, "d"), (1, "e")] {
            samples.add("op", (trips, calls));
        }
        assert_eq!(samples.typical(|s| f64::from(s.0))["op"], (4, "a"));
    }

    #[test]
    fn the_99th_percentile_sits_near_the_top() {
        let values: Vec<f64> = (1..=101).map(f64::from).collect();
        assert_eq!(percentile(values.clone(), 99.0), 100.0);
        assert_eq!(percentile(values, 0.0), 1.0);
    }
}
