//! A generator of clinical-style Japanese notes with planted identifiers (the truth kept), and
//! the recall/precision evaluation of [`crate::scrub`] on them.
//!
//! Deterministic for a seed. Uses a hand-written SplitMix64 instead of `rand` so the corpus is
//! identical across `rand` versions (benchmark numbers stay comparable over time).
//!
//! Each note mixes clinical filler (values, drug doses, dates of care, 患者様/看護師さん — all
//! of which must survive) with identifiers of the note's person written the ways providers
//! write them (kanji, spaced, kana, half-width kana, hiragana, 異体字, family or given name
//! alone with an honorific; era and Gregorian birth dates; phones, postcodes, chart and card
//! numbers in ASCII and full-width), other people's names before honorifics, other people's
//! names drawn from the embedded name lists in context (妻の鈴木花子が, 田中医師に紹介, kana full
//! names), and addresses (from `data/corpus_addresses.csv`, with and without the prefecture,
//! with 丁目/番地/号 or hyphenated block numbers in ASCII, full-width or kanji numerals).
//!
//! Clinical text that must survive is mixed in: disease and drug names, anatomy (大殿筋, 毛様体),
//! eponyms that are surnames (橋本病, 長谷川式), kinship words before diseases (父 大腸癌), and
//! place-like clinical words (肝S6区域, 市販薬, 町内会, 大阪府出身, 市立病院).

use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

use crate::scrub::{PersonIdentifiers, Placeholder, find_identifiers};

/// One generated note.
#[derive(Debug, Clone)]
pub struct PlantedNote {
    pub text: String,
    pub person: PersonIdentifiers,
    /// Byte ranges of the planted identifiers in `text`.
    pub planted: Vec<(Placeholder, usize, usize)>,
}

/// Recall and precision of the scrubber on a corpus.
#[derive(Debug, Clone, Default)]
pub struct ScrubReport {
    pub notes: usize,
    pub planted: usize,
    /// Planted identifiers completely covered by findings.
    pub recalled: usize,
    pub findings: usize,
    /// Findings overlapping a planted identifier.
    pub true_findings: usize,
    /// Bytes replaced, and of those, bytes inside planted identifiers.
    pub replaced_bytes: usize,
    pub replaced_planted_bytes: usize,
    /// Per kind: (planted, recalled).
    pub per_kind: Vec<(Placeholder, usize, usize)>,
    /// Per kind of finding: (findings, findings overlapping any planted identifier).
    pub per_kind_findings: Vec<(Placeholder, usize, usize)>,
}

impl ScrubReport {
    pub fn recall(&self) -> f64 {
        ratio(self.recalled, self.planted)
    }

    /// Share of findings that hit a planted identifier.
    pub fn precision(&self) -> f64 {
        ratio(self.true_findings, self.findings)
    }

