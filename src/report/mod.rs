//! Rendering records as a table, JSON, CSV or SVG plot (writing them is [`crate::files`]).

pub mod exporter;
pub mod figures;
pub mod rows;
pub mod svg;
pub mod table;

/// Serialises to pretty JSON with a trailing newline.
pub fn to_json<S: serde::Serialize>(value: &S) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("records serialise");
    s.push('\n');
    s
}

/// Serialises rows to CSV with a header. A missing value (an absent option, or a number that
/// is not finite: `NaN`, `inf`, `-inf`) is an empty field, the one convention of every CSV
/// radex writes (pandas and R read it as missing).
pub fn to_csv<S: serde::Serialize>(rows: &[S]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).expect("rows serialise");
    }
    let raw = w.into_inner().expect("in-memory writer");
    // serde gives non-finite floats as `NaN`/`inf`; no string field radex writes takes those
    // values, so they are rewritten field by field.
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(raw.as_slice());
    let mut out = csv::Writer::from_writer(Vec::new());
    for rec in r.records() {
        let rec = rec.expect("radex's own CSV parses");
        out.write_record(rec.iter().map(|f| match f {
            "NaN" | "inf" | "-inf" => "",
            f => f,
        }))
        .expect("in-memory writer");
    }
    String::from_utf8(out.into_inner().expect("in-memory writer")).expect("utf-8")
}
