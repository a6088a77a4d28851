//! radex's side of `bench/run` for the kernel workloads (issue 6, workloads 1, 2 and 5): times
//! library calls on one network and prints one JSON object per line. Not a user command (STYLE
//! 7: no `bench` subcommand); built with `cargo build --release --example kernels`.
//!
//! ```text
//! kernels sample  --d 4096 --widths 4096,4096 --precision f64 --threads 2 --repeats 5
//! kernels fb      --d 4096 --widths 4096,4096 --batch 256 --precision f32 --threads 2
//!                 [--act tanh --sigma-w2 1 --sigma-b 0.3 --outputs 10 --vzeroupper 1]
//! kernels check   --d 96 --widths 80,64 --batch 12 --act gelu --sigma-b 0.3 --outputs 10 \
//!                 --dir DIR
//! kernels gemm    --m 4096 --k 4096 --n 256 --trans n|t --precision f64 --threads 2
//! kernels peak    --precision f64 --threads 2
//! ```
//!
//! Every timing is the best of `--repeats` runs after one warm-up. `fb` also reports the peak
//! resident set (`VmHWM`) of this process, which holds nothing but the network and the batch.
//! `fb` runs any network of the general family (MATH 9; the defaults are the paper's relu
//! network, no biases, one output); for `K >= 2` the backward pass is the gradient of the margin
//! against each column's argmax, as the trace does by default. `check` runs the same pass on a
//! small network and writes its weights, biases, inputs, outputs and input gradients as `.npy`
//! to `--dir`, so that bench/reference.py can run its own timed code on the very same weights
//! and compare (a bench that compares different work is worthless).

use std::time::Instant;

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use radex::act::Act;
use radex::arch::{Arch, Family, Init, OutputLaw};
use radex::net::dense::product;
use radex::net::trace::ldexp;
use radex::net::{DenseNet, Grad, Layers, Trace, backward_into, forward_into};
use radex::npy::Element;
use radex::scalar::Real;

struct Opts {
    d: usize,
    widths: Vec<usize>,
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    trans: bool,
    f32: bool,
    threads: usize,
    repeats: usize,
    /// The network's law for `fb` and `check` (default: the paper's).
    family: Family,
    /// Where `check` writes its `.npy` files.
    dir: String,
    /// `fb`: clear the upper halves of the vector registers on every thread after each layer
    /// product (see [`Clean`]).
    vzeroupper: bool,
}

fn parse(args: &[String]) -> Opts {
    let mut o = Opts {
        d: 4096,
        widths: vec![4096, 4096],
        batch: 256,
        m: 4096,
        k: 4096,
        n: 256,
        trans: false,
        f32: false,
        threads: 2,
        repeats: 5,
        family: Family::paper(Init::Nn),
        dir: "bench-check".to_string(),
        vzeroupper: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let v = it
            .next()
            .unwrap_or_else(|| panic!("expected a value after {flag}"));
        let num = || -> usize {
            v.parse()
                .unwrap_or_else(|_| panic!("expected a number after {flag}, got {v}"))
        };
        let real = || -> f64 {
            v.parse()
                .unwrap_or_else(|_| panic!("expected a number after {flag}, got {v}"))
        };
        match flag.as_str() {
            "--d" => o.d = num(),
            "--widths" => {
                o.widths = v
                    .split(',')
                    .map(|w| w.parse().expect("expected widths W1,W2,.."))
                    .collect()
            }
            "--batch" => o.batch = num(),
            "--m" => o.m = num(),
            "--k" => o.k = num(),
            "--n" => o.n = num(),
            "--trans" => o.trans = v == "t",
            "--precision" => o.f32 = v == "f32",
            "--threads" => o.threads = num(),
            "--repeats" => o.repeats = num().max(1),
            "--act" => o.family.act = v.parse::<Act>().unwrap_or_else(|e| panic!("{e}")),
            "--sigma-w2" => o.family.sigma_w2 = real(),
            "--sigma-b" => o.family.sigma_b = real(),
            "--outputs" => o.family.outputs = num(),
            "--dir" => o.dir = v.clone(),
            "--vzeroupper" => o.vzeroupper = num() != 0,
            _ => panic!("unknown flag {flag}"),
        }
    }
    o
}

