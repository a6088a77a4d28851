//! `radex export` (MATH 1): the network and input of one trial, written as `.npy` files with a
//! JSON manifest, so that anyone can re-check radex's numbers in numpy or PyTorch.
//!
//! For trial `t` of seed `s`, the directory holds exactly the network and input of trial `t`
//! of `radex attack --seed s --sampler dense` (same streams, same element type; a lazy network,
//! MATH 8, is never stored whole):
//!
//! ```text
//! W1.npy .. W{l+1}.npy   W_i, shape (d_i, d_{i-1}), stored column-major (fortran_order)
//! x.npy                  x, shape (d,), ||x|| = sqrt(d), rounded to the element type
//! manifest.json          architecture, seed, trial, files, f(x), ||grad f(x)||
//! ```
//!
//! with `h_0 = x`, `h_i = relu(W_i h_{i-1})`, `f(x) = W_{l+1} h_l` (no biases). Everything is
//! written into a fresh temporary directory beside the target and then renamed onto it, so the
//! target is either complete or absent.

use crate::record::{ArchHeader, RunHeader};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use faer::Par;
use serde::Serialize;

use crate::arch::Arch;
use crate::attack::onestep::linearise;
use crate::error::Result;
use crate::files::{self, Existing};
use crate::net::DenseNet;
use crate::npy;
use crate::rng;
use crate::scalar::{Precision, Real};

pub use crate::brought::MANIFEST;

/// How to read the files, repeated in every manifest.
pub const CONVENTION: &str = "h_0 = x, h_i = relu(W_i h_{i-1}) for i = 1..l, f(x) = W_{l+1} h_l \
     (no biases); Wi.npy holds W_i with shape (d_i, d_{i-1}) (fortran_order, so numpy.load \
     gives the matrix itself), W{l+1}.npy is the output row (1, d_l), x.npy is the input (d,) \
     with ||x|| = sqrt(d); f and grad_norm are radex's f(x) and ||grad f(x)|| in the stated \
     precision";

/// Parameters of an export.
#[derive(Clone, Debug)]
pub struct ExportParams {
    /// Architecture.
    pub arch: Arch,
    /// Seed, as given to `radex attack --seed`.
    pub seed: u64,
    /// Trial index within the seed.
    pub trial: u64,
    /// Element type of the weights and of `x`.
    pub precision: Precision,
}

impl ExportParams {
    /// Peak bytes: the network, the activations of one input and the work buffers.
    pub fn bytes(&self) -> u128 {
        self.arch.dense_bytes(self.precision.bytes(), 1)
    }
}

/// One array file of the export.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct FileEntry {
    /// File name inside the directory, e.g. `W1.npy`.
    pub name: String,
    /// Array shape, e.g. `[d_1, d_0]`.
    pub shape: Vec<usize>,
}

/// The contents of `manifest.json`.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Manifest {
    /// What ran: the command, radex's version, the MATH.md sections (the header every
    /// report shares).
    #[serde(flatten)]
    pub run: RunHeader,
    /// The network's architecture and law.
    #[serde(flatten)]
    pub net: ArchHeader,
    /// Seed.
    pub seed: u64,
    /// Trial index.
    pub trial: u64,
    /// Element type of every array (`f64`: `<f8`, `f32`: `<f4`).
    pub precision: Precision,
    /// The arrays, `W1.npy` .. `W{l+1}.npy` then `x.npy`.
    pub files: Vec<FileEntry>,
    /// Some `h_i(x)` is exactly zero (MATH 2): `f = 0` and `grad f = 0` near `x`.
    pub dead: bool,
    /// radex's `f(x)` (underflows to 0 at extreme depth; see `log2_abs_f`).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub f: f64,
    /// `log2 |f(x)|` (null when dead).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub log2_abs_f: f64,
    /// radex's `||grad f(x)||`.
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub grad_norm: f64,
    /// `log2 ||grad f(x)||` (null when dead).
    #[serde(deserialize_with = "crate::record::nan::f64")]
    pub log2_grad_norm: f64,
    /// How the files define the network.
    pub convention: String,
}

/// Checks that `dir` can become the export directory: it names a new or empty directory
/// whose parent exists and is writable. Errors name the flag `--out`.
pub fn check_dir(dir: &Path) -> Result<()> {
    files::check_dir("--out", dir, Existing::Empty)
}

