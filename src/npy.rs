//! NumPy `.npy` files (format version 1.0), written with `npyz`, so that a network sampled by
//! radex (MATH 1: the matrices `W_1, ..., W_{l+1}` and the input `x`) can be loaded with
//! `numpy.load` and checked outside radex.
//!
//! Layout: the magic string `\x93NUMPY`, the version bytes `1, 0`, the header length as a
//! little-endian `u16`, then the header, a Python dict literal such as
//! `{'descr': '<f8', 'fortran_order': True, 'shape': (40, 50, ), }` padded with spaces and ending
//! in `'\n'` so that the data starts at a multiple of 64 bytes, then the raw little-endian data.
//! Reference: <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>.

use std::io::{self, Write};

use npyz::write_options::{HasDType, HasShape, MissingWriter};
use npyz::{DType, Order, WriteOptions, WriterBuilder};

/// An element type `.npy` files can hold, with its NumPy type string.
pub trait Element: Copy + npyz::Serialize {
    /// NumPy `descr`: `'<f8'` for `f64`, `'<f4'` for `f32` (little-endian).
    const DESCR: &'static str;
    /// Bytes per element.
    const SIZE: usize;
}

impl Element for f64 {
    const DESCR: &'static str = "<f8";
    const SIZE: usize = 8;
}

impl Element for f32 {
    const DESCR: &'static str = "<f4";
    const SIZE: usize = 4;
}

/// The magic string that opens every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// npyz's options for an array of type `descr`, shape `shape` and the given order.
///
/// # Panics
/// If `descr` is not a NumPy type string.
fn options<T: ?Sized>(
    opts: WriteOptions<T>,
    descr: &str,
    fortran_order: bool,
    shape: &[usize],
) -> impl WriterBuilder<T> + HasDType + HasShape + MissingWriter {
    let ty = descr.parse().expect("a NumPy type string such as '<f8'");
    let dims: Vec<u64> = shape.iter().map(|&n| n as u64).collect();
    let order = if fortran_order {
        Order::Fortran
    } else {
        Order::C
    };
    opts.order(order).dtype(DType::Plain(ty)).shape(&dims)
}

/// The complete preamble (magic, version, header length, padded header) of an array of type
/// `descr` and shape `shape` (`()` for a scalar), exactly as [`write`] starts the file.
///
/// # Panics
/// If `descr` is not a NumPy type string.
pub fn preamble(descr: &str, fortran_order: bool, shape: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    options(WriteOptions::new_header_only(), descr, fortran_order, shape)
        .writer(&mut out)
        .write_header_only()
        .expect("writing to a Vec cannot fail");
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
    let mut out = options(WriteOptions::<T>::new(), T::DESCR, fortran_order, shape)
        .writer(w)
        .begin_nd()?;
    out.extend(data.iter().copied())?;
    out.finish()
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
    fn header_is_numpy_format_1_0() {
        // np.save(f, np.zeros((2, 3))) writes a 128-byte preamble: version 1.0, a dict padded
        // with spaces to 64-byte alignment, then '\n'.
        let p = preamble("<f8", false, &[2, 3]);
        assert_eq!(p.len(), 128);
        assert_eq!(&p[..8], b"\x93NUMPY\x01\x00");
        assert_eq!(u16::from_le_bytes([p[8], p[9]]) as usize, 118);
        let h = std::str::from_utf8(&p[10..]).unwrap();
        assert!(h.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, ), }"));
        assert!(h.ends_with(" \n"));
        let header = |descr, fortran, shape: &[usize]| {
            String::from_utf8(preamble(descr, fortran, shape)[10..].to_vec()).unwrap()
        };
        assert_eq!(
            header("<f4", true, &[7]).trim_end(),
            "{'descr': '<f4', 'fortran_order': True, 'shape': (7, ), }"
        );
        assert!(header("<f8", false, &[]).contains("'shape': (), }"));
        for shape in [&[1usize][..], &[12345, 678], &[1, 2, 3, 4, 5, 6]] {
            assert_eq!(preamble("<f8", true, shape).len() % 64, 0);
        }
    }

    #[test]
    fn reads_back_with_shape_order_and_values() {
        for fortran in [false, true] {
            let data = [1.5f64, -2.0, 3.25, 4.0, 5.0, -6.5];
            let mut out = Vec::new();
            write(&mut out, &[2, 3], fortran, &data).unwrap();
            assert_eq!(&out[..128], &preamble("<f8", fortran, &[2, 3])[..]);
            let f = npyz::NpyFile::new(&out[..]).unwrap();
            assert_eq!(f.shape(), [2, 3]);
            let order = if fortran { Order::Fortran } else { Order::C };
            assert_eq!(f.order(), order);
            assert_eq!(f.into_vec::<f64>().unwrap(), data);
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
