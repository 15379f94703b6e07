//! Dictionary encoding of the input for the search.
//!
//! Records with identical quasi-identifier values (and identical sensitive value, when a
//! model needs it) are collapsed into one *entry* with a count. For every quasi-identifier
//! and level, the values present in the data are renumbered densely (`0..radix`), so the
//! key of a generalized tuple is a mixed-radix number that fits a `u64`; evaluating a
//! transformation is then `qi` table look-ups per entry plus one hash insert.

use std::collections::HashMap;

use crate::error::AnonError;
use crate::hierarchy::Hierarchy;
use crate::table::Table;

/// Per quasi-identifier look-up tables.
#[derive(Debug)]
pub(crate) struct QiInfo {
    pub height: usize,
    /// level -> (hierarchy level-0 code -> dense code of its generalization at that level).
    pub dense: Vec<Vec<u32>>,
    /// level -> number of dense codes (distinct generalized values present in the data).
    pub radix: Vec<u64>,
    /// level -> dense code -> hierarchy code at that level.
    pub dense_to_hier: Vec<Vec<u32>>,
    /// level -> dense code -> number of records carrying it.
    pub freq: Vec<Vec<u64>>,
    /// level -> dense code -> ARX domain share.
    pub share: Vec<Vec<f64>>,
    /// Hierarchy domain size (ARX Loss normalization).
    pub domain_size: usize,
}

/// The collapsed input.
#[derive(Debug)]
pub(crate) struct Encoded {
    pub n: u64,
    /// `[qi][entry]` hierarchy level-0 code.
    pub codes: Vec<Vec<u32>>,
    pub counts: Vec<u32>,
    /// `[entry]` sensitive column code (0 when no model needs it).
    pub sens: Vec<u32>,
    /// `[row]` entry of each record.
    pub row_entry: Vec<u32>,
    pub qi: Vec<QiInfo>,
    /// Sensitive column dictionary and frequencies (empty without a sensitive attribute).
    pub sens_values: Vec<String>,
    pub sens_freq: Vec<u64>,
}

impl Encoded {
    pub fn entries(&self) -> usize {
        self.counts.len()
    }

    pub fn heights(&self) -> Vec<usize> {
        self.qi.iter().map(|q| q.height).collect()
    }

