//! radex: adversarial examples in random ReLU networks, measured.
//!
//! Implements `MATH.md` (the mathematics of Bartlett, Bubeck and Cherapanamjeri, "Adversarial
//! Examples in Multi-Layer Random ReLU Networks", NeurIPS 2021). Data flows one way: an
//! architecture and a seed become a network, the network answers forward and backward
//! products, attacks ask those products, experiments gather records, reports render them.
//!
//! | module | holds | MATH.md |
//! |---|---|---|
//! | [`arch`] | architectures, `--arch` parsing, memory estimate | 1 |
//! | [`rng`] | seeded streams keyed by `(seed, trial, layer, block)` | 1 |
//! | [`scalar`] | the `f64`/`f32` element type | 1 |
//! | [`net`] | the `Layers` trait, the dense network, exact forward/backward with rescaling | 1, 2 |
//! | [`attack`] | one-step attack (Theorem 1.1), ray attack | 3 |
//! | [`measure`] | statistics: quantiles, Wilson intervals, regression | 3 |
//! | [`experiment`] | `attack` and `scaling` runs | 3 |
//! | [`report`] | tables, JSON, CSV, atomic output, progress | - |

pub mod arch;
pub mod attack;
pub mod error;
pub mod experiment;
pub mod measure;
pub mod net;
pub mod report;
pub mod rng;
pub mod scalar;

pub use error::{Error, Result};
