//! A trained Fellegi–Sunter model: training (u by random sampling, then m by EM sessions on
//! training rules, see [`crate::fs`]), scoring a pair, and the explanations of a pair's weight and of the model itself.

use std::collections::HashMap;

use serde::Serialize;

use crate::blocking::{BlockIndex, Sides};
use crate::compare::{Gamma, NULL_LEVEL, compare_values, level_of};
use crate::fs::{self, EmOptions, Params};
use crate::spec::{BlockingRule, ComparisonSpec, KeyPart, Level, ModelSpec};
use crate::table::Table;

/// How a model is trained.
#[derive(Debug, Clone, Copy)]
pub struct TrainOptions {
    pub em: EmOptions,
    /// Random pairs used to estimate u, which stays fixed afterwards (Splink samples 1e6).
    pub u_sample_pairs: usize,
    /// Pairs of each training rule used for EM at most (a deterministic sample of the rule's
    /// pairs): m needs thousands of matches, not the tens of millions of pairs a loose rule
    /// makes at a million records.
    pub em_sample_pairs: u64,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            em: EmOptions {
                fix_u: true,
                ..EmOptions::default()
            },
            u_sample_pairs: 1_000_000,
            em_sample_pairs: 300_000,
            seed: 1,
        }
    }
}

/// Lower bound of a term frequency used in an adjustment (a value seen once in a huge table
/// must not produce an unbounded weight).
const MIN_TF: f64 = 1e-7;

#[derive(Debug, Clone)]
pub struct TrainedModel {
    pub spec: ModelSpec,
    pub params: Params,
    /// Pairs compared for EM while training (sampled from the training rules).
    pub training_pairs: u64,
    weights: Vec<Vec<f64>>,
    prior: f64,
}

impl TrainedModel {
    /// A model with given parameters (tests, or parameters saved from an earlier run).
    pub fn from_params(spec: ModelSpec, params: Params) -> Self {
        let weights = spec
            .comparisons
            .iter()
            .enumerate()
            .map(|(c, s)| {
                (0..s.n_levels())
                    .map(|l| fs::level_weight(&params, c, l))
                    .collect()
            })
            .collect();
        let prior = fs::prior_weight(&params);
        TrainedModel {
            spec,
            params,
            training_pairs: 0,
            weights,
            prior,
        }
    }

