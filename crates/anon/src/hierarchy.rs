//! Generalization hierarchies: ARX's CSV format, builders, and dictionary encoding.
//!
//! A hierarchy has one row per original value (level 0) and one column per generalization
//! level `1..=height`; the last level is usually `*`. Each level has its own dictionary of
//! labels, so the same label on two levels never conflates. For every level `L` the
//! hierarchy stores the map `code at level 0 -> code at level L`, which turns evaluating a
//! transformation into integer look-ups.
//!
//! A hierarchy must be a tree: two values that share a label at level `L` must share their
//! labels at every level above `L`. Loading rejects hierarchies that violate this, because
//! both the privacy-model monotonicity used by the search and ARX's Loss metric assume it.
//!
//! Domain share (used by ARX's Loss metric): the share of a label at level `L` is the number
//! of hierarchy rows carrying that label at level `L`, divided by the number of rows.

use std::collections::HashMap;
use std::path::Path;

use crate::error::AnonError;

/// A generalization hierarchy for one attribute.
#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// level -> label dictionary.
    labels: Vec<Vec<String>>,
    /// level -> (level-0 code -> code at that level).
    maps: Vec<Vec<u32>>,
    /// level -> (code at that level -> number of level-0 values below it).
    leaf_counts: Vec<Vec<u32>>,
    /// original value -> level-0 code.
    index: HashMap<String, u32>,
}

impl Hierarchy {
    /// Builds a hierarchy from rows (`row[0]` = original value, `row[i]` = label at level `i`).
    /// `source_name` is used in error messages; line numbers are row positions (1-based).
    pub fn from_rows(rows: &[Vec<String>], source_name: &str) -> Result<Self, AnonError> {
        let lines: Vec<usize> = (1..=rows.len()).collect();
        Self::from_rows_with_lines(rows, &lines, source_name)
    }

    fn from_rows_with_lines(
        rows: &[Vec<String>],
        lines: &[usize],
        source_name: &str,
    ) -> Result<Self, AnonError> {
        let err = |line: usize, reason: String| AnonError::Hierarchy {
            source_name: source_name.to_string(),
            line,
            reason,
        };
        let Some(first) = rows.first() else {
            return Err(err(0, "hierarchy has no rows".into()));
        };
        let width = first.len();
        if width == 0 {
            return Err(err(lines[0], "row has no columns".into()));
        }
        let mut labels: Vec<Vec<String>> = vec![Vec::new(); width];
        let mut dicts: Vec<HashMap<&str, u32>> = vec![HashMap::new(); width];
        let mut maps: Vec<Vec<u32>> = vec![Vec::with_capacity(rows.len()); width];
        for (row, &line) in rows.iter().zip(lines) {
            if row.len() != width {
                return Err(err(
                    line,
                    format!(
                        "ragged row: {} columns, expected {width} (as on line {})",
                        row.len(),
                        lines[0]
                    ),
                ));
            }
            if dicts[0].contains_key(row[0].as_str()) {
                return Err(err(
                    line,
                    "duplicate original value in column 0".to_string(),
                ));
            }
            for (level, label) in row.iter().enumerate() {
                let next = labels[level].len() as u32;
                let code = *dicts[level].entry(label.as_str()).or_insert(next);
                if code == next {
                    labels[level].push(label.clone());
                }
                maps[level].push(code);
            }
        }
        // Tree check: the map from level L codes to level L+1 codes must be a function.
        for level in 0..width.saturating_sub(1) {
            let mut parent: Vec<u32> = vec![u32::MAX; labels[level].len()];
            for (i, &line) in lines.iter().enumerate() {
                let (c, p) = (maps[level][i], maps[level + 1][i]);
                if parent[c as usize] == u32::MAX {
                    parent[c as usize] = p;
                } else if parent[c as usize] != p {
                    return Err(err(
                        line,
                        format!(
                            "not a tree: a label of level {level} generalizes to two different labels on level {}",
                            level + 1
                        ),
                    ));
                }
            }
        }
        let leaf_counts = maps
            .iter()
            .zip(&labels)
            .map(|(map, lab)| {
                let mut counts = vec![0u32; lab.len()];
                for &c in map {
                    counts[c as usize] += 1;
                }
                counts
            })
            .collect();
        let index = labels[0]
            .iter()
            .enumerate()
            .map(|(i, v)| (v.clone(), i as u32))
            .collect();
        Ok(Self {
            labels,
            maps,
            leaf_counts,
            index,
        })
    }

