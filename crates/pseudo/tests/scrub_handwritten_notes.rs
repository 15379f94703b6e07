//! Hand-written clinical notes in the style of real outpatient/ward records: for each, what the
//! scrubber must remove (identifiers of the patient and of other people, addresses) and what it
//! must keep (clinical wording, including eponyms, anatomy and place-like words).

use medinfra_pseudo::scrub::{PersonIdentifiers, scrub};

struct Case {
    text: &'static str,
    remove: &'static [&'static str],
    keep: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        text: "妻の鈴木花子が付き添い来院。血圧 142/90 mmHg。アムロジピン5mg継続。",
        remove: &["鈴木花子"],
        keep: &[
            "妻の",
            "が付き添い来院",
            "142/90 mmHg",
            "アムロジピン5mg継続",
        ],
    },
    Case {
        text: "田中医師に紹介。糖尿病性腎症の精査目的。",
        remove: &["田中"],
        keep: &["医師に紹介", "糖尿病性腎症の精査目的"],
    },
    Case {
        text: "住所：東京都千代田区丸の内1-2-3 在住、独居。認知症あり、長谷川式 18点。",
        remove: &["東京都", "千代田区", "丸の内", "1-2-3"],
        keep: &["住所：", "在住、独居", "認知症あり", "長谷川式 18点"],
    },
    Case {
        text: "大阪市北区梅田二丁目のクリニックより紹介。主訴は胸痛。",
        remove: &["大阪市", "北区", "梅田", "二丁目"],
        keep: &["のクリニックより紹介", "主訴は胸痛"],
    },
    Case {
        text: "長男 佐藤一郎（キーパーソン）と同居。連絡先 090-1234-5678。",
        remove: &["佐藤一郎", "090-1234-5678"],
        keep: &["長男", "（キーパーソン）と同居", "連絡先"],
    },
    Case {
        text: "主治医 山本先生より病状説明。本人・家族の理解良好。",
        remove: &["山本"],
        keep: &["主治医", "先生より病状説明", "本人・家族の理解良好"],
    },
    Case {
        text: "Dr.高橋の指示でラシックス20mg静注。尿量 1200mL/日。",
        remove: &["高橋"],
        keep: &["Dr.", "の指示でラシックス20mg静注", "尿量 1200mL/日"],
    },
    Case {
        text: "家族歴: 父 大腸癌、母 乳癌、兄 高血圧症。喫煙 20本/日×30年。",
        remove: &[],
        keep: &["父 大腸癌、母 乳癌、兄 高血圧症", "20本/日×30年"],
    },
    Case {
        text: "父 関節リウマチ、母 原発性胆汁性胆管炎。",
        remove: &[],
        keep: &["父 関節リウマチ、母 原発性胆汁性胆管炎"],
    },
    Case {
        text: "橋本病にてチラーヂンS 50μg内服中。川崎病の既往なし。田中ビネー知能検査でIQ 85。",
        remove: &[],
        keep: &[
            "橋本病にて",
            "川崎病の既往なし",
            "田中ビネー知能検査でIQ 85",
        ],
    },
    Case {
        text: "右大殿筋・中殿筋の筋力低下。毛様体に異常なし。リウマチ様関節痛の訴えあり。",
        remove: &[],
        keep: &[
            "右大殿筋・中殿筋の筋力低下",
            "毛様体に異常なし",
            "リウマチ様関節痛",
        ],
    },
    Case {
        text: "肝S6区域に12mm大の低吸収域。上行結腸に憩室多発。出口部に発赤なし。",
        remove: &[],
        keep: &[
            "肝S6区域に12mm大の低吸収域",
            "上行結腸に憩室多発",
            "出口部に発赤なし",
        ],
    },
    Case {
        text: "市販薬（ロキソニン）を3日間内服。町内会の健診で高血圧を指摘。区の検診は未受診。",
        remove: &[],
        keep: &[
            "市販薬（ロキソニン）を3日間内服",
            "町内会の健診",
            "区の検診",
        ],
    },
    Case {
        text: "大阪府出身。東京都立墨東病院で手術歴あり。大阪市立総合医療センターへ紹介状作成。",
        remove: &[],
        keep: &["大阪府出身", "東京都立墨東病院", "大阪市立総合医療センター"],
    },
    Case {
        text: "〒100-0005 東京都千代田区丸の内一丁目9番1号 山田太郎様",
        remove: &["100-0005", "丸の内一丁目9番1号", "山田太郎"],
        keep: &["〒", "様"],
    },
    Case {
        text: "妻 中村恵子さんより電話あり。明日面会予定。",
        remove: &["中村恵子"],
        keep: &["さんより電話あり", "明日面会予定"],
    },
    Case {
        text: "担当ケアマネ 伊藤（居宅介護支援事業所）と退院前カンファレンス。",
        remove: &["伊藤"],
        keep: &["担当ケアマネ", "居宅介護支援事業所", "退院前カンファレンス"],
    },
    Case {
        text: "連絡者：スズキ ハナコ（長女） TEL 03-3210-1234",
        remove: &["スズキ", "ハナコ", "03-3210-1234"],
        keep: &["連絡者：", "（長女）"],
    },
    Case {
        text: "神奈川県横浜市港北区日吉本町４－５－６ 在住の独居高齢者。",
        remove: &["横浜市", "港北区", "日吉本町", "４－５－６"],
        keep: &["在住の独居高齢者"],
    },
    Case {
        text: "さいたま市浦和区常盤9丁目 在住。訪問看護導入。",
        remove: &["さいたま市", "浦和区", "常盤9丁目"],
        keep: &["在住", "訪問看護導入"],
    },
    Case {
        text: "隣人の林さんが発見し救急要請。意識レベル JCS I-1。",
        remove: &["林"],
        keep: &["隣人の", "さんが発見し救急要請", "JCS I-1"],
    },
    Case {
        text: "看護師 佐々木より申し送り：夜間不穏あり、ハロペリドール 2.5mg 使用。",
        remove: &["佐々木"],
        keep: &["より申し送り", "夜間不穏あり", "ハロペリドール 2.5mg 使用"],
    },
    Case {
        text: "東京都中野区在住の娘が週1回訪問。",
        remove: &["中野区"],
        keep: &["在住の娘が週1回訪問"],
    },
    Case {
        text: "妻の恵子が面会に来られた。夫の希望で胃瘻は造設しない方針。",
        remove: &["恵子"],
        keep: &["妻の", "が面会に来られた", "夫の希望で胃瘻は造設しない方針"],
    },
    Case {
        text: "紹介元：さくら内科クリニック 鈴木医師。HbA1c 8.1%、eGFR 45。",
        remove: &["鈴木"],
        keep: &["さくら内科クリニック", "医師", "HbA1c 8.1%、eGFR 45"],
    },
    Case {
        text: "2024年5月10日 外来受診。次回 2024/06/07 再診予定。中等度の僧帽弁閉鎖不全。",
        remove: &[],
        keep: &[
            "2024年5月10日 外来受診",
            "2024/06/07 再診予定",
            "中等度の僧帽弁閉鎖不全",
        ],
    },
    Case {
        text: "ﾔﾏﾀﾞ ﾀﾛｳ 様 生年月日 S55.1.15 自宅 北海道札幌市中央区北1条西2丁目",
        remove: &["ﾔﾏﾀﾞ", "ﾀﾛｳ", "S55.1.15", "札幌市中央区"],
        keep: &["様", "生年月日", "自宅"],
    },
    Case {
        text: "長女の高橋美咲さん（愛知県名古屋市中区栄三丁目在住）が来院し、今後の方針を相談。",
        remove: &["高橋美咲", "名古屋市中区栄三丁目"],
        keep: &["長女の", "在住）が来院し、今後の方針を相談"],
    },
];

#[test]
fn handwritten_notes_remove_identifiers_and_keep_clinical_text() {
    assert!(CASES.len() >= 20);
    let person = PersonIdentifiers {
        names: vec!["山田 太郎".into(), "ヤマダ タロウ".into()],
        birth_dates: vec!["19800115".into()],
        numbers: vec!["00123456".into()],
    };
    let mut failures = Vec::new();
    for case in CASES {
        let out = scrub(case.text, &person).text;
        for r in case.remove {
            if out.contains(r) {
                failures.push(format!("not removed {r:?}: {out}"));
            }
        }
        for k in case.keep {
            if !out.contains(k) {
                failures.push(format!("not kept {k:?}: {out}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