    /// Trains on the data itself (Splink's recipe): u from random pairs, kept fixed; m by EM
    /// in one session per training rule, each leaving out the comparisons of the rule's fields,
    /// averaged over the sessions that estimated it; λ (two random records match) from the
    /// sessions' match counts divided by their rules' recall.
    pub fn train(spec: ModelSpec, sides: Sides<'_>, opts: TrainOptions) -> Self {
        let specs = &spec.comparisons;
        let u = fs::sample_u(sides, specs, opts.u_sample_pairs, opts.seed);
        let rules = if spec.training.is_empty() {
            &spec.blocking
        } else {
            &spec.training
        };
        let index = BlockIndex::build(rules, sides);
        let counts = index.count_comparisons();
        let all_pairs = sides.all_pairs().max(1) as f64;
        let one_match_per_record = sides.left.len().min(sides.right_table().len()) as f64;
        let mut m_sum: Vec<Vec<f64>> = specs.iter().map(|s| vec![0.0; s.n_levels()]).collect();
        let mut m_n = vec![0usize; specs.len()];
        let mut sessions = Vec::new();
        let mut last = (0, false);
        let mut training_pairs = 0;
        for (r, count) in counts.iter().enumerate() {
            let fields = index.rule_fields(r);
            let left_out: Vec<bool> = specs.iter().map(|c| fields.contains(&c.field)).collect();
            if left_out.iter().all(|x| *x) || count.comparisons == 0 {
                continue;
            }
            let threshold = fs::sample_threshold(opts.em_sample_pairs, count.comparisons);
            let seed = opts.seed.wrapping_add(r as u64 + 1);
            let (patterns, sampled) =
                fs::rule_pattern_counts(&index, r, sides, specs, &left_out, threshold, seed);
            if sampled == 0 {
                continue;
            }
            training_pairs += sampled;
            let init = Params {
                lambda: (one_match_per_record / count.comparisons as f64).clamp(1e-3, 0.5),
                m: fs::initial_m(specs),
                u: u.clone(),
                u_sampled: None,
                em_iterations: 0,
                converged: false,
                sessions: Vec::new(),
            };
            let p = fs::em(&patterns, specs, init, opts.em);
            let observed = observed_comparisons(&patterns, specs.len());
            for c in 0..specs.len() {
                if !left_out[c] && observed[c] {
                    m_sum[c].iter_mut().zip(&p.m[c]).for_each(|(s, x)| *s += x);
                    m_n[c] += 1;
                }
            }
            last = (p.em_iterations, p.converged);
            sessions.push(fs::Session {
                rule: count.rule.clone(),
                rule_pairs: count.comparisons,
                sampled_pairs: sampled,
                left_out: specs
                    .iter()
                    .zip(&left_out)
                    .filter(|(_, o)| **o)
                    .map(|(s, _)| s.name.to_owned())
                    .collect(),
                lambda: p.lambda,
                lambda_random: None,
                em_iterations: p.em_iterations,
                converged: p.converged,
            });
        }
        let initial = fs::initial_m(specs);
        let m: Vec<Vec<f64>> = m_sum
            .into_iter()
            .zip(&m_n)
            .zip(initial)
            .map(|((sum, &n), init)| {
                if n == 0 {
                    init
                } else {
                    sum.into_iter().map(|x| x / n as f64).collect()
                }
            })
            .collect();
        // λ from each session whose rule's recall among matches can be read off m.
        for s in &mut sessions {
            let Some(r) = rules.iter().position(|rule| rule.name == s.rule) else {
                continue;
            };
            if let Some(recall) = rule_recall(&rules[r], specs, &m) {
                let matches = s.lambda * s.rule_pairs as f64;
                s.lambda_random = Some((matches / (recall * all_pairs)).clamp(1e-12, 0.5));
            }
        }
        let estimates: Vec<f64> = sessions.iter().filter_map(|s| s.lambda_random).collect();
        let lambda = if estimates.is_empty() {
            (one_match_per_record / all_pairs).clamp(1e-12, 0.5)
        } else {
            // Geometric mean: the estimates are ratios that can differ by orders of magnitude
            // when a session went wrong; this keeps one bad session from dominating.
            (estimates.iter().map(|x| x.ln()).sum::<f64>() / estimates.len() as f64).exp()
        };
        let params = Params {
            lambda,
            m,
            u: u.clone(),
            u_sampled: Some(u),
            em_iterations: last.0,
            converged: last.1,
            sessions,
        };
        let mut model = Self::from_params(spec, params);
        model.training_pairs = training_pairs;
        model
    }

    fn tf_adjustment(&self, c: usize, level: u8, l: &Table, i: usize, r: &Table, j: usize) -> f64 {
        let spec = &self.spec.comparisons[c];
        if !spec.term_frequency || level != 0 || spec.levels.first() != Some(&Level::Exact) {
            return 0.0;
        }
        let tf_l =
            l.tf.get(spec.field)
                .and_then(|v| v.get(i))
                .copied()
                .unwrap_or(0.0);
        let tf_r =
            r.tf.get(spec.field)
                .and_then(|v| v.get(j))
                .copied()
                .unwrap_or(0.0);
        let tf = f64::from(tf_l.max(tf_r));
        if tf <= 0.0 {
            return 0.0;
        }
        // Splink's adjustment: replace u of the exact level by the value's frequency (the
        // larger of the two sides').
        let u = self.params.u[c][0].max(MIN_TF);
        (u / tf.max(MIN_TF)).log2()
    }