    /// Share of replaced bytes that were planted identifier bytes.
    pub fn byte_precision(&self) -> f64 {
        ratio(self.replaced_planted_bytes, self.replaced_bytes)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Runs the scrubber over every note and compares with the truth.
pub fn evaluate(notes: &[PlantedNote]) -> ScrubReport {
    let kinds = [
        Placeholder::Name,
        Placeholder::Phone,
        Placeholder::Postcode,
        Placeholder::BirthDate,
        Placeholder::Number,
        Placeholder::Address,
    ];
    let mut report = ScrubReport {
        notes: notes.len(),
        per_kind: kinds.iter().map(|k| (*k, 0, 0)).collect(),
        per_kind_findings: kinds.iter().map(|k| (*k, 0, 0)).collect(),
        ..ScrubReport::default()
    };
    for note in notes {
        let found = find_identifiers(&note.text, &note.person);
        for &(kind, s, e) in &note.planted {
            report.planted += 1;
            let covered = (s..e).all(|b| found.iter().any(|f| f.start <= b && b < f.end));
            if let Some(k) = report.per_kind.iter_mut().find(|k| k.0 == kind) {
                k.1 += 1;
                if covered {
                    k.2 += 1;
                }
            }
            if covered {
                report.recalled += 1;
            }
        }
        for f in &found {
            report.findings += 1;
            report.replaced_bytes += f.end - f.start;
            let hit = note
                .planted
                .iter()
                .any(|&(_, s, e)| f.start < e && s < f.end);
            if hit {
                report.true_findings += 1;
            }
            if let Some(k) = report.per_kind_findings.iter_mut().find(|k| k.0 == f.kind) {
                k.1 += 1;
                if hit {
                    k.2 += 1;
                }
            }
            report.replaced_planted_bytes += (f.start..f.end)
                .filter(|b| note.planted.iter().any(|&(_, s, e)| s <= *b && *b < e))
                .count();
        }
    }
    report
}

/// SplitMix64 (Steele et al. 2014): tiny, good enough for test data, stable forever.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

/// (kanji, kana, variant kanji spelling if common).
const FAMILY: &[(&str, &str, Option<&str>)] = &[
    ("山田", "ヤマダ", None),
    ("佐藤", "サトウ", None),
    ("鈴木", "スズキ", None),
    ("高橋", "タカハシ", Some("髙橋")),
    ("田中", "タナカ", None),
    ("渡辺", "ワタナベ", Some("渡邊")),
    ("伊藤", "イトウ", None),
    ("中村", "ナカムラ", None),
    ("小林", "コバヤシ", None),
    ("加藤", "カトウ", None),
    ("吉田", "ヨシダ", None),
    ("山本", "ヤマモト", None),
    ("斎藤", "サイトウ", Some("齋藤")),
    ("山崎", "ヤマザキ", Some("山﨑")),
    ("松本", "マツモト", None),
    ("井上", "イノウエ", None),
    ("木村", "キムラ", None),
    ("清水", "シミズ", None),
    ("佐々木", "ササキ", Some("佐佐木")),
    ("長谷川", "ハセガワ", None),
    ("浜田", "ハマダ", Some("濱田")),
    ("石川", "イシカワ", None),
    ("前田", "マエダ", None),
    ("藤田", "フジタ", None),
    ("岡田", "オカダ", None),
    ("後藤", "ゴトウ", None),
    ("村上", "ムラカミ", None),
    ("近藤", "コンドウ", None),
    ("坂本", "サカモト", None),
    ("遠藤", "エンドウ", None),
];

const GIVEN: &[(&str, &str)] = &[
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("一郎", "イチロウ"),
    ("恵子", "ケイコ"),
    ("洋子", "ヨウコ"),
    ("健一", "ケンイチ"),
    ("裕子", "ユウコ"),
    ("翔太", "ショウタ"),
    ("美咲", "ミサキ"),
    ("大輔", "ダイスケ"),
    ("直樹", "ナオキ"),
    ("由美子", "ユミコ"),
    ("浩二", "コウジ"),
    ("京子", "キョウコ"),
    ("隆", "タカシ"),
    ("誠", "マコト"),
    ("陽菜", "ヒナ"),
    ("蓮", "レン"),
    ("優子", "ユウコ"),
    ("正男", "マサオ"),
];

const FILLER: &[&str] = &[
    "2024年3月5日 外来受診。",
    "血圧 132/84 mmHg、脈拍 72/分。",
    "HbA1c 7.2%、空腹時血糖 126 mg/dL。",
    "WBC 8500/μL、CRP 0.3 mg/dL。",
    "アムロジピン錠5mg 1日1回朝食後で処方継続。",
    "胸部X線で異常なし。",
    "患者様は症状の改善を自覚している。",
    "看護師さんより服薬指導を実施。",
    "次回 2024/04/02 再診予定。",
    "体重 62.5kg (前回比 -1.2kg)。",
    "COVID-19 PCR 陰性。",
    "令和6年4月1日 入院。",
    "お母さんが同伴。",
    "頭痛の様子を観察する。",
    "2型糖尿病、高血圧症で通院中。",
    "eGFR 58 mL/min/1.73m2。",
    "腹部エコー施行、肝S6に10mm大の嚢胞。",
    "ロキソプロフェン60mg 頓用 10回分。",
    "家族歴: 父 高血圧、母 糖尿病。",
    "14日分処方。",
    "紹介状を作成し、他院へ送付。",
    "R6.5.20 退院。",
    "LDL-C 142 mg/dL、TG 180 mg/dL。",
    "SpO2 97%、体温 36.8℃。",
    "H. pylori 除菌後。",
    "ご家族様へ病状説明を行った。",
    "本人の希望により自宅療養。",
    "MRI: T2強調像で高信号域なし。",
    // Clinical text that must survive the name and address rules.
    "家族歴: 父 大腸癌、母 乳癌、兄 高血圧。",
    "母 橋本病、父 川崎病の既往。",
    "長谷川式 24点、MMSE 26点。",
    "田中ビネー知能検査を予定。",
    "石原式色覚検査で異常なし。",
    "高安動脈炎の疑い。",
    "菊池病として経過観察。",
    "肝S6区域に低吸収域。",
    "右大殿筋の筋力低下、中殿筋は保たれる。",
    "毛様体の炎症所見なし。",
    "リウマチ様関節痛あり。",
    "市販薬を3日間内服していた。",
    "町内会の健診で指摘され受診。",
    "大阪府出身、東京都内の会社に勤務。",
    "市区町村の助成制度を案内。",
    "大阪市立総合医療センターへ紹介。",
    "東京都立病院での加療歴あり。",
    "上行結腸、S状結腸に憩室。",
    "第3腰椎圧迫骨折。",
    "中心静脈カテーテル抜去、出口部の発赤なし。",
    "左下葉S10に結節影。",
    "妻の希望で退院調整。",
    "夫の付き添いあり。",
    "主治医より病状説明。",
    "担当医の指示で点滴継続。",
    "Dr.指示によりラシックス20mg静注。",
    "看護師より申し送り。",
    "大腿骨頸部骨折術後、回復期病棟へ転棟。",
    "メトホルミン500mg、シタグリプチン50mg内服中。",
    "北海道大学病院で手術歴あり。",
    "アトルバスタチン10mg追加。",
    "区の検診で心電図異常を指摘。",
    "中等度の僧帽弁閉鎖不全。",
    "上腕二頭筋長頭腱炎。",
];

struct Builder {
    text: String,
    planted: Vec<(Placeholder, usize, usize)>,
}

impl Builder {
    fn plain(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn plant(&mut self, kind: Placeholder, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        self.planted.push((kind, start, self.text.len()));
    }
}

fn hiragana(katakana: &str) -> String {
    katakana
        .chars()
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            other => other,
        })
        .collect()
}

fn half_width(katakana: &str) -> String {
    const FULL: &str = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンァィゥェォッャュョー";
    const HALF: &str = "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｧｨｩｪｫｯｬｭｮｰ";
    let mut out = String::new();
    for c in katakana.nfd() {
        match c {
            '\u{3099}' => out.push('ﾞ'),
            '\u{309A}' => out.push('ﾟ'),
            _ => match FULL.chars().position(|f| f == c) {
                Some(p) => out.push(HALF.chars().nth(p).unwrap_or(c)),
                None => out.push(c),
            },
        }
    }
    out
}

fn full_width_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap_or(c),
            '-' => '－',
            '.' => '．',
            '/' => '／',
            '(' => '（',
            ')' => '）',
            other => other,
        })
        .collect()
}