    pub fn new(
        table: &Table,
        qis: &[(String, Hierarchy)],
        sensitive: Option<&str>,
    ) -> Result<Self, AnonError> {
        let n = table.len();
        if u32::try_from(n).is_err() {
            return Err(AnonError::Config("more than 4,294,967,295 records".into()));
        }
        // column code -> hierarchy code, per QI
        let mut col_maps = Vec::with_capacity(qis.len());
        for (name, h) in qis {
            let col = table.column(name).ok_or_else(|| {
                AnonError::Config(format!("quasi-identifier {name} is not a column"))
            })?;
            let mut map = Vec::with_capacity(col.dictionary().len());
            for (code, v) in col.dictionary().iter().enumerate() {
                match h.code(v) {
                    Some(c) => map.push(c),
                    None => {
                        let row = col
                            .codes()
                            .iter()
                            .position(|&c| c as usize == code)
                            .unwrap_or(0);
                        return Err(AnonError::ValueNotInHierarchy {
                            attribute: name.clone(),
                            line: row + 2,
                            value_len: v.chars().count(),
                        });
                    }
                }
            }
            col_maps.push((col, map));
        }
        let sens_col = match sensitive {
            Some(s) => Some(table.column(s).ok_or_else(|| {
                AnonError::Config(format!("sensitive attribute {s} is not a column"))
            })?),
            None => None,
        };

        // Dense level-0 codes for the grouping key.
        let mut dense0: Vec<Vec<u32>> = Vec::with_capacity(qis.len());
        let mut radix0: Vec<u64> = Vec::with_capacity(qis.len());
        for ((_, h), (col, map)) in qis.iter().zip(&col_maps) {
            let mut d = vec![u32::MAX; h.domain_size()];
            let mut next = 0u32;
            for &c in col.codes() {
                let hc = map[c as usize] as usize;
                if d[hc] == u32::MAX {
                    d[hc] = next;
                    next += 1;
                }
            }
            dense0.push(d);
            radix0.push(u64::from(next));
        }
        let sens_radix = sens_col.map_or(1, |c| c.dictionary().len() as u64);
        let mut space: u64 = sens_radix.max(1);
        for &r in &radix0 {
            space = space.checked_mul(r.max(1)).ok_or_else(|| {
                AnonError::Config(
                    "too many distinct quasi-identifier combinations for 64-bit keys".into(),
                )
            })?;
        }
        if space == u64::MAX {
            return Err(AnonError::Config(
                "too many distinct quasi-identifier combinations for 64-bit keys".into(),
            ));
        }

        // Collapse records into entries (first-appearance order: deterministic).
        let mut lookup: HashMap<u64, u32> = HashMap::new();
        let mut codes: Vec<Vec<u32>> = vec![Vec::new(); qis.len()];
        let mut counts: Vec<u32> = Vec::new();
        let mut sens: Vec<u32> = Vec::new();
        let mut row_entry: Vec<u32> = Vec::with_capacity(n);
        for row in 0..n {
            let mut key = 0u64;
            for (a, (col, map)) in col_maps.iter().enumerate() {
                let hc = map[col.codes()[row] as usize];
                key = key * radix0[a] + u64::from(dense0[a][hc as usize]);
            }
            let s = sens_col.map_or(0, |c| c.codes()[row]);
            key = key * sens_radix + u64::from(s);
            let next = counts.len() as u32;
            let e = *lookup.entry(key).or_insert(next);
            if e == next {
                for (a, (col, map)) in col_maps.iter().enumerate() {
                    codes[a].push(map[col.codes()[row] as usize]);
                }
                counts.push(0);
                sens.push(s);
            }
            counts[e as usize] += 1;
            row_entry.push(e);
        }

        // Per-level dense tables.
        let mut qi = Vec::with_capacity(qis.len());
        for (a, (_, h)) in qis.iter().enumerate() {
            let mut dense = Vec::with_capacity(h.height() + 1);
            let mut radix = Vec::with_capacity(h.height() + 1);
            let mut dense_to_hier = Vec::with_capacity(h.height() + 1);
            let mut freq = Vec::with_capacity(h.height() + 1);
            let mut share = Vec::with_capacity(h.height() + 1);
            for level in 0..=h.height() {
                let map = h.level_map(level);
                let mut hier_to_dense = vec![u32::MAX; h.level_size(level)];
                let mut d = vec![u32::MAX; h.domain_size()];
                let mut d2h = Vec::new();
                let mut f = Vec::new();
                for (e, &c0) in codes[a].iter().enumerate() {
                    let hc = map[c0 as usize];
                    if hier_to_dense[hc as usize] == u32::MAX {
                        hier_to_dense[hc as usize] = d2h.len() as u32;
                        d2h.push(hc);
                        f.push(0u64);
                    }
                    let dc = hier_to_dense[hc as usize];
                    d[c0 as usize] = dc;
                    f[dc as usize] += u64::from(counts[e]);
                }
                share.push(d2h.iter().map(|&hc| h.share(level, hc)).collect());
                radix.push(d2h.len() as u64);
                dense.push(d);
                dense_to_hier.push(d2h);
                freq.push(f);
            }
            qi.push(QiInfo {
                height: h.height(),
                dense,
                radix,
                dense_to_hier,
                freq,
                share,
                domain_size: h.domain_size(),
            });
        }

        let (sens_values, sens_freq) = match sens_col {
            Some(c) => {
                let mut f = vec![0u64; c.dictionary().len()];
                for &s in c.codes() {
                    f[s as usize] += 1;
                }
                (c.dictionary().to_vec(), f)
            }
            None => (Vec::new(), Vec::new()),
        };
        Ok(Self {
            n: n as u64,
            codes,
            counts,
            sens,
            row_entry,
            qi,
            sens_values,
            sens_freq,
        })
    }
}
