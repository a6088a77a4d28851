//! radex: adversarial examples in random ReLU networks, measured.
//!
//! Implements `MATH.md` (the mathematics of Bartlett, Bubeck and Cherapanamjeri, "Adversarial
//! Examples in Multi-Layer Random ReLU Networks", NeurIPS 2021). Data flows one way: an
//! architecture and a seed become a network, the network answers forward and backward
//! products, attacks ask those products, experiments gather records, reports render them.
//!
//! The modules, by layer (each imports only the layers above it in this table;
//! `docs/ARCHITECTURE.md` draws the same picture):
//!
//! | layer | module | holds | MATH.md |
//! |---|---|---|---|
//! | foundations | [`error`] | the one error type: messages naming the flag, the value and the fix | - |
//! | | [`choice`] | flag values with a fixed set of names (`--init nn|he`) | - |
//! | | [`scalar`] | the `f64`/`f32` element type | 1 |
//! | | [`vector`] | Euclidean norm and dot product in `f64`, fixed summation order | - |
//! | | [`lists`] | comma-separated lists of flags: sorted, repeats refused | - |
//! | | [`mem`] | large zeroed buffers on transparent huge pages | - |
//! | | [`progress`] | the `Progress` trait a front end implements (a bar, a callback, nothing), and cancellation | - |
//! | | [`rng`] | seeded streams keyed by `(seed, trial, layer, block)` | 1 |
//! | | [`npy`] | NumPy `.npy` arrays written (format 1.0) | - |
//! | | [`files`] | output files and directories: checks before work, atomic writes, no debris | - |
//! | | [`budget`] | memory estimates checked before any work, `--max-memory` | - |
//! | network family | [`act`] | activations `phi`, `phi'` and their homogeneity | 9 |
//! | | [`arch`] | architectures, their laws, `--arch` parsing | 1, 9 |
//! | | [`record`] | what every record shares: the run and architecture headers, its JSON text, `null` read back as `NaN` | - |
//! | | [`infinite_width`] | the kernel recursion's predictions at infinite width, the phase, the one-step law | 9 |
//! | engine | [`net`] | the `Layers` trait, the dense and lazy networks, exact forward/backward with rescaling | 1, 2, 8 |
//! | | [`brought`] | networks and inputs users bring: safetensors, npz, export directories, npy | 10 |
//! | attacks, measurements | [`attack`] | one-step, ray, DeepFool, PGD and minimum-norm attacks, in L2 or Linf | 3, 9 |
//! | | [`measure`] | statistics, GD-DECOMP (linearity), bottlenecks, depth, Min-Pert | 3-7 |
//! | experiments | [`experiment`] | each subcommand's arguments, runs and reports | 3-7, 9, 10 |
//! | | [`export_net`] | one trial's network and input written as `.npy` files (`radex export`) | 1 |
//! | rendering | [`report`] | tables, JSON, CSV (`report::Format`), SVG plots | - |
//! | library fronts | [`reproduce`] | the plan, per-claim verdicts and report directory of `radex reproduce` | 3-7, 9 |
//! | | [`sweep`] | sweeps: plans expanded into units, shards appended under a lock, merges into each experiment's report | 3, 6, 7, 9 |
//!
//! The one-step attack of Theorem 1.1 on one sampled network, from the library:
//!
//! ```
//! use faer::Par;
//! use radex::arch::{Arch, Init};
//! use radex::attack::one_step;
//! use radex::net::DenseNet;
//! use radex::rng;
//!
//! let arch = Arch::new(500, vec![500, 500], Init::Nn)?;
//! let (seed, trial) = (1, 0);
//! let mut net = DenseNet::<f64>::sample(&arch, seed, trial);
//! let x = rng::input(seed, trial, arch.d); // uniform direction, ||x|| = sqrt(d)
//! let r = one_step::<f64, _>(&mut net, &x, true, Par::Seq);
//! // rho = ||x' - x|| / ||x|| = 2 |f| / (||grad f|| ||x||), about 1.35 / sqrt(d).
//! let expected = 2.0 * r.f.ratio(r.grad_norm).abs() / (arch.d as f64).sqrt();
//! assert!((r.rho - expected).abs() <= 1e-12 * expected);
//! println!("rho*sqrt(d) = {:.3}, flipped: {}", r.rho * (arch.d as f64).sqrt(), r.success);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod act;
pub mod arch;
pub mod attack;
pub mod brought;
pub mod budget;
pub mod choice;
pub mod error;
pub mod experiment;
pub mod export_net;
pub mod files;
pub mod infinite_width;
pub mod lists;
pub mod measure;
pub mod mem;
pub mod net;
pub mod npy;
pub mod progress;
pub mod record;
pub mod report;
pub mod reproduce;
pub mod rng;
pub mod scalar;
pub mod sweep;
pub mod vector;

pub use error::{Error, Result};
