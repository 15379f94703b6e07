//! Recall and precision of the free-text scrubber on 2,500 generated clinical notes with
//! planted identifiers. Run with `--nocapture` to see the numbers.

use medinfra_pseudo::scrub_corpus::{evaluate, generate};

#[test]
fn scrubber_recall_and_precision_on_generated_notes() {
    let notes = generate(2_500, 20_261_125);
    let report = evaluate(&notes);
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
        println!("  {kind:?}: {recalled}/{planted}");
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
