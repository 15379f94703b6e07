//! Typed field values of UKE records.
//!
//! Every value keeps enough of its source form that writing it back reproduces the original
//! text exactly (leading zeros of numbers, the era form of dates, full-width card digits), so
//! `write(read(bytes)) == bytes` for every field the reader accepts.

use std::fmt;
use std::num::NonZeroU8;

/// Why one field's text could not be turned into its typed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub kind: IssueKind,
    /// Offset inside a multi-column value (the day index of [`DayCounts`]); 0 otherwise.
    pub column_offset: usize,
    pub reason: String,
}

/// The class of a field-level problem; mapped to a [`crate::FindingKind`] by the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    BadDate,
    BadEraDate,
    BadYearMonth,
    NotANumber,
    BadCodeShape,
}

impl FieldIssue {
    fn new(kind: IssueKind, reason: impl Into<String>) -> Self {
        FieldIssue {
            kind,
            column_offset: 0,
            reason: reason.into(),
        }
    }
}

/// The value class of a field, as shown in layout tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Number,
    Date,
    YearMonth,
    CardText,
    InsurerNo,
    DayCounts,
}

/// A value that occupies `WIDTH` consecutive CSV columns of a record.
pub trait FieldValue: Sized {
    const WIDTH: usize = 1;
    const KIND: FieldKind;
    /// `raw` has exactly `WIDTH` entries.
    fn decode(raw: &[&str]) -> Result<Self, FieldIssue>;
    /// Pushes exactly `WIDTH` strings.
    fn encode(&self, out: &mut Vec<String>);
}

fn first<'a>(raw: &[&'a str]) -> &'a str {
    raw.first().copied().unwrap_or("")
}

impl FieldValue for String {
    const KIND: FieldKind = FieldKind::Text;
    fn decode(raw: &[&str]) -> Result<Self, FieldIssue> {
        Ok(first(raw).to_owned())
    }
    fn encode(&self, out: &mut Vec<String>) {
        out.push(self.clone());
    }
}

/// An unsigned decimal number as written (ASCII digits). Keeps its written width so that
/// zero-padded values (`0012`) write back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Num {
    value: u64,
    // Never zero (a number has at least one digit): the niche makes `Option<Num>` 16 bytes
    // instead of 24, and a service line holds 31 of them (its day counts).
    width: NonZeroU8,
}

fn width_of(digits: usize) -> NonZeroU8 {
    NonZeroU8::new(digits.clamp(1, MAX_DIGITS) as u8).unwrap_or(NonZeroU8::MIN)
}

/// u64 holds every 19-digit decimal; longer numbers do not occur in any UKE layout.
const MAX_DIGITS: usize = 19;

impl Num {
    /// The canonical (unpadded) form of `value`.
    pub fn new(value: u64) -> Self {
        let width = width_of(value.checked_ilog10().map_or(1, |l| l as usize + 1));
        Num { value, width }
    }

    /// `value` written with at least `width` digits (zero-padded).
    pub fn padded(value: u64, width: u8) -> Self {
        let natural = Num::new(value).width;
        Num {
            value,
            width: width_of(usize::from(width)).max(natural),
        }
    }

    pub fn value(self) -> u64 {
        self.value
    }

    pub fn parse(text: &str) -> Result<Self, FieldIssue> {
        if text.is_empty() || text.len() > MAX_DIGITS || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldIssue::new(
                IssueKind::NotANumber,
                format!("expected 1–{MAX_DIGITS} ASCII digits"),
            ));
        }
        let value = text.parse::<u64>().map_err(|_| {
            FieldIssue::new(IssueKind::NotANumber, "number does not fit in 64 bits")
        })?;
        Ok(Num {
            value,
            width: width_of(text.len()),
        })
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:0width$}",
            self.value,
            width = usize::from(self.width.get())
        )
    }
}

impl FieldValue for Option<Num> {
    const KIND: FieldKind = FieldKind::Number;
    fn decode(raw: &[&str]) -> Result<Self, FieldIssue> {
        match first(raw) {
            "" => Ok(None),
            text => Num::parse(text).map(Some),
        }
    }
    fn encode(&self, out: &mut Vec<String>) {
        out.push(self.map(|n| n.to_string()).unwrap_or_default());
    }
}