    /// Total weight (log2 odds) of a pair from its comparison vector.
    pub fn weight_of(&self, g: Gamma, l: &Table, i: usize, r: &Table, j: usize) -> f64 {
        let mut w = self.prior;
        for c in 0..self.spec.comparisons.len() {
            let level = level_of(g, c);
            if level != NULL_LEVEL {
                w += self.weights[c][usize::from(level)];
                w += self.tf_adjustment(c, level, l, i, r, j);
            }
        }
        w
    }

    /// (weight, match probability) of left record `i` and right record `j`.
    pub fn score(&self, l: &Table, i: usize, r: &Table, j: usize) -> (f64, f64) {
        let g = crate::compare::gamma(&self.spec.comparisons, l, i, r, j);
        let w = self.weight_of(g, l, i, r, j);
        (w, fs::probability(w))
    }

    /// The weight of a pair broken down by comparison, in waterfall order (prior first).
    pub fn explain(&self, l: &Table, i: usize, r: &Table, j: usize) -> PairExplanation {
        let mut steps = vec![WaterfallStep {
            comparison: "prior".into(),
            level: "λ".into(),
            m: None,
            u: None,
            weight: self.prior,
            tf_adjustment: 0.0,
            cumulative: self.prior,
        }];
        let mut total = self.prior;
        for (c, spec) in self.spec.comparisons.iter().enumerate() {
            let level = compare_values(spec, l.value(spec.field, i), r.value(spec.field, j));
            let (label, m, u, weight, tf) = match level {
                None => ("null".to_owned(), None, None, 0.0, 0.0),
                Some(lv) => {
                    let li = usize::from(lv);
                    (
                        spec.level_label(li),
                        Some(self.params.m[c][li]),
                        Some(self.params.u[c][li]),
                        self.weights[c][li],
                        self.tf_adjustment(c, lv, l, i, r, j),
                    )
                }
            };
            total += weight + tf;
            steps.push(WaterfallStep {
                comparison: spec.name.to_owned(),
                level: label,
                m,
                u,
                weight,
                tf_adjustment: tf,
                cumulative: total,
            });
        }
        PairExplanation {
            rec_id_l: l.id(i).to_owned(),
            rec_id_r: r.id(j).to_owned(),
            steps,
            match_weight: total,
            match_probability: fs::probability(total),
        }
    }

    /// The m/u tables and level weights, for the model report.
    pub fn tables(&self) -> ModelTables {
        ModelTables {
            model: self.spec.name.to_owned(),
            lambda: self.params.lambda,
            prior_weight: self.prior,
            em_iterations: self.params.em_iterations,
            em_converged: self.params.converged,
            training_sessions: self.params.sessions.clone(),
            comparisons: self
                .spec
                .comparisons
                .iter()
                .enumerate()
                .map(|(c, spec)| comparison_table(spec, c, &self.params, &self.weights[c]))
                .collect(),
        }
    }
}

/// Which comparisons have a non-null level in some pattern.
fn observed_comparisons(patterns: &HashMap<Gamma, u64>, n: usize) -> Vec<bool> {
    let mut seen = vec![false; n];
    for g in patterns.keys() {
        for (c, s) in seen.iter_mut().enumerate() {
            *s |= level_of(*g, c) != NULL_LEVEL;
        }
    }
    seen
}

/// P(a matching pair is in the rule's blocks): the product of m(exact) of the comparisons on
/// the rule's fields, when every part is a whole field compared with an exact first level.
fn rule_recall(rule: &BlockingRule, specs: &[ComparisonSpec], m: &[Vec<f64>]) -> Option<f64> {
    let mut recall = 1.0;
    for part in &rule.parts {
        let KeyPart::Field { field } = *part else {
            return None;
        };
        let c = specs
            .iter()
            .position(|s| s.field == field && s.levels.first() == Some(&Level::Exact))?;
        recall *= m.get(c)?.first()?;
    }
    (recall > 0.0).then_some(recall)
}

