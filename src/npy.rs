//! A minimal writer of NumPy `.npy` files (format version 1.0), so that a network sampled by
//! radex (MATH 1: the matrices `W_1, ..., W_{l+1}` and the input `x`) can be loaded with
//! `numpy.load` and checked outside radex.
//!
//! Layout: the magic string `\x93NUMPY`, the version bytes `1, 0`, the header length as a
//! little-endian `u16`, then the header, a Python dict literal such as
//! `{'descr': '<f8', 'fortran_order': True, 'shape': (40, 50), }` padded with spaces and ending
//! in `'\n'` so that the data starts at a multiple of 64 bytes, then the raw little-endian data.
//! Reference: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.

use std::io::{self, Write};

/// An element type `.npy` files can hold, with its NumPy type string.
pub trait Element: Copy {
    /// NumPy `descr`: `'<f8'` for `f64`, `'<f4'` for `f32` (little-endian).
    const DESCR: &'static str;
    /// Bytes per element.
    const SIZE: usize;
    /// Appends the little-endian bytes of `self`.
    fn put_le(self, out: &mut Vec<u8>);
}

impl Element for f64 {
    const DESCR: &'static str = "<f8";
    const SIZE: usize = 8;
    #[inline(always)]
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl Element for f32 {
    const DESCR: &'static str = "<f4";
    const SIZE: usize = 4;
    #[inline(always)]
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// The magic string that opens every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Alignment of the data: magic, version, length and header together are a multiple of this.
const ALIGN: usize = 64;

/// Elements converted per `write_all` call.
const CHUNK: usize = 1 << 13;

/// The complete preamble (magic, version 1.0, header length, padded header) of an array of
/// type `descr` and shape `shape` (`()` for a scalar, `(n,)` for a vector, as Python writes
/// tuples).
///
/// # Panics
/// If the header exceeds the 65,535 bytes version 1.0 allows (only with thousands of axes).
pub fn preamble(descr: &str, fortran_order: bool, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|n| n.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    };
    let order = if fortran_order { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {dims}, }}");
    // 10 bytes of magic, version and length precede the header, whose last byte is '\n'.
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    let pad = (ALIGN - unpadded % ALIGN) % ALIGN;
    header.extend(std::iter::repeat_n(' ', pad));
    header.push('\n');
    let len = u16::try_from(header.len()).expect("npy v1.0 header longer than 65535 bytes");
    let mut out = Vec::with_capacity(10 + header.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    debug_assert_eq!(out.len() % ALIGN, 0);
    out
}

/// Writes an array of shape `shape` whose elements, in memory order, are `data`: C order
/// (last index fastest) when `fortran_order` is false, column-major (first index fastest)
/// when it is true.
///
/// # Panics
/// If `data.len()` is not the product of `shape`.
pub fn write<T: Element, W: Write>(
    w: &mut W,
    shape: &[usize],
    fortran_order: bool,
    data: &[T],
) -> io::Result<()> {
    let n: usize = shape.iter().product();
    assert_eq!(
        data.len(),
        n,
        "npy data has {} elements, shape {shape:?} needs {n}",
        data.len()
    );
    w.write_all(&preamble(T::DESCR, fortran_order, shape))?;
    let mut buf = Vec::with_capacity(CHUNK * T::SIZE);
    for chunk in data.chunks(CHUNK) {
        buf.clear();
        for &x in chunk {
            x.put_le(&mut buf);
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Writes a vector of shape `(n,)`.
pub fn write_vector<T: Element, W: Write>(w: &mut W, v: &[T]) -> io::Result<()> {
    write(w, &[v.len()], false, v)
}

/// Writes an `nrows x ncols` matrix stored column-major in `data` (as radex stores every
/// `W_i`), with shape `(nrows, ncols)` and `fortran_order: True`: `numpy.load` returns the
/// matrix itself, no transpose needed.
///
/// # Panics
/// If `data.len() != nrows * ncols`.
pub fn write_col_major<T: Element, W: Write>(
    w: &mut W,
    nrows: usize,
    ncols: usize,
    data: &[T],
) -> io::Result<()> {
    write(w, &[nrows, ncols], true, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_numpy() {
        // np.save(f, np.zeros((2, 3))) writes exactly this header (numpy >= 1.14, 64-byte
        // alignment): 118 bytes of dict and padding, then '\n'.
        let p = preamble("<f8", false, &[2, 3]);
        assert_eq!(p.len(), 128);
        assert_eq!(&p[..8], b"\x93NUMPY\x01\x00");
        assert_eq!(u16::from_le_bytes([p[8], p[9]]) as usize, 118);
        let h = std::str::from_utf8(&p[10..]).unwrap();
        assert!(h.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(h.ends_with(" \n"));
        let header = |descr, fortran, shape: &[usize]| {
            String::from_utf8(preamble(descr, fortran, shape)[10..].to_vec()).unwrap()
        };
        assert_eq!(
            header("<f4", true, &[7]).trim_end(),
            "{'descr': '<f4', 'fortran_order': True, 'shape': (7,), }"
        );
        assert!(header("<f8", false, &[]).contains("'shape': (), }"));
        for shape in [&[1usize][..], &[12345, 678], &[1, 2, 3, 4, 5, 6]] {
            assert_eq!(preamble("<f8", true, shape).len() % ALIGN, 0);
        }
    }

    #[test]
    fn column_major_bytes() {
        // [[1, 2, 3], [4, 5, 6]] stored column-major: 1, 4, 2, 5, 3, 6.
        let data = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0];
        let mut out = Vec::new();
        write_col_major(&mut out, 2, 3, &data).unwrap();
        let p = preamble("<f4", true, &[2, 3]);
        assert_eq!(&out[..p.len()], &p[..]);
        let body: Vec<f32> = out[p.len()..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(body, data);
    }

    #[test]
    #[should_panic(expected = "shape")]
    fn wrong_length_panics() {
        write(&mut Vec::new(), &[2, 2], false, &[1.0f64; 3]).unwrap();
    }
}