/// Best wall time of at least `repeats` runs of `f` after one warm-up, running on until
/// [`MIN_SECONDS`] have passed: a millisecond kernel timed five times straight after start-up
/// measured 39-66 GFLOP/s where it holds 82-89 in a steady state. bench/reference.py times
/// numpy the same way.
fn best_of(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut best = f64::INFINITY;
    let mut runs = 0;
    while runs < repeats || start.elapsed().as_secs_f64() < MIN_SECONDS {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
        runs += 1;
    }
    best
}

/// See [`best_of`].
const MIN_SECONDS: f64 = 0.5;

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn sample<T: Real>(o: &Opts) -> String {
    let arch = Arch::new(o.d, o.widths.clone(), Init::Nn).expect("valid sizes");
    // Fresh storage each time, as a fresh numpy array: allocation and first touch included.
    let mut trial = 0;
    let secs = best_of(o.repeats, || {
        trial += 1;
        let net = DenseNet::<T>::sample(&arch, 1, trial);
        std::hint::black_box(&net);
    });
    // Redrawing into the same storage, as `radex attack` does per trial.
    let mut net = DenseNet::<T>::sample(&arch, 1, 0);
    let resample = best_of(o.repeats, || {
        trial += 1;
        net.resample(1, trial);
    });
    format!(
        "{{\"workload\":\"sample\",\"precision\":\"{}\",\"entries\":{},\"seconds\":{secs},\
         \"resample_seconds\":{resample}}}",
        T::NAME,
        arch.n_weights()
    )
}

/// The network of `fb` and `check` (seed 1, trial 0) and its batch of sphere inputs.
fn net_and_batch<T: Real>(o: &Opts) -> (Arch, DenseNet<T>, Vec<T>) {
    let family = Family {
        output_law: OutputLaw::Gauss,
        ..o.family
    };
    let arch = Arch::with_family(o.d, o.widths.clone(), family).expect("valid sizes");
    let net = DenseNet::<T>::sample(&arch, 1, 0);
    let x: Vec<T> = (0..o.batch)
        .flat_map(|b| radex::rng::input(1, b as u64, o.d))
        .map(T::from_f64)
        .collect();
    (arch, net, x)
}

/// A network whose layer products end with `vzeroupper` on every thread of the pool: a
/// diagnostic for `fb --vzeroupper 1`, not a radex feature. faer 0.24's AVX-512 GEMM kernels
/// (private-gemm-x86, generated asm) return with the upper halves of the vector registers
/// dirty; on the Intel machine of RESULTS.md every later call into glibc's libm (`f64::tanh`,
/// `f64::exp`: SSE code calling VEX code) then costs 130-150 ns instead of 5-10. Timing `fb`
/// with and without this wrapper measures what clearing the state in radex would gain.
struct Clean<'a, N>(&'a mut N);

fn vzeroupper() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: `vzeroupper` only zeroes bits 128 and up of the vector registers, which no
        // compiled code keeps live across this call (the System V ABI has no callee-saved
        // vector registers).
        unsafe { std::arch::asm!("vzeroupper", options(nostack, nomem)) };
    }
}

fn clean_all() {
    rayon::broadcast(|_| vzeroupper());
    vzeroupper();
}

impl<T: Real, N: Layers<T>> Layers<T> for Clean<'_, N> {
    fn arch(&self) -> &Arch {
        self.0.arch()
    }
    fn right(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        self.0.right(i, src, dst, par);
        clean_all();
    }
    fn left(&mut self, i: usize, src: MatRef<'_, T>, dst: MatMut<'_, T>, par: Par) {
        self.0.left(i, src, dst, par);
        clean_all();
    }
    fn bias(&mut self, i: usize) -> Option<&[T]> {
        self.0.bias(i)
    }
}

