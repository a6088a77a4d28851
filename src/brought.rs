//! Networks and inputs a user brings (MATH 10): safetensors, npz, export directories, npy inputs.
//!
//! A network is the MATH 9 form `z_i = W_i h_{i-1} + b_i`, `h_i = phi(z_i)`,
//! `F(x) = W_{l+1} h_l + b_{l+1}`, with every `W_i` in PyTorch `nn.Linear` layout, shape
//! `(d_i, d_{i-1})`, and optional `b_i` of shape `(d_i,)`. Three containers hold one:
//!
//! - a **safetensors** file of a `torch.nn.Sequential` state dict: tensors `{n}.weight` and
//!   `{n}.bias`, where `n` are the indices of the `Linear` modules (activations sit between them,
//!   so `0, 2, 4` is usual); layers are ordered by `n`. Every key may also carry one common
//!   prefix (`net.0.weight`, `model.layers.0.weight`: a Sequential kept as an attribute), but
//!   only if all keys share it, so that two networks in one file are refused rather than
//!   interleaved. The metadata key `radex.activation` (e.g. `tanh`, `leaky:0.1`) names `phi`.
//! - an **npz** archive (`numpy.savez`) of `W1..W{l+1}` and optional `b1..b{l+1}`, in C or
//!   Fortran order.
//! - radex's own **export** directory (`radex export`): `manifest.json` lists `W{i}.npy` with
//!   their shapes; `b{i}.npy` are read when listed or present, and a top-level `"act"` names
//!   `phi`. `x.npy` is an input, not part of the network, and is ignored.
//!
//! Elements may be float64, float32, float16 or bfloat16 (safetensors), all converted exactly
//! to `f64`. Inputs are one `.npy` array of shape `(n, d)` or `(d,)`.
//!
//! Files are hostile until checked: every malformed, truncated or inconsistent file, non-float
//! dtype and NaN/inf entry is refused with one line naming the flag (`--model`, `--inputs`), the
//! tensor and the fix. Memory: each load has a budget of `limit` bytes, and every allocation
//! whose size a file decides is charged against it before it is made: the file itself (its
//! size on disk, before reading it), the in-memory form of each parsed index (the safetensors
//! JSON header, `manifest.json`, the zip central directory) at a bound computed from its size,
//! each decompressed zip entry at its declared size (then read through a `Read::take` guard, so
//! an entry cannot grow past what its header declared), and each `f64` array at its element
//! count. Sizes use checked arithmetic, and a shape's element count must fit in the bytes that
//! follow its header, so no claimed size is trusted before it is checked.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Cursor, Read};
use std::path::Path;

use npyz::{DType, NpyFile, Order, TypeChar};
use py_literal::Value;
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use crate::act::Act;
use crate::error::{Error, Result, cut, human_bytes, invalid};

/// Name of the manifest inside an export directory (`radex export` writes it).
pub const MANIFEST: &str = "manifest.json";

/// Weights of a fully connected network in PyTorch `nn.Linear` layout, converted to `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// `d_0, d_1, .., d_l`: the input dimension, then the hidden widths.
    pub dims: Vec<usize>,
    /// `K = d_{l+1}`, the number of outputs.
    pub outputs: usize,
    /// `W_i` for `i = 1..=l+1`, column-major `d_i x d_{i-1}` (entry `(r, c)` at `r + c d_i`),
    /// as radex stores every matrix.
    pub weights: Vec<Vec<f64>>,
    /// `None` if the file has no bias at all; else `b_i` (length `d_i`) for every layer, zeros
    /// where a layer has none.
    pub biases: Option<Vec<Vec<f64>>>,
    /// The activation the file names (safetensors metadata `radex.activation`, the export
    /// manifest's `act`); `None` if it does not say.
    pub act: Option<Act>,
    /// The container: `"safetensors"`, `"npz"` or `"export"`.
    pub format: &'static str,
}

/// The flag of a network file.
const MODEL: &str = "--model";
/// The flag of an inputs file.
const INPUTS: &str = "--inputs";
/// What `--model` accepts, for errors that cannot tell what the file was meant to be.
const FORMATS: &str = "expected a safetensors file of a torch.nn.Sequential state dict \
     ('{n}.weight', '{n}.bias'), an .npz archive of W1..W{l+1} and b1..b{l+1}, or a radex \
     export directory";
/// Safetensors metadata key naming the activation.
pub const ACT_KEY: &str = "radex.activation";
/// Longest `.npy` header read: numpy.load's own default `max_header_size`.
const NPY_HEADER_MAX: usize = 10_000;
/// Bytes of an `.npy` array read before its header is checked: the magic, version and length
/// fields (12 bytes at most) and the longest header.
const NPY_HEAD_MAX: u64 = 12 + NPY_HEADER_MAX as u64;
/// Most brackets an `.npy` header may hold. A float array's has two (the dict and the shape
/// tuple); the bound keeps the recursive header parser's stack shallow on any input.
const NPY_BRACKETS_MAX: usize = 16;
/// Bytes of memory a parsed JSON header may take per byte of text (a shape's `1,` becomes an
/// 8-byte `usize`); charged before parsing.
const JSON_FACTOR: u128 = 8;
/// Signature of a zip central-directory record, each of which becomes one index entry.
const ZIP_RECORD: &[u8; 4] = b"PK\x01\x02";
/// Bytes of the zip crate's index entry for one record, besides copies of its strings.
const ZIP_ENTRY_BYTES: u128 = 512;

