//! `japan-person` on synthetic records with the identity noise of `formats/japan.md` §1.2:
//! half-width kana, spacing, era dates, kana typos, surname changes, insurer changes.

use std::fmt::Write as _;

use medinfra_link::{LinkRequest, run_csv};

const FAMILY: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
];
const GIVEN: &[(&str, &str)] = &[
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("一郎", "イチロウ"),
    ("裕子", "ユウコ"),
    ("健", "ケン"),
    ("美咲", "ミサキ"),
    ("翔太", "ショウタ"),
    ("陽子", "ヨウコ"),
    ("大輔", "ダイスケ"),
    ("真由美", "マユミ"),
    ("誠", "マコト"),
    ("恵", "メグミ"),
];

/// Syllables of made-up given names: (kanji, kana), all with a half-width form below.
const SYLLABLES: &[(&str, &str)] = &[
    ("一", "サ"),
    ("二", "ト"),
    ("三", "ス"),
    ("四", "キ"),
    ("五", "タ"),
    ("六", "カ"),
    ("七", "ハ"),
    ("八", "シ"),
    ("九", "ナ"),
    ("十", "イ"),
    ("春", "ワ"),
    ("夏", "ヤ"),
    ("秋", "マ"),
    ("冬", "モ"),
    ("花", "ム"),
    ("月", "ラ"),
    ("星", "コ"),
    ("空", "ヨ"),
    ("海", "ロ"),
    ("山", "チ"),
    ("川", "ユ"),
    ("森", "ケ"),
    ("林", "ミ"),
    ("竹", "メ"),
    ("松", "ン"),
];

/// Half-width katakana for the few characters used above (what older systems write).
fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| {
            match c {
                'サ' => "ｻ",
                'ト' => "ﾄ",
                'ウ' => "ｳ",
                'ス' => "ｽ",
                'ズ' => "ｽﾞ",
                'キ' => "ｷ",
                'タ' => "ﾀ",
                'カ' => "ｶ",
                'ハ' => "ﾊ",
                'シ' => "ｼ",
                'ナ' => "ﾅ",
                'イ' => "ｲ",
                'ワ' => "ﾜ",
                'ベ' => "ﾍﾞ",
                'ヤ' => "ﾔ",
                'マ' => "ﾏ",
                'モ' => "ﾓ",
                'ム' => "ﾑ",
                'ラ' => "ﾗ",
                'コ' => "ｺ",
                'バ' => "ﾊﾞ",
                'ヨ' => "ﾖ",
                'ダ' => "ﾀﾞ",
                'ロ' => "ﾛ",
                'チ' => "ﾁ",
                'ユ' => "ﾕ",
                'ケ' => "ｹ",
                'ン' => "ﾝ",
                'ミ' => "ﾐ",
                'ョ' => "ｮ",
                'ィ' => "ｨ",
                'メ' => "ﾒ",
                'グ' => "ｸﾞ",
                ' ' => " ",
                _ => "?",
            }
            .to_string()
        })
        .collect()
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

#[test]
fn links_noisy_japanese_records() {
    let dir = tempfile::tempdir().unwrap();
    let header = "rec_id,name_kanji,name_kana,sex,birth_date,insurer_number,card_symbol,card_number,card_branch,postcode,prefecture\n";
    let (mut a, mut b, mut truth) = (
        header.to_string(),
        header.to_string(),
        "rec_id_a,rec_id_b\n".to_string(),
    );
    let mut rng = Lcg(7);
    let n = 400;
    for p in 0..n {
        let f = rng.next(FAMILY.len());
        let g = rng.next(GIVEN.len());
        let sex = 1 + rng.next(2);
        let (y, m, d) = (1940 + rng.next(60), 1 + rng.next(12), 1 + rng.next(28));
        let insurer = format!("0613{:04}", rng.next(10_000));
        let card = format!("{}", 1000 + rng.next(90_000));
        let post = format!("{:03}{:04}", 100 + rng.next(800), rng.next(10_000));
        writeln!(
            a,
            "a{p},{} {},{} {},{sex},{y:04}{m:02}{d:02},{insurer},12,{card},00,{post},東京都",
            FAMILY[f].0, GIVEN[g].0, FAMILY[f].1, GIVEN[g].1
        )
        .unwrap();
        // Provider B: half-width kana without a space, era date for some, and per person one of
        // the noise events.
        let mut kanji = format!("{}{}", FAMILY[f].0, GIVEN[g].0);
        let mut kana = half_width(&format!("{}{}", FAMILY[f].1, GIVEN[g].1));
        let mut insurer_b = insurer.clone();
        let mut card_b = card.clone();
        let mut birth = format!("{y:04}{m:02}{d:02}");
        match p % 5 {
            0 => {
                // marriage: new surname
                let f2 = (f + 1) % FAMILY.len();
                kanji = format!("{}{}", FAMILY[f2].0, GIVEN[g].0);
                kana = format!("{}{}", FAMILY[f2].1, GIVEN[g].1);
            }
            1 => {
                insurer_b = format!("3913{:04}", rng.next(10_000));
                card_b = format!("{}", 1000 + rng.next(90_000));
            }
            2 if (1940..1989).contains(&y) => birth = format!("S{}.{m}.{d}", y - 1925),
            // day and month swapped, where the swap is still a calendar date
            3 if d <= 12 => birth = format!("{y:04}{d:02}{m:02}"),
            _ => {}
        }
        writeln!(
            b,
            "b{p},{kanji},{kana},{sex},{birth},{insurer_b},１２,{card_b},00,{post},東京都"
        )
        .unwrap();
        writeln!(truth, "a{p},b{p}").unwrap();
    }
    let (pa, pb, pt) = (
        dir.path().join("a.csv"),
        dir.path().join("b.csv"),
        dir.path().join("t.csv"),
    );
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    std::fs::write(&pt, truth).unwrap();
    let mut req = LinkRequest::new("japan-person", &pa, dir.path().join("out"));
    req.right = Some(pb);
    req.truth = Some(pt);
    let report = run_csv(&req).unwrap();
    let e = report.evaluation.as_ref().unwrap();
    eprintln!(
        "japan-person: {:?} candidates {}",
        (e.precision, e.recall, e.f1),
        report.candidate_pairs
    );
    assert_eq!(
        report.inputs[1].invalid_values.get("name_kana"),
        None,
        "half-width kana must normalize"
    );
    assert!(e.f1 >= 0.95, "F1 {}", e.f1);
    assert!(
        report
            .model_tables
            .comparisons
            .iter()
            .any(|c| c.comparison == "card_branch")
    );
}