    /// Parses ARX's hierarchy CSV text: `;`-separated, no header, no quoting. Blank lines
    /// are skipped; a trailing `\r` is removed. Split by hand rather than with the csv
    /// crate: the format has no quoting, and this keeps exact file line numbers for errors.
    pub fn from_csv_str(text: &str, source_name: &str) -> Result<Self, AnonError> {
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() {
                continue;
            }
            rows.push(line.split(';').map(str::to_string).collect::<Vec<_>>());
            lines.push(i + 1);
        }
        Self::from_rows_with_lines(&rows, &lines, source_name)
    }

    /// Loads an ARX hierarchy CSV file.
    pub fn from_csv_path(path: impl AsRef<Path>) -> Result<Self, AnonError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| AnonError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Self::from_csv_str(&text, &name)
    }

    /// Number of generalization levels above the original values.
    pub fn height(&self) -> usize {
        self.labels.len() - 1
    }

    /// Number of original values (hierarchy rows).
    pub fn domain_size(&self) -> usize {
        self.labels[0].len()
    }

    /// Number of distinct labels on `level`.
    pub fn level_size(&self, level: usize) -> usize {
        self.labels[level].len()
    }

    /// Level-0 code of an original value.
    pub fn code(&self, value: &str) -> Option<u32> {
        self.index.get(value).copied()
    }

    /// Code at `level` of the level-0 code `code0`.
    pub fn generalize(&self, code0: u32, level: usize) -> u32 {
        self.maps[level][code0 as usize]
    }

    /// The whole level-0 -> level map (for tight loops).
    pub fn level_map(&self, level: usize) -> &[u32] {
        &self.maps[level]
    }

    /// Label of `code` on `level`.
    pub fn label(&self, level: usize, code: u32) -> &str {
        &self.labels[level][code as usize]
    }

    /// Number of original values below `code` on `level`.
    pub fn leaf_count(&self, level: usize, code: u32) -> u32 {
        self.leaf_counts[level][code as usize]
    }

    /// ARX domain share of `code` on `level`: leaves below it / domain size.
    pub fn share(&self, level: usize, code: u32) -> f64 {
        f64::from(self.leaf_count(level, code)) / self.domain_size() as f64
    }

    /// Rows in ARX CSV form (value, level 1, ..., level h).
    pub fn to_rows(&self) -> Vec<Vec<String>> {
        (0..self.domain_size() as u32)
            .map(|c| {
                (0..=self.height())
                    .map(|l| self.label(l, self.generalize(c, l)).to_string())
                    .collect()
            })
            .collect()
    }

    // ---------------------------------------------------------------- builders

    /// Numeric intervals (age bands): every integer in `min..=max` is a value; level `i`
    /// groups values into half-open intervals `[a, a+widths[i-1][` aligned at multiples of the
    /// width; a final `*` level is added. Each width must be a multiple of the previous one
    /// so that the result is a tree.
    pub fn intervals(min: i64, max: i64, widths: &[i64]) -> Result<Self, AnonError> {
        let name = "intervals";
        if min > max {
            return Err(cfg_err(name, "min > max"));
        }
        if max - min > 10_000_000 {
            return Err(cfg_err(name, "domain larger than 10,000,000 values"));
        }
        for (i, &w) in widths.iter().enumerate() {
            if w <= 0 || (i > 0 && w % widths[i - 1] != 0) {
                return Err(cfg_err(
                    name,
                    "widths must be positive and each a multiple of the previous",
                ));
            }
        }
        let rows: Vec<Vec<String>> = (min..=max)
            .map(|v| {
                let mut row = vec![v.to_string()];
                for &w in widths {
                    let lo = v.div_euclid(w) * w;
                    row.push(format!("[{lo}, {}[", lo + w));
                }
                row.push("*".into());
                row
            })
            .collect();
        Self::from_rows(&rows, name)
    }

    /// Dates `YYYY-MM-DD`: day -> month (`YYYY-MM`) -> quarter (`YYYY-Qn`) -> year -> `*`.
    pub fn dates<S: AsRef<str>>(dates: &[S]) -> Result<Self, AnonError> {
        let mut rows = Vec::with_capacity(dates.len());
        let mut seen = std::collections::HashSet::new();
        for (i, d) in dates.iter().enumerate() {
            let d = d.as_ref();
            if !seen.insert(d.to_string()) {
                continue;
            }
            let b = d.as_bytes();
            let ok = b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(j, c)| j == 4 || j == 7 || c.is_ascii_digit());
            let month: u32 = if ok { d[5..7].parse().unwrap_or(0) } else { 0 };
            let day: u32 = if ok { d[8..10].parse().unwrap_or(0) } else { 0 };
            if !ok || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
                return Err(AnonError::Hierarchy {
                    source_name: "dates".into(),
                    line: i + 1,
                    reason: "not a date in YYYY-MM-DD form".into(),
                });
            }
            let year = &d[0..4];
            rows.push(vec![
                d.to_string(),
                d[0..7].to_string(),
                format!("{year}-Q{}", (month - 1) / 3 + 1),
                year.to_string(),
                "*".into(),
            ]);
        }
        Self::from_rows(&rows, "dates")
    }

    /// Masking of codes from the right (postcodes): level `i` (for `i = 1..=levels`) replaces
    /// the last `i` characters by `*`; a final `*` level follows.
    /// Example with `levels = 2`: `81667 -> 8166* -> 816** -> *`.
    pub fn masking<S: AsRef<str>>(values: &[S], levels: usize) -> Result<Self, AnonError> {
        let rows: Vec<Vec<String>> = dedup(values)
            .into_iter()
            .map(|v| {
                let chars: Vec<char> = v.chars().collect();
                let mut row = vec![v.clone()];
                for i in 1..=levels {
                    let keep = chars.len().saturating_sub(i);
                    let mut s: String = chars[..keep].iter().collect();
                    s.extend(std::iter::repeat_n('*', chars.len() - keep));
                    row.push(s);
                }
                row.push("*".into());
                row
            })
            .collect();
        Self::from_rows(&rows, "masking")
    }

    /// Prefix truncation of codes (ICD-10 full -> 3-character -> `*`): level `i` keeps the
    /// first `lengths[i-1]` characters; lengths must be strictly decreasing.
    pub fn prefixes<S: AsRef<str>>(values: &[S], lengths: &[usize]) -> Result<Self, AnonError> {
        if lengths.windows(2).any(|w| w[1] >= w[0]) {
            return Err(cfg_err("prefixes", "lengths must be strictly decreasing"));
        }
        let rows: Vec<Vec<String>> = dedup(values)
            .into_iter()
            .map(|v| {
                let mut row = vec![v.clone()];
                for &len in lengths {
                    row.push(v.chars().take(len).collect());
                }
                row.push("*".into());
                row
            })
            .collect();
        Self::from_rows(&rows, "prefixes")
    }

    /// Ordered categories: level `i` groups runs of `group_sizes[i-1]` adjacent categories
    /// (label `first..last`); each size must be a multiple of the previous one.
    pub fn ordered<S: AsRef<str>>(order: &[S], group_sizes: &[usize]) -> Result<Self, AnonError> {
        for (i, &g) in group_sizes.iter().enumerate() {
            if g == 0 || (i > 0 && g % group_sizes[i - 1] != 0) {
                return Err(cfg_err(
                    "ordered",
                    "group sizes must be positive and each a multiple of the previous",
                ));
            }
        }
        let values = dedup(order);
        let rows: Vec<Vec<String>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let mut row = vec![v.clone()];
                for &g in group_sizes {
                    let start = i / g * g;
                    let end = (start + g).min(values.len()) - 1;
                    row.push(format!("{}..{}", values[start], values[end]));
                }
                row.push("*".into());
                row
            })
            .collect();
        Self::from_rows(&rows, "ordered")
    }
}