/// Reads the network at `path` (MATH 10): a safetensors file, an npz archive or a radex export
/// directory, told apart by content (a directory, the zip magic `PK`, an 8-byte header length
/// followed by `{`), else by extension.
///
/// # Errors
/// An [`Error::InvalidFlag`] naming `--model` when the file cannot be read, is malformed or
/// truncated, holds a non-float or non-finite tensor, unknown or missing tensors, shapes that
/// do not chain or fewer than two weight matrices, or would need more than `limit` bytes.
///
/// ```
/// use std::collections::HashMap;
/// use safetensors::{Dtype, tensor::TensorView};
///
/// // nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)): keys 0.* and 2.*.
/// let w0: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
/// let w2: Vec<u8> = [7.0f32, 8.0].iter().flat_map(|v| v.to_le_bytes()).collect();
/// let tensors = [
///     ("0.weight", TensorView::new(Dtype::F32, vec![2, 3], &w0)?),
///     ("2.weight", TensorView::new(Dtype::F32, vec![1, 2], &w2)?),
/// ];
/// let meta = HashMap::from([("radex.activation".to_string(), "tanh".to_string())]);
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("net.safetensors");
/// std::fs::write(&path, safetensors::serialize(tensors, Some(meta))?)?;
///
/// let net = radex::brought::load_model(&path, 1 << 20)?;
/// assert_eq!((net.dims, net.outputs), (vec![3, 2], 1));
/// assert_eq!(net.weights[0], [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]); // column-major
/// assert_eq!(net.act, Some(radex::act::Act::Tanh));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_model(path: &Path, limit: u128) -> Result<Weights> {
    let mut src = Src::new(MODEL, path, limit);
    let meta =
        fs::metadata(path).map_err(|e| src.err(format!("cannot read it ({e}); {FORMATS}")))?;
    if meta.is_dir() {
        return export(&mut src);
    }
    if !meta.is_file() {
        return Err(src.err(format!(
            "it is {}, not a model file or directory; {FORMATS}",
            kind_of(&meta)
        )));
    }
    let bytes = src.read(path, "the file")?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let zip = bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06");
    if zip && ext.as_deref() == Some("safetensors") {
        Err(src.err(
            "it is a zip archive, not a safetensors file: an .npz renamed (rename it to .npz) or a torch.save checkpoint (save the state dict with safetensors.torch.save_file)",
        ))
    } else if zip {
        npz(&mut src, &bytes)
    } else if bytes.get(8) == Some(&b'{') || ext.as_deref() == Some("safetensors") {
        safetensors(&mut src, &bytes)
    } else if ext.as_deref() == Some("npz") {
        Err(src.err("it has the extension .npz but is not a zip archive (no 'PK' magic); expected the output of numpy.savez"))
    } else if bytes.starts_with(crate::npy::MAGIC) {
        Err(src.err(format!(
            "it is a single .npy array, not a network; {FORMATS}"
        )))
    } else {
        Err(src.err(format!("unrecognised format; {FORMATS}")))
    }
}

/// What a path that is neither a regular file nor a directory is, for errors.
fn kind_of(meta: &fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    let _ = meta;
    "not a regular file"
}

/// The format of the network at `path` when it certainly does not name its activation (an
/// npz archive never does; a safetensors file without the metadata key [`ACT_KEY`]), read
/// from the magic and the safetensors header only, before any array; `None` when it names
/// one, is an export directory (relu unless its manifest says otherwise), or cannot be told
/// (the full read then reports what is wrong).
pub fn unnamed_activation(path: &Path) -> Option<&'static str> {
    let meta = fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let mut f = File::open(path).ok()?;
    let mut head = [0u8; 9];
    f.read_exact(&mut head).ok()?;
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return (ext.as_deref() != Some("safetensors")).then_some("npz");
    }
    if head[8] != b'{' {
        return None;
    }
    let n = u64::from_le_bytes(head[..8].try_into().ok()?);
    // Only a header the file holds, and no larger than the safetensors crate accepts.
    if n > meta.len().saturating_sub(8) || n > 100_000_000 {
        return None;
    }
    let mut text = vec![0u8; usize::try_from(n).ok()?];
    text[0] = b'{';
    f.read_exact(&mut text[1..]).ok()?;
    #[derive(Deserialize)]
    struct Header {
        #[serde(rename = "__metadata__", default)]
        metadata: Option<BTreeMap<String, serde::de::IgnoredAny>>,
    }
    let h: Header = serde_json::from_slice(&text).ok()?;
    let named = h.metadata.is_some_and(|m| m.contains_key(ACT_KEY));
    (!named).then_some("safetensors")
}

/// Reads inputs from the `.npy` array at `path`: shape `(n, d)` (one input a row) or `(d,)`
/// (one input), float64/float32/float16, `n >= 1`, every entry finite; `d` is the network's
/// input dimension.
///
/// # Errors
/// An [`Error::InvalidFlag`] naming `--inputs` when the file cannot be read, is not such an
/// array (the message says both dimensions when `d` differs), or would need more than `limit`
/// bytes.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.npy");
/// let mut f = std::fs::File::create(&path)?;
/// radex::npy::write(&mut f, &[2, 3], false, &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0])?;
/// let rows = radex::brought::load_inputs(&path, 3, 1 << 20)?;
/// assert_eq!(rows, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_inputs(path: &Path, d: usize, limit: u128) -> Result<Vec<Vec<f64>>> {
    let mut src = Src::new(INPUTS, path, limit);
    let bytes = src.read(path, "the file")?;
    let want = |s: &[usize]| {
        let (n, m) = match *s {
            [n, m] => (n, m),
            [m] => (1, m),
            _ => return Some(format!("expected shape (n, {d}) or ({d},)")),
        };
        (m != d).then(|| {
            format!(
                "its inputs have {m} entries but the network's input dimension is {d}: expected shape ({n}, {d}) or ({d},)"
            )
        })
    };
    let (shape, data) = src.npy("the array", bytes.len() as u64, &bytes[..], &want, Order::C)?;
    let n = if shape.len() == 2 { shape[0] } else { 1 };
    src.charge(bytes_of(n, d), "the rows")?;
    Ok(data.chunks_exact(d.max(1)).map(<[f64]>::to_vec).collect())
}

