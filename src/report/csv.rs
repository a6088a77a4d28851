//! `--format csv`: rows under one header, a missing value an empty field; a comparison's two
//! halves under one header with a first column naming the half.

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

/// Two CSV texts with one header as one, with a first column `network` (`given`, `init`).
pub fn tagged_csv(given: &str, init: &str) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    for (i, (name, text)) in [("given", given), ("init", init)].into_iter().enumerate() {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        for (j, rec) in r.records().enumerate() {
            let rec = rec.expect("radex's own CSV parses");
            // One header, from the first half.
            let first = match j {
                0 if i > 0 => continue,
                0 => "network",
                _ => name,
            };
            out.write_record(std::iter::once(first).chain(rec.iter()))
                .expect("in-memory writer");
        }
    }
    String::from_utf8(out.into_inner().expect("in-memory writer")).expect("utf-8")
}