/// (era letter, era name, era year) for a Gregorian date.
fn era(y: u32, m: u32, d: u32) -> (&'static str, &'static str, u32) {
    let ymd = y * 10000 + m * 100 + d;
    if ymd >= 20190501 {
        ("R", "令和", y - 2018)
    } else if ymd >= 19890108 {
        ("H", "平成", y - 1988)
    } else {
        ("S", "昭和", y - 1925)
    }
}

fn era_digit(letter: &str) -> u32 {
    match letter {
        "S" => 3,
        "H" => 4,
        _ => 5,
    }
}

/// Generates `n` notes from `seed`.
pub fn generate(n: usize, seed: u64) -> Vec<PlantedNote> {
    let mut rng = Rng(seed);
    (0..n).map(|_| generate_note(&mut rng)).collect()
}

fn generate_note(rng: &mut Rng) -> PlantedNote {
    let &(fam, fam_kana, fam_variant) = rng.pick(FAMILY);
    let &(given, given_kana) = rng.pick(GIVEN);
    let (y, m, d) = (
        1930 + rng.below(86) as u32,
        1 + rng.below(12) as u32,
        1 + rng.below(28) as u32,
    );
    let chart = rng.digits(8);
    let card_number = format!("{}{}", 1 + rng.below(9), rng.digits(5));
    let card_symbol = format!("{}-{}", rng.digits(2), rng.digits(3));
    let person = PersonIdentifiers {
        names: vec![format!("{fam} {given}"), format!("{fam_kana} {given_kana}")],
        birth_dates: vec![format!("{y:04}{m:02}{d:02}")],
        numbers: vec![chart.clone(), card_number.clone(), card_symbol.clone()],
    };
    let mut b = Builder {
        text: String::new(),
        planted: Vec::new(),
    };
    let segments = 3 + rng.below(5);
    for _ in 0..segments {
        if rng.below(5) < 2 {
            b.plain(rng.pick_str(FILLER));
            continue;
        }
        match rng.below(11) {
            0 | 1 => own_name(rng, &mut b, fam, fam_kana, fam_variant, given, given_kana),
            2 => birth_date(rng, &mut b, y, m, d),
            3 => phone(rng, &mut b),
            4 => postcode(rng, &mut b),
            5 => number(rng, &mut b, &chart, &card_number, &card_symbol),
            6 => other_person(rng, &mut b),
            7 | 8 => listed_person(rng, &mut b),
            _ => address(rng, &mut b),
        }
        if rng.below(2) == 0 {
            b.plain(rng.pick_str(FILLER));
        }
    }
    PlantedNote {
        text: b.text,
        person,
        planted: b.planted,
    }
}