/// Bytes of `rows x cols` `f64`s, saturating (too large is refused by the budget anyway).
fn bytes_of(rows: usize, cols: usize) -> u128 {
    (rows as u128)
        .saturating_mul(cols as u128)
        .saturating_mul(8)
}

/// One file (or directory) being read: the flag and path every error names, and the bytes
/// charged so far against the limit.
struct Src<'p> {
    flag: &'static str,
    path: &'p Path,
    limit: u128,
    used: u128,
}

impl<'p> Src<'p> {
    fn new(flag: &'static str, path: &'p Path, limit: u128) -> Self {
        Src {
            flag,
            path,
            limit,
            used: 0,
        }
    }

    /// The one-line error about this file.
    fn err(&self, reason: impl std::fmt::Display) -> Error {
        let reason = reason.to_string().replace(['\n', '\r'], " ");
        invalid(self.flag, self.path.display().to_string(), reason)
    }

    /// Charges `bytes` before they are allocated; refuses when the total passes the limit.
    fn charge(&mut self, bytes: u128, what: &str) -> Result<()> {
        let total = self.used.saturating_add(bytes);
        if total > self.limit {
            return Err(self.err(format!(
                "{what} needs {}, {} in all with what is already read, more than the memory limit of {}; free memory, raise '--max-memory' or use a smaller file",
                human_bytes(bytes),
                human_bytes(total),
                human_bytes(self.limit)
            )));
        }
        self.used = total;
        Ok(())
    }

    /// Returns bytes charged for a buffer that has been freed.
    fn release(&mut self, bytes: u128) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// Reads the regular file `path` whole, after charging its size on disk; `what` names it.
    fn read(&mut self, path: &Path, what: &str) -> Result<Vec<u8>> {
        let io = |s: &Self, e: io::Error| s.err(format!("cannot read {what}: {e}"));
        let meta = fs::metadata(path).map_err(|e| io(self, e))?;
        if !meta.is_file() {
            return Err(self.err(format!("{what} is not a regular file")));
        }
        let len = meta.len();
        self.charge(len.into(), what)?;
        let cap = usize::try_from(len).map_err(|_| self.err(format!("{what} is too large")))?;
        let mut buf = Vec::with_capacity(cap);
        let file = File::open(path).map_err(|e| io(self, e))?;
        // One byte more than the size, to notice a file that grew after `metadata`.
        file.take(len.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| io(self, e))?;
        if buf.len() as u64 != len {
            return Err(self.err(format!("{what} changed while it was read; try again")));
        }
        Ok(buf)
    }

    /// Checks that the `total` bytes `r` yields are an `.npy` array whose shape `want` accepts
    /// (it returns the reason otherwise) and reads it as `f64`s in `to` order (`Order::C`:
    /// rows, `Order::Fortran`: columns), every one finite. Returns the shape and the values.
    /// The array is read as a stream: only its header is held besides the values, so a
    /// decompressed zip entry never sits in memory beside its `f64` copy.
    fn npy(
        &mut self,
        name: &str,
        total: u64,
        mut r: impl Read,
        want: &dyn Fn(&[usize]) -> Option<String>,
        to: Order,
    ) -> Result<(Vec<usize>, Vec<f64>)> {
        let mut head = Vec::new();
        (&mut r)
            .take(total.min(NPY_HEAD_MAX))
            .read_to_end(&mut head)
            .map_err(|e| self.err(format!("cannot read {name}: {e}")))?;
        let (shape, data_len) = self.npy_precheck(name, &head, total)?;
        let stream = io::BufReader::with_capacity(1 << 16, Cursor::new(head).chain(r));
        let file = NpyFile::new(stream).map_err(|e| self.err(format!("{name}: {e}")))?;
        let descr = file.dtype().descr();
        let size = match file.dtype() {
            DType::Plain(t) if t.type_char() == TypeChar::Float => t.size_field(),
            _ => 0,
        };
        if !matches!(size, 2 | 4 | 8) {
            return Err(self.err(format!(
                "{name} has dtype {descr}: expected float64, float32 or float16 (numpy '<f8', '<f4' or '<f2'); convert it with .astype('float64')"
            )));
        }
        if let Some(reason) = want(&shape) {
            return Err(self.err(format!("{name} has shape {}: {reason}", show_shape(&shape))));
        }
        let need = shape.iter().try_fold(size, |a, &b| a.checked_mul(b as u64));
        if need != Some(data_len) {
            return Err(self.err(format!(
                "{name} has {data_len} bytes of data but its shape {} and dtype {descr} need {}: the file is truncated or corrupt",
                show_shape(&shape),
                need.map_or("more than 2^64".into(), |n| n.to_string())
            )));
        }
        let from = file.order();
        let bad = |e: npyz::DTypeError| self.err(format!("{name}: {e}"));
        let data = match size {
            8 => {
                let it = file.data::<f64>().map_err(bad)?;
                self.arrange(name, &shape, from, to, it)
            }
            4 => {
                let it = file.data::<f32>().map_err(bad)?;
                self.arrange(name, &shape, from, to, it.map(|v| v.map(f64::from)))
            }
            _ => {
                let it = file.data::<half::f16>().map_err(bad)?;
                self.arrange(name, &shape, from, to, it.map(|v| v.map(f64::from)))
            }
        }?;
        Ok((shape, data))
    }

