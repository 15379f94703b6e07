//! Electronic receipt files (レセプト電算処理システム, `.UKE`; japan.md §2 and §10.1).
//!
//! * [`UkeReader`]: bytes (CP932, CRLF) → [`RecordLine`]s (typed [`Record`] + findings),
//!   streaming with bounded memory.
//! * [`ReceiptReader`]: groups records into [`Receipt`]s and checks the file frame and GO
//!   totals; [`ReceiptReader::finish`] returns the [`FileSummary`].
//! * [`UkeWriter`]: typed records → the bytes the reader accepts.
//!
//! File kind (medical / DPC / pharmacy) is detected from content: an `IR` header means medical,
//! upgraded to DPC when a DPC-only record appears; a `YK` header means pharmacy.
//!
//! Rules japan.md marks unverified or secondary, and where they live:
//! * Gregorian vs era dates: both accepted everywhere (the spec switch date is unverified) —
//!   [`value::parse_date`]; era-year upper bounds only, not era end days.
//! * DPC and pharmacy layouts and unlayouted record types — `records.rs` module docs; the
//!   assumed pharmacy (調剤) field order — [`pharmacy`].
//! * GO has 4 fields ("observed"), and the totals rules (HO and GO) — `receipt.rs`.
//! * Day-column and 算定単位 rules — `checks.rs`.
//! * A trailing DOS EOF byte (0x1A) is tolerated with a Warning (not in japan.md).
//! * Byte-exact round trip holds for all CP932 text except the duplicate code points of NEC
//!   row 13 / NEC-selected IBM extensions, which encoding_rs (WHATWG) re-encodes to one
//!   canonical byte pair.

mod checks;
pub mod layout;
pub mod payers;
pub mod pharmacy;
pub mod reader;
pub mod receipt;
pub mod records;
pub mod value;
pub mod writer;

pub use payers::PayerShare;
pub use reader::{FileKind, MAX_LINE_BYTES, RecordLine, UkeReader};
pub use receipt::{FileSummary, MAX_RECEIPT_RECORDS, Receipt, ReceiptReader};
pub use records::*;
pub use value::{
    CardText, DateForm, DayCounts, Era, FieldKind, InsurerNo, Num, UkeDate, YearMonth,
    normalize_width, parse_date, parse_year_month,
};
pub use writer::{UkeWriter, WriteError, encode_record, to_bytes};