fn fb<T: Real>(o: &Opts, par: Par) -> String {
    let (arch, mut dense, x) = net_and_batch::<T>(o);
    let mut clean = Clean(&mut dense);
    let net: &mut dyn Layers<T> = if o.vzeroupper { &mut clean } else { clean.0 };
    let xm = MatRef::from_column_major_slice(&x, o.d, o.batch);
    // Storage reused between passes, as a program making repeated passes would.
    let (mut trace, mut grad, mut scratch) = (Trace::empty(), Grad::empty(), Vec::new());
    let mut check = 0.0;
    let secs = best_of(o.repeats, || {
        forward_into(net, xm, par, false, &mut trace);
        backward_into(net, &trace, par, &mut grad, &mut scratch);
        check = grad.norm(0).mant;
    });
    assert!(check.is_finite());
    // Two flops per multiply-add: each hidden layer once forward and once backward, the K x d_l
    // output layer once each way. The activation, its derivative and the biases are O(d_i B)
    // per layer and not counted.
    let dims = arch.dims();
    let macs: f64 = (1..dims.len())
        .map(|i| (dims[i] * dims[i - 1]) as f64)
        .sum::<f64>()
        * 2.0
        + 2.0 * (arch.outputs() * dims[dims.len() - 1]) as f64;
    let flops = 2.0 * macs * o.batch as f64;
    let bytes = (arch.n_weights() as usize + o.d * o.batch) * std::mem::size_of::<T>();
    format!(
        "{{\"workload\":\"fb\",\"precision\":\"{}\",\"family\":\"{}\",\"flops\":{flops},\
         \"seconds\":{secs},\"weights_batch_bytes\":{bytes},\"peak_rss_bytes\":{}}}",
        T::NAME,
        arch.family.describe(),
        peak_rss().map_or("null".to_string(), |b| b.to_string())
    )
}

/// One pass of `fb` on a small network, written out for bench/reference.py's `check`:
/// `W{i}.npy` (`d_i x d_{i-1}`, `i = 1..l+1`), `b{i}.npy`, `x.npy` (`d x B`), `out.npy` (`K x B`,
/// the outputs `F`), `grad.npy` (`d x B`, the gradient of `f`: `F` for `K = 1`, the margin
/// against the argmax for `K >= 2`) and `label.npy`, `runner.npy` (the argmax and runner-up,
/// for `K >= 2`). Values are unscaled (mantissa times `2^log2`).
fn check<T: Real + Element>(o: &Opts, par: Par) -> String {
    let (arch, mut net, x) = net_and_batch::<T>(o);
    let (d, b, k, l) = (o.d, o.batch, arch.outputs(), arch.depth());
    let xm = MatRef::from_column_major_slice(&x, d, b);
    let (mut trace, mut grad, mut scratch) = (Trace::empty(), Grad::empty(), Vec::new());
    forward_into(&mut net, xm, par, false, &mut trace);
    backward_into(&mut net, &trace, par, &mut grad, &mut scratch);
    let unscale = |m: &[T], rows: usize, log2: &[i64]| -> Vec<T> {
        m.chunks_exact(rows)
            .zip(log2)
            .flat_map(|(col, &e)| col.iter().map(move |v| T::from_f64(ldexp(v.to_f64(), e))))
            .collect()
    };
    let out = unscale(&trace.out, k, &trace.log2[l]);
    let g = unscale(&grad.g, d, &grad.log2);
    std::fs::create_dir_all(&o.dir).expect("could not create --dir");
    let save = |name: &str, shape: &[usize], data: &[T]| {
        let path = format!("{}/{name}.npy", o.dir);
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create .npy"));
        radex::npy::write(&mut f, shape, true, data).expect("write .npy");
    };
    for i in 1..=l + 1 {
        let (m, n) = arch.shape(i);
        save(&format!("W{i}"), &[m, n], net.weight_data(i));
        if let Some(bias) = net.bias_data(i) {
            save(&format!("b{i}"), &[m], bias);
        }
    }
    save("x", &[d, b], &x);
    save("out", &[k, b], &out);
    save("grad", &[d, b], &g);
    if k >= 2 {
        let ints = |v: &[usize]| v.iter().map(|&j| T::from_f64(j as f64)).collect::<Vec<T>>();
        save("label", &[b], &ints(&trace.label));
        save("runner", &[b], &ints(&trace.runner));
    }
    let flagged = trace
        .dead
        .iter()
        .chain(&trace.overflow)
        .filter(|&&f| f)
        .count();
    format!(
        "{{\"workload\":\"check\",\"precision\":\"{}\",\"family\":\"{}\",\"dir\":\"{}\",\
         \"flagged_columns\":{flagged}}}",
        T::NAME,
        arch.family.describe(),
        o.dir
    )
}