    /// The checks npyz does not make, before it parses: magic, a header inside the bytes and
    /// of bounded size and nesting, and a shape of nonzero dimensions whose element count fits
    /// in the bytes after the header (so no product npyz computes can overflow). `bytes` are
    /// the first bytes of an array of `total` bytes, its whole header among them. Returns the
    /// dimensions and the number of data bytes.
    fn npy_precheck(&self, name: &str, bytes: &[u8], total: u64) -> Result<(Vec<usize>, u64)> {
        if !bytes.starts_with(crate::npy::MAGIC) {
            return Err(self.err(format!(
                "{name} is not a .npy array (it does not start with the magic '\\x93NUMPY'); write it with numpy.save"
            )));
        }
        let truncated = || self.err(format!("{name} is truncated inside its .npy header"));
        let (len, start) = match bytes.get(6) {
            Some(1) => (
                bytes
                    .get(8..10)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize),
                10,
            ),
            Some(2 | 3) => (
                bytes
                    .get(8..12)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize),
                12,
            ),
            Some(v) => {
                return Err(self.err(format!(
                    "{name} is .npy format version {v}, which radex does not know: expected 1, 2 or 3"
                )));
            }
            None => return Err(truncated()),
        };
        let len = len.ok_or_else(truncated)?;
        if len > NPY_HEADER_MAX {
            return Err(self.err(format!(
                "{name} has a .npy header of {len} bytes, more than numpy.load accepts ({NPY_HEADER_MAX})"
            )));
        }
        let end = start + len;
        let header = bytes.get(start..end).ok_or_else(truncated)?;
        let text = std::str::from_utf8(header)
            .map_err(|_| self.err(format!("{name} has a .npy header that is not UTF-8 text")))?;
        let malformed = |why: &str| self.err(format!("{name} has a malformed .npy header ({why})"));
        if text
            .chars()
            .filter(|c| matches!(c, '(' | '[' | '{'))
            .count()
            > NPY_BRACKETS_MAX
        {
            return Err(malformed("too deeply nested for an array of floats"));
        }
        let value: Value = text
            .trim_end()
            .parse()
            .map_err(|_| malformed("not a Python dict literal"))?;
        let Value::Dict(items) = value else {
            return Err(malformed("not a dict"));
        };
        // npyz keeps the last of repeated keys: a single 'shape' is the one checked here.
        let mut shapes = items
            .iter()
            .filter(|(k, _)| matches!(k, Value::String(s) if s == "shape"));
        let (Some((_, Value::Tuple(dims) | Value::List(dims))), None) =
            (shapes.next(), shapes.next())
        else {
            return Err(malformed("expected one 'shape' tuple"));
        };
        let data_len = total - end as u64;
        let mut dims_out = Vec::with_capacity(dims.len());
        let mut count: u64 = 1;
        for d in dims {
            let d = match d {
                Value::Integer(i) => u64::try_from(i).ok(),
                _ => None,
            }
            .ok_or_else(|| malformed("a dimension is not a non-negative integer below 2^64"))?;
            if d == 0 {
                return Err(self.err(format!(
                    "{name} has a zero dimension: expected a non-empty array"
                )));
            }
            count = count.checked_mul(d).filter(|&c| c <= data_len).ok_or_else(|| {
                self.err(format!(
                    "{name} has a shape whose element count is more than the {data_len} bytes after its header hold: the file is truncated or corrupt"
                ))
            })?;
            dims_out.push(usize::try_from(d).map_err(|_| malformed("a dimension beyond usize"))?);
        }
        Ok((dims_out, data_len))
    }

    /// Lays out the values of an array of shape `(rows,)` or `(rows, cols)`, stored in `from`
    /// order, in `to` order, after charging its memory; refuses the first non-finite value,
    /// naming its index in the array's own shape.
    fn arrange<I>(
        &mut self,
        name: &str,
        shape: &[usize],
        from: Order,
        to: Order,
        values: I,
    ) -> Result<Vec<f64>>
    where
        I: Iterator<Item = io::Result<f64>>,
    {
        let rows = shape.first().copied().unwrap_or(1);
        let cols = shape.get(1).copied().unwrap_or(1);
        let n = rows.saturating_mul(cols);
        self.charge(bytes_of(rows, cols), name)?;
        let mut out = vec![0.0; n];
        let mut seen = 0;
        for (k, v) in values.enumerate() {
            let v = v.map_err(|e| self.err(format!("{name}: {e}")))?;
            let (r, c) = match from {
                Order::C => (k / cols, k % cols),
                Order::Fortran => (k % rows, k / rows),
            };
            if !v.is_finite() {
                let at = if shape.len() == 2 {
                    format!("[{r}, {c}]")
                } else {
                    format!("[{r}]")
                };
                return Err(self.err(format!(
                    "{name} has the non-finite value {v} at index {at}: expected finite weights and inputs"
                )));
            }
            let dest = match to {
                Order::C => r * cols + c,
                Order::Fortran => r + c * rows,
            };
            match out.get_mut(dest) {
                Some(slot) if k < n => *slot = v,
                _ => break,
            }
            seen += 1;
        }
        if seen != n {
            return Err(self.err(format!("{name} holds {seen} values, its shape needs {n}")));
        }
        Ok(out)
    }
}

