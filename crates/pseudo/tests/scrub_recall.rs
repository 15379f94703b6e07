//! Recall and precision of the free-text scrubber on 2,500 generated clinical notes with
//! planted identifiers (own names and numbers, other people's names, addresses, phones,
//! postcodes, birth dates) and clinical text that must survive. Recall must be ≥ 0.99 for every
//! kind; precision is printed per kind of finding (a finding is true when it overlaps any
//! planted identifier). Run with `--nocapture` to see the numbers and the first misses.

use medinfra_pseudo::scrub::find_identifiers;
use medinfra_pseudo::scrub_corpus::{PlantedNote, evaluate, generate};

/// Prints up to `limit` missed planted identifiers and false findings (synthetic data only), so
/// a failing run shows what to fix.
fn print_errors(notes: &[PlantedNote], limit: usize) {
    let (mut misses, mut false_findings) = (0, 0);
    for note in notes {
        let found = find_identifiers(&note.text, &note.person);
        for &(kind, s, e) in &note.planted {
            let covered = (s..e).all(|b| found.iter().any(|f| f.start <= b && b < f.end));
            if !covered && misses < limit {
                misses += 1;
                println!("  missed {kind:?} {:?} in {}", &note.text[s..e], note.text);
            }
        }
        for f in &found {
            let hit = note
                .planted
                .iter()
                .any(|&(_, s, e)| f.start < e && s < f.end);
            if !hit && false_findings < limit {
                false_findings += 1;
                println!(
                    "  false {:?} {:?} in {}",
                    f.kind,
                    &note.text[f.start..f.end],
                    note.text
                );
            }
        }
    }
}

#[test]
fn scrubber_recall_and_precision_on_generated_notes() {
    let notes = generate(2_500, 20_261_125);
    let report = evaluate(&notes);
    print_errors(&notes, 12);
    println!(
        "notes {} planted {} recalled {} recall {:.4} | findings {} true {} precision {:.4} byte-precision {:.4}",
        report.notes,
        report.planted,
        report.recalled,
        report.recall(),
        report.findings,
        report.true_findings,
        report.precision(),
        report.byte_precision()
    );
    for (kind, planted, recalled) in &report.per_kind {
        let (findings, true_findings) = report
            .per_kind_findings
            .iter()
            .find(|k| k.0 == *kind)
            .map_or((0, 0), |k| (k.1, k.2));
        let precision = if findings == 0 {
            1.0
        } else {
            true_findings as f64 / findings as f64
        };
        println!(
            "  {kind:?}: recall {recalled}/{planted} = {:.4} | precision {true_findings}/{findings} = {precision:.4}",
            *recalled as f64 / (*planted).max(1) as f64
        );
        assert!(
            *recalled as f64 >= 0.99 * *planted as f64,
            "{kind:?} recall {recalled}/{planted}"
        );
        assert!(*planted >= 200, "{kind:?}: too few planted ({planted})");
    }
    assert_eq!(report.notes, 2_500);
    assert!(
        report.planted >= 5_000,
        "too few planted: {}",
        report.planted
    );
    assert!(report.recall() >= 0.99, "recall {:.4}", report.recall());
    assert!(
        report.precision() >= 0.95,
        "precision {:.4}",
        report.precision()
    );
}