/// Samples the network and input of `(p.seed, p.trial)`, writes them and the manifest into a
/// temporary directory beside `dir`, and renames it to `dir`; returns where the files went
/// (`dir`, or `dir-N` if `dir` gained files during the run) and the manifest.
///
/// # Errors
/// `InvalidInput` (before any work) if [`check_dir`] rejects `dir`; any I/O error while
/// writing, in which case the temporary directory is removed and `dir` is left as it was.
pub fn export(p: &ExportParams, dir: &Path) -> io::Result<(PathBuf, Manifest)> {
    check_dir(dir).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    files::write_dir(
        dir,
        Existing::Empty,
        |tmp| crate::with_real!(p.precision, T => write_files::<T>(p, tmp)),
    )
}

/// Creates `path` (which must not exist), lets `fill` write it and syncs it to disk.
fn save(path: &Path, fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>) -> io::Result<()> {
    let mut w = BufWriter::new(File::create_new(path)?);
    fill(&mut w)?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn write_files<T: Real + npy::Element>(p: &ExportParams, dir: &Path) -> io::Result<Manifest> {
    let arch = &p.arch;
    let mut net = DenseNet::<T>::sample(arch, p.seed, p.trial);
    let x = rng::input(p.seed, p.trial, arch.d);
    // f and its gradient exactly as `radex attack` computes them for this trial. A batch of
    // one runs every product sequentially, so the bits do not depend on the thread count.
    let lin = linearise::<T, _>(&mut net, &x, Par::Seq);
    let mut files = Vec::with_capacity(arch.depth() + 2);
    for i in 1..=arch.depth() + 1 {
        let (m, n) = arch.shape(i);
        let name = format!("W{i}.npy");
        save(&dir.join(&name), |w| {
            npy::write_col_major(w, m, n, net.weight_data(i))
        })?;
        files.push(FileEntry {
            name,
            shape: vec![m, n],
        });
    }
    // The input as the network sees it: `linearise` rounds x to T the same way.
    let xt: Vec<T> = x.iter().map(|&v| T::from_f64(v)).collect();
    save(&dir.join("x.npy"), |w| npy::write_vector(w, &xt))?;
    files.push(FileEntry {
        name: "x.npy".into(),
        shape: vec![arch.d],
    });
    let manifest = Manifest {
        run: RunHeader::new("export", "MATH 1: the network (NN-DEF or He) and its input"),
        net: ArchHeader::of(arch),
        seed: p.seed,
        trial: p.trial,
        precision: p.precision,
        files,
        dead: lin.dead,
        f: lin.f.value(),
        log2_abs_f: lin.f.log2_abs(),
        grad_norm: lin.grad_norm.value(),
        log2_grad_norm: lin.grad_norm.log2_abs(),
        convention: CONVENTION.into(),
    };
    let json = crate::record::to_json(&manifest);
    save(&dir.join(MANIFEST), |w| w.write_all(json.as_bytes()))?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Init;

    fn params() -> ExportParams {
        ExportParams {
            arch: Arch::new(6, vec![5, 4], Init::Nn).unwrap(),
            seed: 2,
            trial: 1,
            precision: Precision::F64,
        }
    }

    #[test]
    fn writes_every_file_and_matches_the_attack_trial() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("net");
        let (_, m) = export(&params(), &dir).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["W1.npy", "W2.npy", "W3.npy", "manifest.json", "x.npy"]
        );
        let shapes: Vec<_> = m.files.iter().map(|f| f.shape.clone()).collect();
        assert_eq!(shapes, [vec![5, 6], vec![4, 5], vec![1, 4], vec![6]]);
        // Only the export directory is left behind: no temporary directories.
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
        // W1.npy: the preamble, then W_1's column-major storage.
        let bytes = std::fs::read(dir.join("W1.npy")).unwrap();
        let pre = npy::preamble("<f8", true, &[5, 6]);
        assert_eq!(&bytes[..pre.len()], &pre[..]);
        let net = DenseNet::<f64>::sample(&params().arch, 2, 1);
        let stored: Vec<f64> = bytes[pre.len()..]
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(stored, net.weight_data(1));
        let mut p = crate::experiment::attack::AttackParams::new(
            params().arch,
            2,
            2,
            crate::attack::Attacks::only(crate::attack::Attack::Onestep),
            Precision::F64,
        );
        p.with_c = false;
        let rec = crate::experiment::attack::trial::<f64>(&p, 1, Par::Seq);
        assert_eq!(m.f, rec.f);
        assert_eq!(m.grad_norm, rec.grad_norm);
    }

    #[test]
    fn refuses_a_non_empty_directory_and_keeps_it() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("keep.txt"), "mine").unwrap();
        let err = export(&params(), root.path()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("not empty"), "{err}");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
        // An existing empty directory is filled.
        let empty = root.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        export(&params(), &empty).unwrap();
        assert!(empty.join(MANIFEST).is_file());
    }
}