/// `(a, b)` or `(a,)`, as numpy prints shapes.
fn show_shape(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A tensor as read: its name in the file, its shape and its values (column-major).
struct Tensor {
    name: String,
    shape: Vec<usize>,
    data: Vec<f64>,
}

/// The weight or the bias of a layer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Weight,
    Bias,
}

/// A canonical decimal index (`0`, `12`, not `012` or `+1`), so two spellings never name one
/// layer.
fn index(s: &str) -> Option<usize> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// An npz or export array name: `W{i}` or `b{i}` with `i >= 1`.
fn npz_key(name: &str) -> Option<(usize, Part)> {
    let (part, rest) = match name.as_bytes().first()? {
        b'W' => (Part::Weight, &name[1..]),
        b'b' => (Part::Bias, &name[1..]),
        _ => return None,
    };
    index(rest).filter(|&i| i >= 1).map(|i| (i, part))
}

/// A state-dict key `P{n}.weight` or `P{n}.bias`: its prefix `P` (empty or ending in `.`),
/// index `n` and part.
fn sequential_key(key: &str) -> Option<(&str, usize, Part)> {
    let (stem, part) = match key.strip_suffix(".weight") {
        Some(s) => (s, Part::Weight),
        None => (key.strip_suffix(".bias")?, Part::Bias),
    };
    let at = stem.rfind('.').map_or(0, |i| i + 1);
    index(&stem[at..]).map(|n| (&stem[..at], n, part))
}

/// Each layer's weight and optional bias, by index.
type Layers<E> = BTreeMap<usize, (Option<E>, Option<E>)>;

/// Places `entry` (named `name` in the file) as `part` of layer `i`; refuses a second entry
/// for the same place.
fn place<E>(
    src: &Src,
    layers: &mut Layers<E>,
    i: usize,
    part: Part,
    name: &str,
    entry: E,
) -> Result<()> {
    let slot = layers.entry(i).or_default();
    let spot = if part == Part::Weight {
        &mut slot.0
    } else {
        &mut slot.1
    };
    if spot.is_some() {
        return Err(twice(src, name));
    }
    *spot = Some(entry);
    Ok(())
}

/// The error of a tensor that appears twice in one file.
fn twice(src: &Src, name: &str) -> Error {
    src.err(format!(
        "the tensor '{}' appears twice; keep one",
        cut(name)
    ))
}

/// The first key that appears twice in a JSON object, at its top level or in its
/// `__metadata__` object (serde_json, like Python's json, would keep the last silently).
fn json_duplicate(text: &[u8]) -> Option<String> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
    use std::collections::HashSet;
    /// Visits an object, recording its first repeated key; `nested` visits `__metadata__`.
    struct Keys<'a> {
        dup: &'a mut Option<String>,
        nested: bool,
    }
    impl<'de> DeserializeSeed<'de> for Keys<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Keys<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
            let mut seen = HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if self.nested && key == "__metadata__" {
                    map.next_value_seed(Keys {
                        dup: &mut *self.dup,
                        nested: false,
                    })?;
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
                if !seen.insert(key.clone()) && self.dup.is_none() {
                    *self.dup = Some(key);
                }
            }
            Ok(())
        }
        fn visit_unit<E>(self) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<(), A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok(())
        }
    }
    let mut dup = None;
    let mut de = serde_json::Deserializer::from_slice(text);
    let _ = Keys {
        dup: &mut dup,
        nested: true,
    }
    .deserialize(&mut de);
    dup
}

/// The first name that two records of the zip central directory starting at `start` in
/// `bytes` share (the zip crate keeps one of them silently).
fn zip_duplicate(bytes: &[u8], start: u64) -> Option<String> {
    let mut at = usize::try_from(start).ok()?;
    let mut seen = std::collections::HashSet::new();
    while bytes.get(at..at + 4) == Some(&ZIP_RECORD[..]) {
        let u16_at = |i: usize| {
            bytes
                .get(i..i + 2)
                .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
        };
        let (n, x, c) = (u16_at(at + 28)?, u16_at(at + 30)?, u16_at(at + 32)?);
        let name = bytes.get(at + 46..at + 46 + n)?;
        if !seen.insert(name) {
            return Some(String::from_utf8_lossy(name).into_owned());
        }
        at += 46 + n + x + c;
    }
    None
}

/// The layers in order, after checking their structure: every bias has its weight, there are
/// at least two weights and, when `consecutive` (npz, export), the indices run `1..=n` with no
/// gap. `bias_name` names a layer's bias for errors.
fn order<E>(
    src: &Src,
    layers: Layers<E>,
    consecutive: bool,
    bias_name: impl Fn(usize) -> String,
) -> Result<Vec<(E, Option<E>)>> {
    let mut out = Vec::with_capacity(layers.len());
    for (k, (i, (w, b))) in layers.into_iter().enumerate() {
        if consecutive && i != k + 1 {
            return Err(src.err(format!(
                "W{} is missing: expected W1..W{{l+1}} with no gap",
                k + 1
            )));
        }
        let Some(w) = w else {
            return Err(src.err(format!(
                "'{}' has no weight matrix for its layer; remove it or add the weight",
                cut(&bias_name(i))
            )));
        };
        out.push((w, b));
    }
    if out.len() < 2 {
        return Err(src.err(format!(
            "expected at least one hidden layer (two weight matrices), got {} weight matrices",
            out.len()
        )));
    }
    Ok(out)
}