fn comparison_table(spec: &ComparisonSpec, c: usize, p: &Params, w: &[f64]) -> ComparisonTable {
    ComparisonTable {
        comparison: spec.name.to_owned(),
        term_frequency: spec.term_frequency,
        levels: (0..spec.n_levels())
            .map(|l| LevelTable {
                level: spec.level_label(l),
                m: p.m[c][l],
                u: p.u[c][l],
                u_sampled: p.u_sampled.as_ref().map(|u| u[c][l]),
                weight: w[l],
                bayes_factor: w[l].exp2(),
            })
            .collect(),
    }
}

/// One bar of a waterfall chart: a comparison's contribution to the pair's weight.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WaterfallStep {
    pub comparison: String,
    pub level: String,
    pub m: Option<f64>,
    pub u: Option<f64>,
    /// log2(m/u) of the level (the prior's log2 odds for the first step).
    pub weight: f64,
    /// Term-frequency adjustment added on top of `weight`.
    pub tf_adjustment: f64,
    /// Running total after this step.
    pub cumulative: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairExplanation {
    pub rec_id_l: String,
    pub rec_id_r: String,
    pub steps: Vec<WaterfallStep>,
    pub match_weight: f64,
    pub match_probability: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LevelTable {
    pub level: String,
    pub m: f64,
    pub u: f64,
    pub u_sampled: Option<f64>,
    pub weight: f64,
    pub bayes_factor: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ComparisonTable {
    pub comparison: String,
    pub term_frequency: bool,
    pub levels: Vec<LevelTable>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelTables {
    pub model: String,
    pub lambda: f64,
    pub prior_weight: f64,
    pub em_iterations: usize,
    pub em_converged: bool,
    /// The EM training sessions (rule, pairs, λ within the rule and implied for random pairs).
    pub training_sessions: Vec<fs::Session>,
    pub comparisons: Vec<ComparisonTable>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{FieldSpec, Normalizer};

    fn tiny_model() -> TrainedModel {
        let spec = ModelSpec {
            name: "t",
            id_column: "id",
            fields: vec![FieldSpec {
                name: "a",
                sources: vec!["a"],
                normalizer: Normalizer::Plain,
            }],
            comparisons: vec![ComparisonSpec {
                name: "a",
                field: 0,
                levels: vec![Level::Exact],
                term_frequency: true,
            }],
            blocking: vec![],
            training: vec![],
        };
        let params = Params {
            lambda: 0.01,
            m: vec![vec![0.9, 0.1]],
            u: vec![vec![0.01, 0.99]],
            u_sampled: None,
            em_iterations: 0,
            converged: true,
            sessions: vec![],
        };
        TrainedModel::from_params(spec, params)
    }

    #[test]
    fn explanation_sums_to_the_score_and_tf_lowers_common_values() {
        let model = tiny_model();
        let mut t = Table::new(1);
        t.push("x", &["sato"]);
        t.push("y", &["sato"]);
        t.push("z", &["kudo"]);
        t.tf[0] = vec![0.5, 0.5, 0.001];
        let e = model.explain(&t, 0, &t, 1);
        let (w, p) = model.score(&t, 0, &t, 1);
        assert!((e.match_weight - w).abs() < 1e-9);
        assert!((e.match_probability - p).abs() < 1e-12);
        assert_eq!(e.steps.len(), 2);
        assert!((e.steps[1].cumulative - w).abs() < 1e-9);
        assert!(
            e.steps[1].tf_adjustment < 0.0,
            "common value must weigh less"
        );
        // Rare value: positive adjustment.
        let mut t2 = t.clone();
        t2.push("w", &["kudo"]);
        t2.tf[0].push(0.001);
        let rare = model.explain(&t2, 2, &t2, 3);
        assert!(rare.steps[1].tf_adjustment > 0.0);
        assert!(
            serde_json::to_string(&e)
                .unwrap()
                .contains("\"cumulative\"")
        );
        let tables = model.tables();
        assert_eq!(tables.comparisons[0].levels.len(), 2);
        assert!((tables.comparisons[0].levels[0].weight - 90f64.log2()).abs() < 1e-9);
    }
}