fn gemm<T: Real>(o: &Opts, par: Par) -> String {
    // lhs is m x k (stored k x m when transposed), rhs k x n, dst m x n; all column-major.
    let a: Vec<T> = (0..o.m * o.k)
        .map(|i| T::from_f64(((i % 97) as f64 - 48.0) / 97.0))
        .collect();
    let b: Vec<T> = (0..o.k * o.n)
        .map(|i| T::from_f64(((i % 89) as f64 - 44.0) / 89.0))
        .collect();
    let mut c = vec![T::ZERO; o.m * o.n];
    let lhs = if o.trans {
        MatRef::from_column_major_slice(&a, o.k, o.m).transpose()
    } else {
        MatRef::from_column_major_slice(&a, o.m, o.k)
    };
    let rhs = MatRef::from_column_major_slice(&b, o.k, o.n);
    // radex's row-blocked product (what DenseNet runs), then faer's own parallel split.
    let secs = best_of(o.repeats, || {
        let dst = MatMut::from_column_major_slice_mut(&mut c, o.m, o.n);
        product(dst, lhs, rhs, par);
    });
    let faer_secs = best_of(o.repeats, || {
        matmul(
            MatMut::from_column_major_slice_mut(&mut c, o.m, o.n),
            Accum::Replace,
            lhs,
            rhs,
            T::from_f64(1.0),
            par,
        );
    });
    let flops = 2.0 * (o.m * o.k * o.n) as f64;
    format!(
        "{{\"workload\":\"gemm\",\"precision\":\"{}\",\"m\":{},\"k\":{},\"n\":{},\"trans\":\"{}\",\
         \"flops\":{flops},\"seconds\":{secs},\"faer_seconds\":{faer_secs}}}",
        T::NAME,
        o.m,
        o.k,
        o.n,
        if o.trans { "t" } else { "n" }
    )
}

/// Peak FMA throughput of one core: 12 independent accumulators (enough to cover two FMA
/// ports' latency) of the widest vectors the processor has, AVX-512 or else AVX2. Written in
/// `asm!` because the AVX-512 intrinsics need Rust 1.89 and radex supports 1.85; the loop
/// touches only vector registers 0-13, declared clobbered.
#[cfg(target_arch = "x86_64")]
mod peak {
    use std::arch::asm;