/// Reads each layer's weight and bias with `read`, in order.
fn read_all<E>(
    layers: Vec<(E, Option<E>)>,
    mut read: impl FnMut(E, Part) -> Result<Tensor>,
) -> Result<Vec<(Tensor, Option<Tensor>)>> {
    let mut out = Vec::with_capacity(layers.len());
    for (w, b) in layers {
        let w = read(w, Part::Weight)?;
        out.push((w, b.map(|b| read(b, Part::Bias)).transpose()?));
    }
    Ok(out)
}

/// The network of `layers` (in order), after checking that the shapes chain and each bias
/// fits its layer.
fn assemble(
    src: &mut Src,
    format: &'static str,
    layers: Vec<(Tensor, Option<Tensor>)>,
    act: Option<Act>,
) -> Result<Weights> {
    let mut dims = Vec::with_capacity(layers.len() + 1);
    let any_bias = layers.iter().any(|(_, b)| b.is_some());
    let (mut weights, mut biases) = (Vec::new(), Vec::new());
    let mut prev: Option<&str> = None;
    for (w, b) in &layers {
        let (rows, cols) = (w.shape[0], w.shape[1]);
        if let (Some(p), Some(&d)) = (prev, dims.last()) {
            if cols != d {
                return Err(src.err(format!(
                    "'{}' has shape ({rows}, {cols}) but '{}' before it has {d} outputs: expected ({rows}, {d})",
                    cut(&w.name),
                    cut(p)
                )));
            }
        } else {
            dims.push(cols);
        }
        if let Some(b) = b {
            if b.shape[0] != rows {
                return Err(src.err(format!(
                    "'{}' has {} entries but '{}' has {rows} rows: expected shape ({rows},)",
                    cut(&b.name),
                    b.shape[0],
                    cut(&w.name)
                )));
            }
        }
        dims.push(rows);
        prev = Some(&w.name);
    }
    for (w, b) in layers {
        let rows = w.shape[0];
        weights.push(w.data);
        if any_bias {
            let b = match b {
                Some(b) => b.data,
                None => {
                    src.charge(bytes_of(rows, 1), "a zero bias")?;
                    vec![0.0; rows]
                }
            };
            biases.push(b);
        }
    }
    let outputs = dims.pop().unwrap_or(0);
    Ok(Weights {
        dims,
        outputs,
        weights,
        biases: any_bias.then_some(biases),
        act,
        format,
    })
}

/// The activation a file names under `key`.
fn activation(src: &Src, key: &str, name: &str) -> Result<Act> {
    name.parse().map_err(|_| {
        src.err(format!(
            "its {key} '{}' is not an activation: expected one of {}",
            cut(name),
            Act::NAMES
        ))
    })
}

/// Shape checks of a weight `(out, in)` and a bias `(out,)`, for [`Src::npy`].
fn want(part: Part) -> impl Fn(&[usize]) -> Option<String> {
    move |s: &[usize]| match (part, s.len()) {
        (Part::Weight, 2) | (Part::Bias, 1) => None,
        (Part::Weight, _) => Some("expected a matrix of shape (d_i, d_{i-1})".into()),
        (Part::Bias, _) => Some("expected a vector of shape (d_i,)".into()),
    }
}

/// A safetensors state dict.
fn safetensors(src: &mut Src, bytes: &[u8]) -> Result<Weights> {
    let n = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .ok_or_else(|| {
            src.err("it is truncated: a safetensors file starts with an 8-byte header length")
        })?;
    let rest = bytes.len() as u64 - 8;
    if n > rest {
        return Err(src.err(format!(
            "its safetensors header length is {n} bytes but only {rest} follow: the file is truncated or not a safetensors file"
        )));
    }
    src.charge(JSON_FACTOR * u128::from(n), "the safetensors header")?;
    if let Some(key) = bytes
        .get(8..)
        .and_then(|b| b.get(..n as usize))
        .and_then(json_duplicate)
    {
        return Err(if key == ACT_KEY || key == "__metadata__" {
            src.err(format!(
                "its header has the key '{}' twice; keep one",
                cut(&key)
            ))
        } else {
            twice(src, &key)
        });
    }
    let (n, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| src.err(format!("it is not a valid safetensors file ({e})")))?;
    let data = bytes.get(8 + n..).unwrap_or_default();
    let act = match meta.metadata().as_ref().and_then(|m| m.get(ACT_KEY)) {
        Some(a) => Some(activation(src, &format!("metadata '{ACT_KEY}'"), a)?),
        None => None,
    };
    let mut names: Vec<(String, _)> = meta.tensors().into_iter().collect();
    names.sort_by(|a, b| a.0.cmp(&b.0));
    let mut prefix: Option<(&str, &str)> = None;
    let mut layers = Layers::new();
    for (name, info) in &names {
        let Some((p, i, part)) = sequential_key(name) else {
            return Err(src.err(format!(
                "unexpected tensor '{}': expected only '{{n}}.weight' and '{{n}}.bias' of the nn.Linear layers of one torch.nn.Sequential; save the Sequential's state_dict",
                cut(name)
            )));
        };
        match prefix {
            Some((q, first)) if q != p => {
                return Err(src.err(format!(
                    "tensors '{}' and '{}' have different prefixes: expected the keys of one torch.nn.Sequential, all under one prefix",
                    cut(first),
                    cut(name)
                )));
            }
            Some(_) => {}
            None => prefix = Some((p, name)),
        }
        place(src, &mut layers, i, part, name, (name.as_str(), *info))?;
    }
    let pre = prefix.map_or("", |p| p.0).to_string();
    let layers = order(src, layers, false, |i| format!("{pre}{i}.bias"))?;
    let read = |(name, info): (&str, &safetensors::tensor::TensorInfo), part| -> Result<Tensor> {
        let decode: fn(&[u8]) -> f64 = match info.dtype {
            Dtype::F64 => |b| f64::from_le_bytes(le(b)),
            Dtype::F32 => |b| f32::from_le_bytes(le(b)).into(),
            Dtype::F16 => |b| half::f16::from_le_bytes(le(b)).into(),
            Dtype::BF16 => |b| half::bf16::from_le_bytes(le(b)).into(),
            d => {
                return Err(src.err(format!(
                    "tensor '{}' has dtype {d}: expected F32, F64, F16 or BF16; convert it with .float()",
                    cut(name)
                )));
            }
        };
        let shape = info.shape.clone();
        if let Some(reason) = want(part)(&shape) {
            return Err(src.err(format!(
                "tensor '{}' has shape {}: {reason}",
                cut(name),
                show_shape(&shape)
            )));
        }
        if shape.contains(&0) {
            return Err(src.err(format!(
                "tensor '{}' has a zero dimension: expected a non-empty layer",
                cut(name)
            )));
        }
        let (s, e) = info.data_offsets;
        let raw = data.get(s..e).unwrap_or_default();
        let size = info.dtype.bitsize() / 8;
        let values = raw.chunks_exact(size).map(|b| Ok(decode(b)));
        let data = src.arrange(
            &format!("tensor '{}'", cut(name)),
            &shape,
            Order::C,
            Order::Fortran,
            values,
        )?;
        Ok(Tensor {
            name: name.to_string(),
            shape,
            data,
        })
    };
    let tensors = read_all(layers, read)?;
    assemble(src, "safetensors", tensors, act)
}

