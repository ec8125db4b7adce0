//! Named limits of the query language; violations quote them.

/// Page size when the caller asks for none.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Most comparisons in one filter.
pub const MAX_FILTER_CLAUSES: usize = 50;
/// Deepest nesting of `and` / `or` groups.
pub const MAX_FILTER_DEPTH: usize = 5;
/// Most values in one `in` list.
pub const MAX_IN_VALUES: usize = 100;
/// Longest text operand, in characters; indexed text is capped at the same length.
pub const MAX_TEXT_VALUE_CHARS: usize = 500;
/// Most sort keys (the record id is always added to break ties).
pub const MAX_SORT_KEYS: usize = 3;
/// Longest page token accepted, in characters.
pub const MAX_PAGE_TOKEN_CHARS: usize = 8192;
/// Count cap when the caller asks for none.
pub const DEFAULT_COUNT_CAP: u32 = 10_000;
/// Largest count cap a caller may ask for.
pub const MAX_COUNT_CAP: u32 = 100_000;