fn own_name(
    rng: &mut Rng,
    b: &mut Builder,
    fam: &str,
    fam_kana: &str,
    fam_variant: Option<&str>,
    given: &str,
    given_kana: &str,
) {
    let (name, honorific) = match rng.below(10) {
        0 => (format!("{fam}{given}"), "様"),
        1 => (format!("{fam} {given}"), ""),
        2 => (format!("{fam}　{given}"), "さん"),
        3 => (format!("{fam_kana} {given_kana}"), ""),
        4 => (
            format!("{} {}", half_width(fam_kana), half_width(given_kana)),
            "",
        ),
        5 => (
            format!("{}　{}", hiragana(fam_kana), hiragana(given_kana)),
            "さん",
        ),
        6 => (format!("{}{given}", fam_variant.unwrap_or(fam)), "殿"),
        7 => (fam.to_owned(), "様"),
        8 => (fam_kana.to_owned(), "さん"),
        _ => (given.to_owned(), "さん"),
    };
    let lead = rng.pick_str(&["本日", "患者 ", "", "外来にて", "（"]);
    b.plain(lead);
    b.plant(Placeholder::Name, &name);
    b.plain(honorific);
    b.plain(rng.pick_str(&[
        "が来院。",
        "、主訴は咳嗽。",
        "より電話あり。",
        "の検査結果を説明。",
    ]));
}

