//! The machinery that turns one field table per record type into a typed struct, its
//! decoder and its encoder, so that the table (names, indexes, which fields are identifiers)
//! is the single place a layout is written down. The tables themselves are in `records.rs`.

use super::value::{FieldIssue, FieldKind};

/// One field (or a run of `width` columns, for day counts) of a record layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// 0-based CSV column (index 0 is the record identifier), as in japan.md.
    pub index: usize,
    pub width: usize,
    pub kind: FieldKind,
    /// Field name as japan.md gives it.
    pub name: &'static str,
    /// Identifier or free text: masked in findings.
    pub sensitive: bool,
}

/// A typed field that failed to decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub spec: FieldSpec,
    pub issue: FieldIssue,
}

/// The `width` columns starting at `index`, or fewer if the record is short (callers check the
/// field count first; this only keeps decoding panic-free).
pub(crate) fn columns<'a, 'b>(fields: &'a [&'b str], index: usize, width: usize) -> &'a [&'b str] {
    let start = index.min(fields.len());
    let end = index.saturating_add(width).min(fields.len());
    &fields[start..end]
}

/// Defines a typed record from its field table. Each row is
/// `index => rust_name: Type, "japan.md name" [, sensitive];`.
macro_rules! uke_record {
    (
        $(#[$meta:meta])*
        $name:ident, count = $count:literal {
            $( $idx:literal => $field:ident : $ty:ty, $ja:literal $(, $flag:ident)? ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( #[doc = $ja] pub $field: $ty, )*
        }

        impl $name {
            /// Number of CSV fields including the record identifier.
            pub const FIELD_COUNT: usize = $count;
            /// The field table (columns 1.. in order).
            pub const FIELDS: &'static [$crate::uke::layout::FieldSpec] = &[
                $( $crate::uke::layout::FieldSpec {
                    index: $idx,
                    width: <$ty as $crate::uke::value::FieldValue>::WIDTH,
                    kind: <$ty as $crate::uke::value::FieldValue>::KIND,
                    name: $ja,
                    sensitive: uke_record!(@sensitive $($flag)?),
                }, )*
            ];

            /// Decodes all fields; every failing field is reported, not just the first.
            pub(crate) fn decode(
                fields: &[&str],
            ) -> Result<Self, Vec<$crate::uke::layout::FieldError>> {
                let mut errors = Vec::new();
                let mut specs = Self::FIELDS.iter();
                $(
                    let spec = specs.next().copied();
                    let $field = match <$ty as $crate::uke::value::FieldValue>::decode(
                        $crate::uke::layout::columns(
                            fields,
                            $idx,
                            <$ty as $crate::uke::value::FieldValue>::WIDTH,
                        ),
                    ) {
                        Ok(v) => Some(v),
                        Err(issue) => {
                            if let Some(spec) = spec {
                                errors.push($crate::uke::layout::FieldError { spec, issue });
                            }
                            None
                        }
                    };
                )*
                match ( $( $field, )* ) {
                    ( $( Some($field), )* ) => Ok(Self { $( $field, )* }),
                    _ => Err(errors),
                }
            }

            /// Pushes columns 1.. (the caller writes the identifier).
            pub(crate) fn encode(&self, out: &mut Vec<String>) {
                $( $crate::uke::value::FieldValue::encode(&self.$field, out); )*
            }
        }
    };
    (@sensitive sensitive) => { true };
    (@sensitive) => { false };
}

pub(crate) use uke_record;