/// Regression for the 1M-person failure: when blocking makes far more same-birth-date and
/// same-name non-matches than matches, estimating u on the candidates made u(exact birth date)
/// ≈ 1 and let EM's "match" class become "same kana name" (precision 0.09). Here 2,000 persons
/// share 40 birth dates, one prefecture and 12 surnames, so almost every candidate pair agrees
/// on the birth date (or the name) without being the same person: 100 candidates per match.
#[test]
fn crowded_birth_dates_and_common_names_keep_precision() {
    let dir = tempfile::tempdir().unwrap();
    let header = "rec_id,name_kanji,name_kana,sex,birth_date,insurer_number,card_symbol,card_number,card_branch,postcode,prefecture\n";
    let (mut records, mut truth) = (header.to_string(), "rec_id_a,rec_id_b\n".to_string());
    let mut rng = Lcg(11);
    let n = 2000;
    for p in 0..n {
        let f = rng.next(FAMILY.len());
        // Given names of two syllables (625 of them), written in kanji one character per
        // syllable.
        let (s1, s2) = (rng.next(SYLLABLES.len()), rng.next(SYLLABLES.len()));
        let given_kana = format!("{}{}", SYLLABLES[s1].1, SYLLABLES[s2].1);
        let given_kanji = format!("{}{}", SYLLABLES[s1].0, SYLLABLES[s2].0);
        let sex = 1 + rng.next(2);
        let day = rng.next(40);
        let birth = format!(
            "19{:02}{:02}{:02}",
            50 + day % 5,
            1 + day % 12,
            1 + day % 28
        );
        let insurer = format!("0613{:04}", rng.next(10_000));
        let card = format!("{}", 10_000 + p * 7);
        let post = format!("{:03}{:04}", 100 + rng.next(800), rng.next(10_000));
        writeln!(
            records,
            "a{p},{} {given_kanji},{} {given_kana},{sex},{birth},{insurer},12,{card},00,{post},東京都",
            FAMILY[f].0, FAMILY[f].1
        )
        .unwrap();
        // The second record: half-width kana, and per person one change (new insurer and
        // card, a move, or a kana typo).
        let mut kana = half_width(&format!("{}{given_kana}", FAMILY[f].1));
        let (mut insurer_b, mut card_b, mut post_b) = (insurer.clone(), card.clone(), post.clone());
        match p % 4 {
            0 => {
                insurer_b = format!("3913{:04}", rng.next(10_000));
                card_b = format!("{}", 90_000 + p);
            }
            1 => post_b = format!("{:03}{:04}", 100 + rng.next(800), rng.next(10_000)),
            2 => kana = format!("{}{given_kana}ー", FAMILY[f].1),
            _ => {}
        }
        writeln!(
            records,
            "b{p},{}{given_kanji},{kana},{sex},{birth},{insurer_b},１２,{card_b},00,{post_b},東京都",
            FAMILY[f].0
        )
        .unwrap();
        writeln!(truth, "a{p},b{p}").unwrap();
    }
    let (pr, pt) = (dir.path().join("r.csv"), dir.path().join("t.csv"));
    std::fs::write(&pr, records).unwrap();
    std::fs::write(&pt, truth).unwrap();
    let mut req = LinkRequest::new("japan-person", &pr, dir.path().join("out"));
    req.truth = Some(pt);
    let report = run_csv(&req).unwrap();
    let e = report.evaluation.as_ref().unwrap();
    eprintln!(
        "crowded: p {} r {} f1 {} candidates {} lambda {}",
        e.precision, e.recall, e.f1, report.candidate_pairs, report.model_tables.lambda
    );
    assert!(
        report.candidate_pairs > 50 * n as u64,
        "the test needs blocking to be crowded: {} candidates",
        report.candidate_pairs
    );
    assert!(e.blocking_recall > 0.99);
    assert!(e.precision >= 0.95, "precision {}", e.precision);
    assert!(e.recall >= 0.95, "recall {}", e.recall);
    // λ is the probability that two random records match: 2,000 of 4,000·3,999/2 pairs.
    let true_lambda = n as f64 / (2.0 * n as f64 * (2.0 * n as f64 - 1.0) / 2.0);
    let lambda = report.model_tables.lambda;
    assert!(
        lambda > true_lambda / 3.0 && lambda < true_lambda * 3.0,
        "lambda {lambda} vs {true_lambda}"
    );
    // u stays the random-pair u: agreeing on the birth date is rare among random pairs.
    let birth = report
        .model_tables
        .comparisons
        .iter()
        .find(|c| c.comparison == "birth_date")
        .unwrap();
    assert!(
        birth.levels[0].u < 0.1,
        "u(exact birth date) {}",
        birth.levels[0].u
    );
    assert!(birth.levels[0].weight > 3.0);
    assert_eq!(report.model_tables.training_sessions.len(), 2);
}
