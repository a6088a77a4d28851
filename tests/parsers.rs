//! Issue 11: property tests of every parser of user text (architecture terms, lists, byte
//! sizes): arbitrary input never panics, valid input round-trips.

use proptest::prelude::*;
use radex::arch::{Arch, Init, Term, parse_arch, parse_terms};
use radex::budget::parse_bytes;
use radex::lists;

/// Text built from the characters these parsers care about, so the cases reach deep into
/// them rather than failing on the first character.
fn arch_like() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[0-9dx^/*.,e+-]{0,40}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>(), t in arch_like()) {
        for text in [&s, &t] {
            let _ = parse_arch(text, radex::arch::Family::default());
            let _ = parse_terms("--arch", text);
            let _ = Term::parse("--arch", text);
            let _ = lists::counts("--ds", text);
            let _ = lists::positives("--eps", text);
            let _ = parse_bytes(text);
            if let Ok(terms) = parse_terms("--widths", text) {
                for term in terms.iter().take(8) {
                    let _ = term.eval("--widths", 1000);
                    let _ = term.eval("--widths", usize::MAX);
                }
            }
        }
    }

    #[test]
    fn architectures_round_trip(
        d in 1usize..100_000,
        runs in proptest::collection::vec((1usize..5000, 1usize..6), 1..8),
        he in any::<bool>(),
    ) {
        let widths: Vec<usize> = runs
            .iter()
            .flat_map(|&(w, n)| std::iter::repeat_n(w, n))
            .collect();
        let init = if he { Init::He } else { Init::Nn };
        let a = Arch::new(d, widths, init).unwrap();
        prop_assert_eq!(parse_arch(&a.spec(), radex::arch::Family::paper(init)).unwrap(), a);
    }

    #[test]
    fn relative_terms_round_trip(coef in 1u32..100, exp in 1u32..40, div in 1u32..64) {
        let t = Term::Relative {
            coef: coef as f64 / 4.0,
            exp: exp as f64 / 8.0,
            div: div as f64,
        };
        prop_assert_eq!(Term::parse("--arch", &t.to_string()).unwrap(), t);
    }

    #[test]
    fn count_lists_sort_and_refuse_repeats(
        set in proptest::collection::btree_set(1usize..1_000_000_000, 1..20),
        seed in any::<u64>(),
    ) {
        let sorted: Vec<usize> = set.iter().copied().collect();
        let mut shuffled = sorted.clone();
        // A deterministic shuffle from the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.rotate_left(i as u32) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        let text = shuffled.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
        prop_assert_eq!(lists::counts("--ds", &text).unwrap(), sorted.clone());
        let repeated = format!("{text},{}", sorted[0]);
        prop_assert!(lists::counts("--ds", &repeated).is_err());
    }

    #[test]
    fn number_lists_round_trip(v in proptest::collection::vec(1e-12f64..1e12, 1..12)) {
        let mut distinct = v.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let text = distinct.iter().rev().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
        prop_assert_eq!(lists::positives("--eps", &text).unwrap(), distinct);
    }

    #[test]
    fn byte_sizes_round_trip(n in 1u64..(1 << 40), unit in 0usize..5) {
        let (suffix, mult) = [("", 1u128), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)][unit];
        prop_assert_eq!(parse_bytes(&format!("{n}{suffix}")).unwrap(), n as u128 * mult);
    }
}