/// How a date was written: `YYYYMMDD` or the older `GYYMMDD` with an era digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateForm {
    Gregorian,
    Era(Era),
}

/// Japanese eras as coded in the era digit (japan.md §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Era {
    Meiji = 1,
    Taisho = 2,
    Showa = 3,
    Heisei = 4,
    Reiwa = 5,
}

impl Era {
    pub const ALL: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

    pub fn from_digit(d: u8) -> Option<Era> {
        Era::ALL.get(usize::from(d).checked_sub(1)?).copied()
    }
    pub fn digit(self) -> u8 {
        self as u8
    }
    /// Gregorian year of era year 1 (元年).
    pub fn first_year(self) -> u16 {
        match self {
            Era::Meiji => 1868,
            Era::Taisho => 1912,
            Era::Showa => 1926,
            Era::Heisei => 1989,
            Era::Reiwa => 2019,
        }
    }
    /// Highest era year accepted. Only the year is bounded; that e.g. 平成31 ended on 30 April
    /// is not enforced (whether the spec tolerates overrun dates is unverified).
    pub fn last_year(self) -> u8 {
        match self {
            Era::Meiji => 45,
            Era::Taisho => 15,
            Era::Showa => 64,
            Era::Heisei => 31,
            Era::Reiwa => 99,
        }
    }
}

/// Gregorian years accepted in 8-digit dates: from the first era the spec codes to a bound
/// that catches typos without rejecting plausible future dates.
const GREGORIAN_YEARS: std::ops::RangeInclusive<u16> = 1868..=2999;

/// A calendar date from a UKE field (Gregorian or era form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UkeDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub form: DateForm,
}

/// A year and month (`YYYYMM` or era `GYYMM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct YearMonth {
    pub year: u16,
    pub month: u8,
    pub form: DateForm,
}

fn digits(text: &str) -> Option<Vec<u8>> {
    text.bytes()
        .map(|b| b.is_ascii_digit().then(|| b - b'0'))
        .collect()
}

fn number(ds: &[u8]) -> u16 {
    ds.iter().fold(0u16, |acc, &d| acc * 10 + u16::from(d))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// The one conversion of a year field: `YYYY` (4 digits) or era `GYY` (3 digits) →
/// (Gregorian year, form). `ds` are the year digits only.
fn convert_year(ds: &[u8]) -> Result<(u16, DateForm), FieldIssue> {
    match ds {
        [g, yy @ ..] if yy.len() == 2 => {
            let era = Era::from_digit(*g).ok_or_else(|| {
                FieldIssue::new(IssueKind::BadEraDate, format!("era digit {g} is not 1–5"))
            })?;
            let era_year = number(yy) as u8;
            if era_year == 0 || era_year > era.last_year() {
                return Err(FieldIssue::new(
                    IssueKind::BadEraDate,
                    format!("era year {era_year} outside 1–{}", era.last_year()),
                ));
            }
            Ok((
                era.first_year() + u16::from(era_year) - 1,
                DateForm::Era(era),
            ))
        }
        _ => {
            let year = number(ds);
            if !GREGORIAN_YEARS.contains(&year) {
                return Err(FieldIssue::new(
                    IssueKind::BadDate,
                    format!("year {year} outside {GREGORIAN_YEARS:?}"),
                ));
            }
            Ok((year, DateForm::Gregorian))
        }
    }
}

fn issue_kind_for(form_era: bool, gregorian: IssueKind) -> IssueKind {
    if form_era {
        IssueKind::BadEraDate
    } else {
        gregorian
    }
}

/// Parses a date written `YYYYMMDD` (current spec) or `GYYMMDD` (older spec, era digit
/// 1 明治 … 5 令和). This is the single place both forms are converted.
pub fn parse_date(text: &str) -> Result<UkeDate, FieldIssue> {
    let ds = digits(text)
        .filter(|d| d.len() == 8 || d.len() == 7)
        .ok_or_else(|| {
            FieldIssue::new(
                IssueKind::BadDate,
                "expected YYYYMMDD (8 digits) or GYYMMDD (7 digits)",
            )
        })?;
    let era = ds.len() == 7;
    let split = ds.len() - 4;
    let (year, form) = convert_year(&ds[..split])?;
    let month = number(&ds[split..split + 2]) as u8;
    let day = number(&ds[split + 2..]) as u8;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(FieldIssue::new(
            issue_kind_for(era, IssueKind::BadDate),
            format!("no such calendar day (month {month}, day {day})"),
        ));
    }
    Ok(UkeDate {
        year,
        month,
        day,
        form,
    })
}