fn birth_date(rng: &mut Rng, b: &mut Builder, y: u32, m: u32, d: u32) {
    let (letter, era_name, ey) = era(y, m, d);
    let text = match rng.below(8) {
        0 => format!("{era_name}{ey}年{m}月{d}日"),
        1 => format!("{letter}{ey}.{m}.{d}"),
        2 => format!("{y}/{m:02}/{d:02}"),
        3 => format!("{y}年{m}月{d}日"),
        4 => format!("{}{ey:02}{m:02}{d:02}", era_digit(letter)),
        5 => full_width_digits(&format!("{y}年{m}月{d}日")),
        6 => format!("{y}-{m:02}-{d:02}"),
        _ => format!("{}{ey}/{m}/{d}", letter.to_lowercase()),
    };
    match rng.below(4) {
        0 => {
            b.plain("生年月日：");
            b.plant(Placeholder::BirthDate, &text);
            b.plain("。");
        }
        1 => {
            b.plant(Placeholder::BirthDate, &text);
            b.plain("生まれ。");
        }
        2 => {
            b.plain("DOB ");
            b.plant(Placeholder::BirthDate, &text);
            b.plain(" ");
        }
        _ => {
            b.plain("（");
            b.plant(Placeholder::BirthDate, &text);
            b.plain("）");
        }
    }
}

fn phone(rng: &mut Rng, b: &mut Builder) {
    let text = match rng.below(6) {
        0 => format!("03-{}-{}", rng.digits(4), rng.digits(4)),
        1 => format!("090-{}-{}", rng.digits(4), rng.digits(4)),
        2 => format!("0{}-{}-{}", rng.digits(3), rng.digits(2), rng.digits(4)),
        3 => format!("(0{}){}-{}", rng.digits(2), rng.digits(3), rng.digits(4)),
        4 => format!("080{}", rng.digits(8)),
        _ => full_width_digits(&format!("070-{}-{}", rng.digits(4), rng.digits(4))),
    };
    b.plain(rng.pick_str(&["連絡先 ", "TEL:", "自宅電話", "携帯 "]));
    b.plant(Placeholder::Phone, &text);
    b.plain(rng.pick_str(&["。", "に連絡。", " まで。"]));
}

fn postcode(rng: &mut Rng, b: &mut Builder) {
    let (a, c) = (rng.digits(3), rng.digits(4));
    let (label, text) = match rng.below(4) {
        0 => ("〒", format!("{a}-{c}")),
        1 => ("〒", format!("{a}{c}")),
        2 => ("郵便番号 ", format!("{a}-{c}")),
        _ => ("〒", full_width_digits(&format!("{a}-{c}"))),
    };
    b.plain(label);
    b.plant(Placeholder::Postcode, &text);
    b.plain(rng.pick_str(&[" 住所変更あり。", "へ書類送付。", "。"]));
}

fn number(rng: &mut Rng, b: &mut Builder, chart: &str, card_number: &str, card_symbol: &str) {
    match rng.below(6) {
        0 => {
            b.plain("カルテ番号");
            b.plant(Placeholder::Number, chart);
        }
        1 => {
            b.plain("ID:");
            b.plant(Placeholder::Number, chart);
        }
        2 => {
            b.plain("診察券番号 ");
            b.plant(Placeholder::Number, &full_width_digits(chart));
        }
        3 => {
            b.plain("被保険者番号：");
            b.plant(Placeholder::Number, card_number);
        }
        4 => {
            b.plain("保険証 記号");
            b.plant(Placeholder::Number, card_symbol);
            b.plain(" 番号");
            b.plant(Placeholder::Number, card_number);
        }
        _ => {
            b.plant(Placeholder::Number, chart);
            b.plain("の患者");
        }
    }
    b.plain("。");
}

