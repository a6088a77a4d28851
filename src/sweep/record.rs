//! A unit's records as JSON, losslessly (the records of MATH 3 and MATH 6). A merged
//! sweep must print bitwise what one run prints, so every number must come back as it went:
//! finite `f64`s do (serde_json writes the shortest text that reads back, and parses it
//! exactly with `float_roundtrip`), but JSON has no NaN or infinity, and serde_json writes
//! them as `null`, which comes back as `None` or NaN. Here a record goes through a value tree
//! that keeps every float (`serde_value`), and a non-finite one is written as the object
//! `{"f64": "NaN"}` (`"inf"`, `"-inf"`), which no record holds otherwise.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value as Json};
use serde_value::Value;

use super::error::Error;

/// The key of a non-finite float's object.
const F64: &str = "f64";

/// `v` as JSON, non-finite floats included.
pub fn encode<T: Serialize>(v: &T) -> Result<Json, Error> {
    let tree = serde_value::to_value(v).map_err(|e| Error::Record(e.to_string()))?;
    to_json(tree)
}

/// A record written by [`encode`].
pub fn decode<T: DeserializeOwned>(j: &Json) -> Result<T, Error> {
    from_json(j)
        .deserialize_into()
        .map_err(|e| Error::Record(e.to_string()))
}

fn float(f: f64) -> Json {
    if f.is_finite() {
        Json::Number(Number::from_f64(f).expect("finite"))
    } else {
        let text = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        Json::Object(Map::from_iter([(F64.to_string(), Json::from(text))]))
    }
}

fn to_json(v: Value) -> Result<Json, Error> {
    Ok(match v {
        Value::Bool(b) => Json::Bool(b),
        Value::U8(n) => n.into(),
        Value::U16(n) => n.into(),
        Value::U32(n) => n.into(),
        Value::U64(n) => n.into(),
        Value::I8(n) => n.into(),
        Value::I16(n) => n.into(),
        Value::I32(n) => n.into(),
        Value::I64(n) => n.into(),
        Value::F32(f) => float(f as f64),
        Value::F64(f) => float(f),
        Value::Char(c) => Json::String(c.to_string()),
        Value::String(s) => Json::String(s),
        Value::Unit | Value::Option(None) => Json::Null,
        Value::Option(Some(v)) | Value::Newtype(v) => to_json(*v)?,
        Value::Seq(items) => Json::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Map(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| match k {
                    Value::String(k) => Ok((k, to_json(v)?)),
                    k => Err(Error::Record(format!(
                        "a map key that is not a string: {k:?}"
                    ))),
                })
                .collect::<Result<_, _>>()?,
        ),
        Value::Bytes(b) => Json::Array(b.into_iter().map(Json::from).collect()),
    })
}

fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Option(None),
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Value::U64(u),
            (None, Some(i)) => Value::I64(i),
            _ => Value::F64(
                n.as_f64()
                    .expect("a number that is not an integer is an f64"),
            ),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Seq(items.iter().map(from_json).collect()),
        Json::Object(m) => match (m.len(), m.get(F64).and_then(Json::as_str)) {
            (1, Some("NaN")) => Value::F64(f64::NAN),
            (1, Some("inf")) => Value::F64(f64::INFINITY),
            (1, Some("-inf")) => Value::F64(f64::NEG_INFINITY),
            _ => Value::Map(
                m.iter()
                    .map(|(k, v)| (Value::String(k.clone()), from_json(v)))
                    .collect::<BTreeMap<_, _>>(),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize)]
    struct R {
        a: f64,
        b: Vec<f64>,
        c: Option<f64>,
        d: Option<f64>,
        e: u64,
        f: String,
    }

    #[test]
    fn every_float_comes_back_bit_for_bit() {
        let vals = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            0.1,
            1.0,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            std::f64::consts::PI,
            1.0 / 3.0,
        ];
        let r = R {
            a: f64::NAN,
            b: vals.to_vec(),
            c: Some(f64::NEG_INFINITY),
            d: None,
            e: u64::MAX,
            f: "NaN".into(),
        };
        let text = serde_json::to_string(&encode(&r).unwrap()).unwrap();
        let back: R = decode(&serde_json::from_str(&text).unwrap()).unwrap();
        assert!(back.a.is_nan());
        for (x, y) in r.b.iter().zip(&back.b) {
            assert!(
                x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                "{x} {y}"
            );
        }
        assert_eq!(back.c, Some(f64::NEG_INFINITY));
        assert_eq!(back.d, None);
        assert_eq!(back.e, u64::MAX);
        assert_eq!(back.f, "NaN");
    }
}