/// Parses `YYYYMM` or era `GYYMM`.
pub fn parse_year_month(text: &str) -> Result<YearMonth, FieldIssue> {
    let ds = digits(text)
        .filter(|d| d.len() == 6 || d.len() == 5)
        .ok_or_else(|| {
            FieldIssue::new(
                IssueKind::BadYearMonth,
                "expected YYYYMM (6 digits) or GYYMM (5 digits)",
            )
        })?;
    let era = ds.len() == 5;
    let split = ds.len() - 2;
    let (year, form) = convert_year(&ds[..split]).map_err(|mut e| {
        if e.kind == IssueKind::BadDate {
            e.kind = IssueKind::BadYearMonth;
        }
        e
    })?;
    let month = number(&ds[split..]) as u8;
    if !(1..=12).contains(&month) {
        return Err(FieldIssue::new(
            issue_kind_for(era, IssueKind::BadYearMonth),
            format!("month {month} outside 1–12"),
        ));
    }
    Ok(YearMonth { year, month, form })
}

fn write_year(year: u16, form: DateForm) -> String {
    match form {
        DateForm::Gregorian => format!("{year:04}"),
        DateForm::Era(era) => format!(
            "{}{:02}",
            era.digit(),
            year.saturating_sub(era.first_year()) + 1
        ),
    }
}

impl fmt::Display for UkeDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{:02}{:02}",
            write_year(self.year, self.form),
            self.month,
            self.day
        )
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:02}", write_year(self.year, self.form), self.month)
    }
}

impl FieldValue for Option<UkeDate> {
    const KIND: FieldKind = FieldKind::Date;
    fn decode(raw: &[&str]) -> Result<Self, FieldIssue> {
        match first(raw) {
            "" => Ok(None),
            text => parse_date(text).map(Some),
        }
    }
    fn encode(&self, out: &mut Vec<String>) {
        out.push(self.map(|d| d.to_string()).unwrap_or_default());
    }
}

impl FieldValue for Option<YearMonth> {
    const KIND: FieldKind = FieldKind::YearMonth;
    fn decode(raw: &[&str]) -> Result<Self, FieldIssue> {
        match first(raw) {
            "" => Ok(None),
            text => parse_year_month(text).map(Some),
        }
    }
    fn encode(&self, out: &mut Vec<String>) {
        out.push(self.map(|d| d.to_string()).unwrap_or_default());
    }
}

/// Text of an insurance-card symbol or number: may be written with full-width digits and
/// letters (japan.md §2.2 HO). The original is kept; [`CardText::normalized`] gives the ASCII
/// form for matching.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CardText(pub String);

impl CardText {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Full-width ASCII variants (U+FF01–U+FF5E) → ASCII and the ideographic space → space;
    /// everything else (kanji in symbols) unchanged. Hand-written because only this narrow
    /// slice of NFKC is wanted and a Unicode-normalization crate would also fold half-width
    /// katakana.
    pub fn normalized(&self) -> String {
        normalize_width(&self.0)
    }
}

/// See [`CardText::normalized`].
pub fn normalize_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

impl FieldValue for CardText {
    const KIND: FieldKind = FieldKind::CardText;
    fn decode(raw: &[&str]) -> Result<Self, FieldIssue> {
        Ok(CardText(first(raw).to_owned()))
    }
    fn encode(&self, out: &mut Vec<String>) {
        out.push(self.0.clone());
    }
}

/// 保険者番号: 8 ASCII digits, or 6 for municipal 国保 (japan.md §2.2 HO). An identifier of the
/// insurer; masked in findings with the rest of the card data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct InsurerNo(pub String);

impl InsurerNo {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FieldValue for InsurerNo {
    const KIND: FieldKind = FieldKind::InsurerNo;
    fn decode(raw: &[&str]) -> Result<Self, FieldIssue> {
        let text = first(raw);
        if (text.len() == 8 || text.len() == 6) && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(InsurerNo(text.to_owned()))
        } else {
            Err(FieldIssue::new(
                IssueKind::BadCodeShape,
                "保険者番号 must be 8 (or 6) ASCII digits",
            ))
        }
    }
    fn encode(&self, out: &mut Vec<String>) {
        out.push(self.0.clone());
    }
}