fn other_person(rng: &mut Rng, b: &mut Builder) {
    let &(fam, fam_kana, _) = rng.pick(FAMILY);
    let &(given, _) = rng.pick(GIVEN);
    let name = match rng.below(3) {
        0 => format!("{fam}{given}"),
        1 => fam.to_owned(),
        _ => fam_kana.to_owned(),
    };
    let honorific = rng.pick_str(&["さん", "様", "殿", "ちゃん"]);
    b.plain(rng.pick_str(&["妻の", "紹介元は", "長女の", "隣人の", "担当ケアマネは"]));
    b.plant(Placeholder::Name, &name);
    b.plain(honorific);
    b.plain(rng.pick_str(&["が付き添い。", "。", "より情報提供あり。"]));
}

const FAMILY_CSV: &str = include_str!("../data/names_family.csv");
const GIVEN_CSV: &str = include_str!("../data/names_given.csv");
const GIVEN_COMMON_CSV: &str = include_str!("../data/names_given_common.csv");
const ADDRESSES_CSV: &str = include_str!("../data/corpus_addresses.csv");

/// Name lists (kanji, katakana) and addresses (prefecture, city, town) to plant.
struct Lists {
    family: Vec<(&'static str, &'static str)>,
    given: Vec<(&'static str, &'static str)>,
    addresses: Vec<(&'static str, &'static str, &'static str)>,
}

static LISTS: LazyLock<Lists> = LazyLock::new(|| {
    let rows = |csv: &'static str| {
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    Lists {
        family: rows(FAMILY_CSV)
            .into_iter()
            .filter_map(|r| Some((*r.first()?, *r.get(1)?)))
            .collect(),
        given: rows(GIVEN_CSV)
            .into_iter()
            .chain(rows(GIVEN_COMMON_CSV))
            .filter_map(|r| Some((*r.first()?, *r.get(1)?)))
            .collect(),
        addresses: rows(ADDRESSES_CSV)
            .into_iter()
            .filter_map(|r| Some((*r.first()?, *r.get(1)?, *r.get(2)?)))
            .collect(),
    }
});

/// Someone else from the name lists, written the way notes mention relatives and staff.
fn listed_person(rng: &mut Rng, b: &mut Builder) {
    let lists = &*LISTS;
    let &(fam, fam_kana) = rng.pick(&lists.family);
    let &(given, given_kana) = rng.pick(&lists.given);
    match rng.below(12) {
        0 => {
            b.plain("妻の");
            b.plant(Placeholder::Name, &format!("{fam}{given}"));
            b.plain("が付き添い。");
        }
        1 => {
            b.plant(Placeholder::Name, fam);
            b.plain("医師に紹介。");
        }
        2 => {
            b.plain("長男 ");
            b.plant(Placeholder::Name, &format!("{fam} {given}"));
            b.plain(" と同居。");
        }
        3 => {
            b.plain("主治医 ");
            b.plant(Placeholder::Name, fam);
            b.plain("先生へ報告。");
        }
        4 => {
            b.plain("Dr.");
            b.plant(Placeholder::Name, fam);
            b.plain("の指示で採血。");
        }
        5 => {
            b.plain("キーパーソンは長女の");
            b.plant(Placeholder::Name, &format!("{fam}{given}"));
            b.plain("。");
        }
        6 => {
            b.plain("連絡者: ");
            b.plant(Placeholder::Name, &format!("{fam_kana} {given_kana}"));
            b.plain("（娘）。");
        }
        7 => {
            let name = if rng.below(2) == 0 { fam } else { fam_kana };
            b.plant(Placeholder::Name, name);
            b.plain("看護師より申し送り。");
        }
        8 => {
            b.plain("紹介元: ");
            b.plant(Placeholder::Name, fam);
            b.plain("医師（内科）。");
        }
        9 => {
            b.plain("妻の");
            b.plant(Placeholder::Name, given);
            b.plain("が面会。");
        }
        10 => {
            b.plain("夫 ");
            b.plant(
                Placeholder::Name,
                &format!("{}{}", hiragana(fam_kana), hiragana(given_kana)),
            );
            b.plain("さんが来院。");
        }
        _ => {
            b.plant(
                Placeholder::Name,
                &format!("{} {}", half_width(fam_kana), half_width(given_kana)),
            );
            b.plain("(父)より電話。");
        }
    }
}

fn kanji_number(n: usize) -> String {
    const DIGITS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => DIGITS[n].to_owned(),
        10 => "十".to_owned(),
        _ => format!(
            "{}十{}",
            if n / 10 == 1 { "" } else { DIGITS[n / 10] },
            DIGITS[n % 10]
        ),
    }
}

