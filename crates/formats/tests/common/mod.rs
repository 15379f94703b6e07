//! Helpers shared by the integration tests.
#![allow(dead_code)]

use medinfra_formats::Finding;
use medinfra_formats::uke::{FileSummary, Receipt, ReceiptReader};

/// The §10.1 example file of japan.md, as text.
pub const EXAMPLE_10_1: &str = "\
IR,1,13,1,9999999,,テスト総合病院,202404,00,0399999999
RE,1,1112,202404,試験　太郎,1,19800115,,,,,,,P0000001,,,,,,,,,,,,,,,,,,,,,,,シケン　タロウ,
HO,06139999,１２３,４５６７,2,318,,,,,,,,,
SY,0000999,20240401,1,,テスト病名,01,
SI,12,1,112007410,,75,2,,,,,,,,,1,,,,,,,,,,,,,,1,,,,,,,,,,,,,,
IY,21,1,620000000,2,12,14,,,,,,,,,14,,,,,,,,,,,,,,,,,,,,,,,,,,,,
CO,21,1,810000001,１日２回朝夕食後
GO,1,318,99
";

/// Encodes text to CP932 with CRLF line ends (the input uses LF).
pub fn cp932_crlf(text: &str) -> Vec<u8> {
    let crlf = text.replace('\n', "\r\n");
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&crlf);
    assert!(!unmappable);
    bytes.into_owned()
}

/// Reads a whole file into receipts and the summary.
pub fn read_all(bytes: &[u8], file: &str) -> (Vec<Receipt>, FileSummary) {
    let mut rr = ReceiptReader::from_reader(bytes, file);
    let receipts: Vec<Receipt> = rr.by_ref().collect();
    (receipts, rr.finish())
}

/// Every finding of a read: file-level and receipt-level.
pub fn all_findings(receipts: &[Receipt], summary: &FileSummary) -> Vec<Finding> {
    let mut all = summary.findings.clone();
    for r in receipts {
        all.extend(r.findings.iter().cloned());
    }
    all
}