/// The 31 算定日情報 columns (count per day of the month; empty = none).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DayCounts(pub [Option<Num>; 31]);

impl DayCounts {
    /// Sum of the counts (saturating: a sum that overflows cannot equal any count anyway).
    pub fn total(&self) -> u64 {
        self.0
            .iter()
            .flatten()
            .fold(0u64, |acc, n| acc.saturating_add(n.value()))
    }
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(Option::is_none)
    }
    /// Count on day `day` (1-based).
    pub fn on(&self, day: usize) -> Option<Num> {
        self.0.get(day.checked_sub(1)?).copied().flatten()
    }
}

impl FieldValue for DayCounts {
    const WIDTH: usize = 31;
    const KIND: FieldKind = FieldKind::DayCounts;
    fn decode(raw: &[&str]) -> Result<Self, FieldIssue> {
        let mut days = [None; 31];
        for (i, slot) in days.iter_mut().enumerate() {
            *slot = <Option<Num>>::decode(&raw[i.min(raw.len())..]).map_err(|mut e| {
                e.column_offset = i;
                e.reason = format!("day {}: {}", i + 1, e.reason);
                e
            })?;
        }
        Ok(DayCounts(days))
    }
    fn encode(&self, out: &mut Vec<String>) {
        for d in &self.0 {
            d.encode(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn era_and_gregorian_dates_convert_through_one_function() {
        let g = parse_date("19930702").unwrap();
        assert_eq!(
            (g.year, g.month, g.day, g.form),
            (1993, 7, 2, DateForm::Gregorian)
        );
        let e = parse_date("4050702").unwrap(); // 平成5年7月2日
        assert_eq!((e.year, e.month, e.day), (1993, 7, 2));
        assert_eq!(e.form, DateForm::Era(Era::Heisei));
        assert_eq!(e.to_string(), "4050702");
        assert_eq!(parse_date("5010501").unwrap().year, 2019); // 令和元年
        assert_eq!(parse_date("3640107").unwrap().year, 1989); // 昭和64年
        assert_eq!(parse_year_month("50206").unwrap().year, 2020);
        assert_eq!(parse_year_month("202006").unwrap().to_string(), "202006");
    }

    #[test]
    fn bad_dates_are_rejected() {
        assert_eq!(parse_date("20240230").unwrap_err().kind, IssueKind::BadDate);
        assert_eq!(parse_date("20230229").unwrap_err().kind, IssueKind::BadDate);
        assert!(parse_date("20240229").is_ok());
        assert_eq!(
            parse_date("6010101").unwrap_err().kind,
            IssueKind::BadEraDate
        );
        assert_eq!(
            parse_date("4320101").unwrap_err().kind,
            IssueKind::BadEraDate
        );
        assert_eq!(
            parse_date("4000101").unwrap_err().kind,
            IssueKind::BadEraDate
        );
        assert_eq!(
            parse_date("2024011").unwrap_err().kind,
            IssueKind::BadEraDate
        );
        assert_eq!(
            parse_date("２０２４０１０１").unwrap_err().kind,
            IssueKind::BadDate
        );
        assert_eq!(
            parse_year_month("202413").unwrap_err().kind,
            IssueKind::BadYearMonth
        );
    }

    #[test]
    fn numbers_keep_their_width() {
        let n = Num::parse("0012").unwrap();
        assert_eq!((n.value(), n.to_string()), (12, "0012".to_owned()));
        assert_eq!(Num::new(0).to_string(), "0");
        assert_eq!(Num::new(318).to_string(), "318");
        assert!(Num::parse("-1").is_err());
        assert!(Num::parse("12a").is_err());
        assert!(Num::parse("99999999999999999999").is_err());
    }

    #[test]
    fn card_text_normalizes_full_width() {
        let c = CardText("１２３ＡＢ　記号".into());
        assert_eq!(c.normalized(), "123AB 記号");
        assert_eq!(c.as_str(), "１２３ＡＢ　記号");
    }
}