/// An address from the list, with and without the prefecture and block number.
fn address(rng: &mut Rng, b: &mut Builder) {
    let &(pref, city, town) = rng.pick(&LISTS.addresses);
    let (x, y, z) = (1 + rng.below(9), 1 + rng.below(30), 1 + rng.below(20));
    let block = match rng.below(7) {
        0 => format!("{x}-{y}-{z}"),
        1 => full_width_digits(&format!("{x}-{y}-{z}")),
        2 => format!("{}丁目{y}番{z}号", kanji_number(x)),
        3 => format!("{x}丁目{y}-{z}"),
        4 => format!("{}番地", 1 + rng.below(999)),
        5 => format!("{}丁目", kanji_number(x)),
        _ => String::new(),
    };
    // Units as the scrubber reads them: 四日市市 is one unit (a unit char right after another
    // unit char ends the same name).
    let chars: Vec<char> = city.chars().collect();
    let is_unit = |c: &char| "市区町村郡".contains(*c);
    let units = (0..chars.len())
        .filter(|&k| is_unit(&chars[k]) && k > 0 && chars.get(k + 1).is_none_or(|c| !is_unit(c)))
        .count();
    let with_pref = rng.below(2) == 0 || (block.is_empty() && units < 2);
    let text = if with_pref {
        format!("{pref}{city}{town}{block}")
    } else {
        format!("{city}{town}{block}")
    };
    b.plain(rng.pick_str(&["住所：", "自宅は", "現住所 ", "", "転居先 "]));
    b.plant(Placeholder::Address, &text);
    b.plain(rng.pick_str(&[
        "在住。",
        "。",
        " に独居。",
        "から来院。",
        "（施設入所中）。",
    ]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_truth_matches_text() {
        let a = generate(200, 7);
        let b = generate(200, 7);
        assert_eq!(
            a.iter().map(|n| &n.text).collect::<Vec<_>>(),
            b.iter().map(|n| &n.text).collect::<Vec<_>>()
        );
        assert_ne!(generate(5, 8)[0].text, a[0].text);
        let planted: usize = a.iter().map(|n| n.planted.len()).sum();
        assert!(planted > 200, "{planted}");
        for note in &a {
            for &(_, s, e) in &note.planted {
                assert!(s < e && note.text.is_char_boundary(s) && note.text.is_char_boundary(e));
            }
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(half_width("ヤマダ"), "ﾔﾏﾀﾞ");
        assert_eq!(half_width("ショウタ"), "ｼｮｳﾀ");
        assert_eq!(hiragana("ヤマダ"), "やまだ");
        assert_eq!(era(1980, 1, 15), ("S", "昭和", 55));
        assert_eq!(era(1989, 1, 8), ("H", "平成", 1));
        assert_eq!(era(2019, 5, 1), ("R", "令和", 1));
    }

    #[test]
    fn evaluation_counts_misses() {
        // A note whose planted span is plain filler the scrubber cannot find: recall 0.
        let note = PlantedNote {
            text: "血圧 132/84".into(),
            person: PersonIdentifiers::default(),
            planted: vec![(Placeholder::Name, 0, 6)],
        };
        let r = evaluate(&[note]);
        assert_eq!(r.planted, 1);
        assert_eq!(r.recalled, 0);
        assert_eq!(r.recall(), 0.0);
    }
}
