//! Every size limit of a definition or a value, named so the store, the API and the docs agree.

/// Longest module or field key (`[a-z][a-z0-9_]{0,62}`), short enough for index names.
pub const MAX_KEY_LEN: usize = 63;
/// Most fields one module may define; keeps a record's JSON column and its forms reasonable.
pub const MAX_FIELDS_PER_MODULE: usize = 500;
/// Longest field, module or section label, in characters.
pub const MAX_LABEL_LEN: usize = 100;
/// Longest help text of a field, in characters.
pub const MAX_HELP_TEXT_LEN: usize = 500;
/// Longest single-line text value (also the ceiling of its `max_length` rule).
pub const MAX_TEXT_LEN: usize = 255;
/// Longest multi-line text value.
pub const MAX_LONG_TEXT_LEN: usize = 32_000;
/// Most values a picklist or multi-picklist may offer.
pub const MAX_PICKLIST_VALUES: usize = 500;
/// Longest picklist value, in characters.
pub const MAX_PICKLIST_VALUE_LEN: usize = 100;
/// Longest `pattern` rule source, in characters.
pub const MAX_PATTERN_LEN: usize = 500;
/// Compiled size ceiling of a `pattern` rule, so a definition cannot exhaust memory.
pub const MAX_PATTERN_COMPILED_BYTES: usize = 256 * 1024;
/// Longest e-mail address (RFC 5321 path limit minus the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest e-mail local part (RFC 5321 section 4.5.3.1.1).
pub const MAX_EMAIL_LOCAL_LEN: usize = 64;
/// Longest e-mail domain (RFC 5321 section 4.5.3.1.2).
pub const MAX_EMAIL_DOMAIN_LEN: usize = 253;
/// Longest DNS label.
pub const MAX_DNS_LABEL_LEN: usize = 63;
/// Fewest digits of a phone number in E.164 form (short national numbers are refused).
pub const MIN_PHONE_DIGITS: usize = 7;
/// Most digits of a phone number (E.164).
pub const MAX_PHONE_DIGITS: usize = 15;
/// Longest URL, in bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Most digits after the decimal point of a decimal or currency value.
pub const MAX_DECIMAL_SCALE: u8 = 12;
/// Most digits before the decimal point; with [`MAX_DECIMAL_SCALE`] every value fits an `i128`
/// rescaled to the maximum scale, so comparisons never overflow.
pub const MAX_DECIMAL_INTEGER_DIGITS: usize = 18;
/// Most sections in one layout.
pub const MAX_LAYOUT_SECTIONS: usize = 50;
/// Longest formula expression, in characters.
pub const MAX_FORMULA_LEN: usize = 2000;
/// Deepest nesting of a formula (parentheses, operators, calls), so parsing and evaluation
/// cannot exhaust the stack.
pub const MAX_FORMULA_DEPTH: usize = 32;
/// Most arguments of one formula function call.
pub const MAX_FORMULA_ARGS: usize = 32;
/// Longest text a formula may produce; longer results evaluate to null.
pub const MAX_FORMULA_TEXT_LEN: usize = 10_000;
