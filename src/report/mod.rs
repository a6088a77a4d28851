//! Rendering records as a table, JSON, CSV or SVG plot (writing them is [`crate::files`]).

pub mod exporter;
pub mod figures;
pub mod heatmap;
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

/// Reading back what JSON writes for a number that is not one: a missing value (`NaN`) is
/// written `null`, and these read `null` as `NaN`, so every record round-trips.
pub mod nan {
    use serde::{Deserialize, Deserializer};

    /// A number, `null` as `NaN`.
    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    /// `NaN`: the value of a number missing from a record written before it existed.
    pub fn missing() -> f64 {
        f64::NAN
    }

    /// A pair of numbers (an interval), `null` as `NaN`.
    pub fn pair<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
        let [a, b] = <[Option<f64>; 2]>::deserialize(d)?;
        Ok([a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN)])
    }

    /// A list of numbers, `null` as `NaN`.
    pub fn vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<Option<f64>>::deserialize(d)?
            .into_iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    }
}