    macro_rules! fma_loop {
        ($name:ident, $reg:literal, $fma:literal, $zero:literal) => {
            fn $name(iters: u64) {
                // SAFETY: the caller checked the instruction set; the loop reads and writes
                // only the registers listed as clobbered and its counter.
                unsafe {
                    asm!(
                        concat!($zero, " ", $reg, "12, ", $reg, "12, ", $reg, "12"),
                        concat!($zero, " ", $reg, "13, ", $reg, "13, ", $reg, "13"),
                        "2:",
                        concat!($fma, " ", $reg, "0, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "1, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "2, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "3, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "4, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "5, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "6, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "7, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "8, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "9, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "10, ", $reg, "12, ", $reg, "13"),
                        concat!($fma, " ", $reg, "11, ", $reg, "12, ", $reg, "13"),
                        "dec {n}",
                        "jnz 2b",
                        n = inout(reg) iters => _,
                        out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
                        out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
                        out("xmm8") _, out("xmm9") _, out("xmm10") _, out("xmm11") _,
                        out("xmm12") _, out("xmm13") _,
                        options(nostack, nomem),
                    );
                }
            }
        };
    }

    fma_loop!(f64_512, "zmm", "vfmadd231pd", "vpxorq");
    fma_loop!(f32_512, "zmm", "vfmadd231ps", "vpxorq");
    fma_loop!(f64_256, "ymm", "vfmadd231pd", "vpxor");
    fma_loop!(f32_256, "ymm", "vfmadd231ps", "vpxor");

    /// Flops done by `iters` rounds, or `None` without AVX2 and FMA.
    pub fn run(f32: bool, iters: u64) -> Option<f64> {
        let lanes = if is_x86_feature_detected!("avx512f") {
            if f32 {
                f32_512(iters)
            } else {
                f64_512(iters)
            }
            if f32 { 16 } else { 8 }
        } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            if f32 {
                f32_256(iters)
            } else {
                f64_256(iters)
            }
            if f32 { 8 } else { 4 }
        } else {
            return None;
        };
        Some((iters * 12 * lanes * 2) as f64)
    }
}

/// The machine's FMA peak on `threads` cores at once (best of `repeats`), in flops per second.
fn peak(o: &Opts) -> String {
    #[cfg(target_arch = "x86_64")]
    let one = |iters: u64| peak::run(o.f32, iters);
    #[cfg(not(target_arch = "x86_64"))]
    let one = |_: u64| None::<f64>;
    let iters = 20_000_000;
    let mut best = 0.0f64;
    for _ in 0..o.repeats.max(3) {
        let t = Instant::now();
        let runs: Vec<Option<f64>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..o.threads)
                .map(|_| s.spawn(move || one(iters)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().expect("peak thread"))
                .collect()
        });
        let secs = t.elapsed().as_secs_f64();
        let Some(flops) = runs.iter().copied().sum::<Option<f64>>() else {
            return "{\"workload\":\"peak\",\"flops_per_second\":null}".to_string();
        };
        best = best.max(flops / secs);
    }
    format!(
        "{{\"workload\":\"peak\",\"precision\":\"{}\",\"threads\":{},\"flops_per_second\":{best}}}",
        if o.f32 { "f32" } else { "f64" },
        o.threads
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((what, rest)) = args.split_first() else {
        eprintln!("usage: kernels sample|fb|check|gemm|peak [--flag value]..");
        std::process::exit(2);
    };
    let o = parse(rest);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(o.threads)
        .build()
        .expect("could not start the thread pool");
    let par = if o.threads > 1 {
        Par::rayon(o.threads)
    } else {
        Par::Seq
    };
    let line = pool.install(|| match (what.as_str(), o.f32) {
        ("sample", false) => sample::<f64>(&o),
        ("sample", true) => sample::<f32>(&o),
        ("fb", false) => fb::<f64>(&o, par),
        ("fb", true) => fb::<f32>(&o, par),
        ("check", false) => check::<f64>(&o, par),
        ("check", true) => check::<f32>(&o, par),
        ("gemm", false) => gemm::<f64>(&o, par),
        ("gemm", true) => gemm::<f32>(&o, par),
        ("peak", _) => peak(&o),
        _ => {
            eprintln!("unknown workload {what}: expected sample, fb, check, gemm or peak");
            std::process::exit(2);
        }
    });
    println!("{line}");
}