fn cfg_err(name: &str, reason: &str) -> AnonError {
    AnonError::Hierarchy {
        source_name: name.into(),
        line: 0,
        reason: reason.into(),
    }
}

fn dedup<S: AsRef<str>>(values: &[S]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    values
        .iter()
        .map(|v| v.as_ref().to_string())
        .filter(|v| seen.insert(v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_generalizes() {
        let h = Hierarchy::from_csv_str("a;x;*\nb;x;*\nc;y;*\n", "t.csv").unwrap();
        assert_eq!(h.height(), 2);
        assert_eq!(h.domain_size(), 3);
        let b = h.code("b").unwrap();
        assert_eq!(h.label(1, h.generalize(b, 1)), "x");
        assert_eq!(h.label(2, h.generalize(b, 2)), "*");
        assert!((h.share(1, h.generalize(b, 1)) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(h.leaf_count(2, 0), 3);
    }

    #[test]
    fn ragged_row_names_file_and_line() {
        let e = Hierarchy::from_csv_str("a;x;*\n\nb;*\n", "h.csv").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("h.csv"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("ragged"), "{msg}");
    }

    #[test]
    fn rejects_non_tree_and_duplicates() {
        let e = Hierarchy::from_csv_str("a;x;p\nb;x;q\n", "h.csv").unwrap_err();
        assert!(e.to_string().contains("not a tree"));
        let e = Hierarchy::from_csv_str("a;x\na;x\n", "h.csv").unwrap_err();
        assert!(e.to_string().contains("line 2"));
        assert!(Hierarchy::from_csv_str("\n\n", "h.csv").is_err());
    }

    #[test]
    fn builders() {
        let h = Hierarchy::intervals(0, 99, &[5, 10, 20]).unwrap();
        assert_eq!(h.height(), 4);
        let c = h.code("37").unwrap();
        assert_eq!(h.label(1, h.generalize(c, 1)), "[35, 40[");
        assert_eq!(h.label(3, h.generalize(c, 3)), "[20, 40[");
        assert!(Hierarchy::intervals(0, 9, &[5, 7]).is_err());

        let d = Hierarchy::dates(&["2024-05-17", "2024-11-02", "2024-05-17"]).unwrap();
        assert_eq!(d.domain_size(), 2);
        let c = d.code("2024-11-02").unwrap();
        assert_eq!(d.label(1, d.generalize(c, 1)), "2024-11");
        assert_eq!(d.label(2, d.generalize(c, 2)), "2024-Q4");
        assert_eq!(d.label(3, d.generalize(c, 3)), "2024");
        assert!(Hierarchy::dates(&["2024-13-01"]).is_err());

        let m = Hierarchy::masking(&["81667", "81675"], 2).unwrap();
        let c = m.code("81675").unwrap();
        assert_eq!(m.label(2, m.generalize(c, 2)), "816**");
        assert_eq!(m.height(), 3);

        let p = Hierarchy::prefixes(&["I10.0", "I10.9", "E11.2"], &[3]).unwrap();
        let c = p.code("I10.9").unwrap();
        assert_eq!(p.label(1, p.generalize(c, 1)), "I10");
        assert_eq!(p.leaf_count(1, p.generalize(c, 1)), 2);

        let o = Hierarchy::ordered(&["low", "mid", "high", "top"], &[2]).unwrap();
        let c = o.code("high").unwrap();
        assert_eq!(o.label(1, o.generalize(c, 1)), "high..top");
    }

    #[test]
    fn loads_arx_adult_age() {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/arx/adult_hierarchy_age.csv"
        );
        let h = Hierarchy::from_csv_path(p).unwrap();
        assert_eq!(h.height(), 4);
        let rows = h.to_rows();
        assert_eq!(rows.len(), h.domain_size());
        assert_eq!(rows[0].last().map(String::as_str), Some("*"));
    }
}
