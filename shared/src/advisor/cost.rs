//! What one call costs: the tokens Converse reports in `usage`, times the configured prices.

use serde::{Deserialize, Serialize};

/// Token counts from a Converse answer's `usage`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub total_tokens: u64,
}

/// US dollars per 1,000 tokens for the configured model (Bedrock's on-demand price list), from
/// `LOADOUT_ADVISOR_PRICE_INPUT_PER_1K` and `LOADOUT_ADVISOR_PRICE_OUTPUT_PER_1K`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    pub input_per_1k: f64,
    pub output_per_1k: f64,
}

impl Prices {
    /// The cost of one call in US dollars.
    pub fn cost(&self, usage: &TokenUsage) -> f64 {
        (usage.input_tokens as f64 / 1000.0) * self.input_per_1k
            + (usage.output_tokens as f64 / 1000.0) * self.output_per_1k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_is_tokens_times_price_per_thousand() {
        let prices = Prices {
            input_per_1k: 0.003,
            output_per_1k: 0.015,
        };
        let usage = TokenUsage {
            input_tokens: 2_000,
            output_tokens: 500,
            total_tokens: 2_500,
        };
        assert!((prices.cost(&usage) - (0.006 + 0.0075)).abs() < 1e-12);
        assert_eq!(Prices::default().cost(&usage), 0.0);
    }
}