/// The first `N` bytes of `b`, which has exactly `N` (from `chunks_exact`).
fn le<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(b);
    a
}

/// Bound on the memory the zip crate's index of `bytes` takes, computed before it is built:
/// each central-directory record (found by its signature; a chance match in the data only
/// raises the bound) becomes one entry holding its name three times, its extra field twice and
/// its comment once.
fn zip_index_bytes(bytes: &[u8]) -> u128 {
    let u16_at = |i: usize| {
        bytes
            .get(i..i + 2)
            .map_or(0, |b| u128::from(u16::from_le_bytes([b[0], b[1]])))
    };
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w == ZIP_RECORD)
        .map(|(i, _)| ZIP_ENTRY_BYTES + 3 * u16_at(i + 28) + 2 * u16_at(i + 30) + u16_at(i + 32))
        .sum()
}

/// An npz archive of `W1..W{l+1}` and `b1..b{l+1}`.
fn npz(src: &mut Src, bytes: &[u8]) -> Result<Weights> {
    src.charge(zip_index_bytes(bytes), "the zip index")?;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        src.err(format!(
            "it is not a valid zip archive ({e}); expected the output of numpy.savez"
        ))
    })?;
    if let Some(file) = zip_duplicate(bytes, zip.central_directory_start()) {
        let array = npyz::npz::array_name_from_file_name(&file).unwrap_or(&file);
        return Err(twice(src, array));
    }
    let mut layers = Layers::new();
    for i in 0..zip.len() {
        let file = zip.name_for_index(i).unwrap_or_default();
        let key =
            npyz::npz::array_name_from_file_name(file).and_then(|a| npz_key(a).map(|k| (a, k)));
        let Some((array, (l, part))) = key else {
            return Err(src.err(format!(
                "unexpected entry '{}': expected only W1..W{{l+1}} and b1..b{{l+1}} as saved by numpy.savez(W1=.., b1=..)",
                cut(file)
            )));
        };
        place(src, &mut layers, l, part, array, (i, array.to_string()))?;
    }
    let layers = order(src, layers, true, |i| format!("b{i}"))?;
    let read = |(i, name): (usize, String), part| -> Result<Tensor> {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| src.err(format!("cannot read '{}' in the archive ({e})", cut(&name))))?;
        let size = entry.size();
        // The declared size must fit the budget (a zip bomb is refused before any inflating);
        // the entry is then read as a stream, its values charged as they are laid out.
        let what = format!("'{name}' ({} once decompressed)", human_bytes(size.into()));
        src.charge(size.into(), &what)?;
        src.release(size.into());
        // The header's size bounds the read: a lying header cannot make the array grow.
        let (shape, data) = src.npy(
            &format!("'{name}'"),
            size,
            (&mut entry).take(size),
            &want(part),
            Order::Fortran,
        )?;
        // Nothing may follow the declared size; reading to the end checks the CRC too.
        let mut more = [0u8; 1];
        match entry.read(&mut more) {
            Ok(0) => {}
            Ok(_) => {
                return Err(src.err(format!(
                    "'{}' decompresses to more than the {size} bytes its header declares: the archive is corrupt",
                    cut(&name)
                )));
            }
            Err(e) => {
                return Err(src.err(format!("cannot decompress '{}' ({e})", cut(&name))));
            }
        }
        Ok(Tensor { name, shape, data })
    };
    let tensors = read_all(layers, read)?;
    assemble(src, "npz", tensors, None)
}

/// The parts of radex's export manifest (src/export_net.rs) a network needs.
#[derive(Deserialize)]
struct Manifest {
    files: Vec<ManifestFile>,
    #[serde(default)]
    act: Option<String>,
}

/// One entry of the manifest's `files`.
#[derive(Deserialize)]
struct ManifestFile {
    name: String,
    shape: Vec<usize>,
}

/// A radex export directory.
fn export(src: &mut Src) -> Result<Weights> {
    let dir = src.path;
    let path = dir.join(MANIFEST);
    match fs::metadata(&path) {
        Ok(m) if m.is_file() => {}
        Ok(m) => {
            return Err(src.err(format!(
                "its {} is {}, not a file; write the manifest as a regular file (radex export does)",
                MANIFEST,
                if m.is_dir() { "a directory" } else { kind_of(&m) }
            )));
        }
        Err(_) => {
            return Err(src.err(format!(
                "it is a directory without {}, not a radex export; {FORMATS}",
                MANIFEST
            )));
        }
    }
    let text = src.read(&path, MANIFEST)?;
    src.charge(JSON_FACTOR * text.len() as u128, MANIFEST)?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| {
        src.err(format!(
            "its {} is not a radex export manifest ({e})",
            MANIFEST
        ))
    })?;
    let act = match &manifest.act {
        Some(a) => Some(activation(src, "manifest field 'act'", a)?),
        None => None,
    };
    let mut layers = Layers::new();
    for f in &manifest.files {
        if f.name == "x.npy" {
            continue;
        }
        let key = f.name.strip_suffix(".npy").and_then(npz_key);
        let Some((i, part)) = key else {
            return Err(src.err(format!(
                "its manifest lists '{}': expected only W{{i}}.npy, b{{i}}.npy and x.npy",
                cut(&f.name)
            )));
        };
        place(
            src,
            &mut layers,
            i,
            part,
            &f.name,
            (f.name.clone(), Some(f.shape.clone())),
        )?;
    }
    // Bias files not in the manifest, added by hand beside the weights.
    let listed: Vec<usize> = layers.keys().copied().collect();
    for i in listed {
        let name = format!("b{i}.npy");
        if let Some(slot) = layers.get_mut(&i) {
            if slot.1.is_none() && dir.join(&name).is_file() {
                slot.1 = Some((name, None));
            }
        }
    }
    let layers = order(src, layers, true, |i| format!("b{i}.npy"))?;
    let read = |(name, listed): (String, Option<Vec<usize>>), part| -> Result<Tensor> {
        let bytes = src.read(&dir.join(&name), &format!("'{name}'"))?;
        let total = bytes.len() as u64;
        let (shape, data) = src.npy(
            &format!("'{name}'"),
            total,
            &bytes[..],
            &want(part),
            Order::Fortran,
        )?;
        if listed.as_ref().is_some_and(|l| *l != shape) {
            return Err(src.err(format!(
                "'{name}' has shape {} but the manifest says {}: the export is inconsistent",
                show_shape(&shape),
                show_shape(listed.as_deref().unwrap_or_default())
            )));
        }
        src.release(bytes.len() as u128);
        Ok(Tensor { name, shape, data })
    };
    let tensors = read_all(layers, read)?;
    assemble(src, "export", tensors, act)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(matches!(
            sequential_key("0.weight"),
            Some(("", 0, Part::Weight))
        ));
        assert!(matches!(
            sequential_key("net.12.bias"),
            Some(("net.", 12, Part::Bias))
        ));
        assert!(matches!(
            sequential_key("model.layers.3.weight"),
            Some(("model.layers.", 3, Part::Weight))
        ));
        for bad in [
            "weight",
            ".weight",
            "01.weight",
            "a.weight",
            "0.running_mean",
            "+1.bias",
            "0.weight.x",
        ] {
            assert!(sequential_key(bad).is_none(), "{bad}");
        }
        assert!(matches!(npz_key("W1"), Some((1, Part::Weight))));
        assert!(matches!(npz_key("b10"), Some((10, Part::Bias))));
        for bad in ["W0", "W", "W01", "w1", "B1", "x", "", "W1 "] {
            assert!(npz_key(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn arrange_transposes_and_finds_non_finite() {
        let path = Path::new("m");
        let mut src = Src::new(MODEL, path, 1 << 20);
        // [[1, 2, 3], [4, 5, 6]] in C order, wanted column-major.
        let c = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0].map(Ok);
        let f = src
            .arrange("a", &[2, 3], Order::C, Order::Fortran, c.into_iter())
            .unwrap();
        assert_eq!(f, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let back = src
            .arrange(
                "a",
                &[2, 3],
                Order::Fortran,
                Order::C,
                f.into_iter().map(Ok),
            )
            .unwrap();
        assert_eq!(back, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let nan = [1.0, 2.0, 3.0, 4.0, f64::NAN, 6.0].map(Ok);
        let e = src
            .arrange("a", &[2, 3], Order::C, Order::Fortran, nan.into_iter())
            .unwrap_err();
        assert!(e.to_string().contains("index [1, 1]"), "{e}");
        let short = [1.0, 2.0].map(Ok);
        assert!(
            src.arrange("a", &[3], Order::C, Order::C, short.into_iter())
                .is_err()
        );
        // The budget: 6 values more than the limit allow.
        let mut tight = Src::new(MODEL, path, 40);
        assert!(
            tight
                .arrange("a", &[6], Order::C, Order::C, std::iter::empty())
                .is_err()
        );
    }

    #[test]
    fn zip_index_bound_counts_records() {
        let mut b = vec![0u8; 100];
        assert_eq!(zip_index_bytes(&b), 0);
        b[10..14].copy_from_slice(ZIP_RECORD);
        b[38] = 5; // name length 5
        assert_eq!(zip_index_bytes(&b), ZIP_ENTRY_BYTES + 15);
        // A signature at the very end, its lengths beyond the bytes, still counts.
        b[96..100].copy_from_slice(ZIP_RECORD);
        assert_eq!(zip_index_bytes(&b), 2 * ZIP_ENTRY_BYTES + 15);
    }
}
