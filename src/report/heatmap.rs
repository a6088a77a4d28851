//! The phase diagram of `radex phase` as an SVG heat map (MATH 9): two panels over
//! `sigma_w^2 x sigma_b`, the one-step success rate and the median smallest verified flip
//! times `sqrt(d)` (log colour scale), each with a colour bar and the kernel's order-chaos
//! boundary `chi_1 = 1` drawn over it. Cells span the midpoints between grid values; a cell
//! without a value (no live network, or no flip in most networks) is grey. Drawn with
//! `plotters`' SVG backend like [`super::svg`], with the same font-free text.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::svg::{PlotError, tick};
use crate::experiment::phase::PhaseReport;
use crate::infinite_width::critical_sigma_w2;

/// Width and height of the SVG canvas in pixels.
pub const SIZE: (u32, u32) = (1500, 640);

/// Points of the critical curve across the `sigma_b` range.
const CURVE_POINTS: usize = 101;

/// Viridis at five stops: perceptually uniform, readable in grey and by most colour-blind
/// readers.
const VIRIDIS: [(f64, f64, f64); 5] = [
    (68.0, 1.0, 84.0),
    (59.0, 82.0, 139.0),
    (33.0, 145.0, 140.0),
    (94.0, 201.0, 98.0),
    (253.0, 231.0, 37.0),
];

/// Colour of a cell without a value.
const MISSING: RGBColor = RGBColor(205, 205, 205);
/// Colour of the critical curve.
const CURVE: RGBColor = RGBColor(214, 39, 40);

/// The colour at `t` in `[0, 1]`.
fn colour(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let i = (t.floor() as usize).min(VIRIDIS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: f64, y: f64| (x + f * (y - x)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// `v` rounded to two significant digits (the ticks of a log colour bar fall between powers
/// of ten).
fn two_digits(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return v;
    }
    let e = v.log10().floor() - 1.0;
    let scale = 10f64.powf(e);
    (v / scale).round() * scale
}

/// Cell edges for ascending grid values: midpoints inside, half a spacing beyond the ends.
fn edges(v: &[f64]) -> Vec<f64> {
    match v {
        [] => vec![],
        [x] => {
            let h = if *x == 0.0 { 0.5 } else { 0.25 * x.abs() };
            vec![x - h, x + h]
        }
        _ => {
            let n = v.len();
            let mut e = vec![v[0] - 0.5 * (v[1] - v[0])];
            e.extend(v.windows(2).map(|w| 0.5 * (w[0] + w[1])));
            e.push(v[n - 1] + 0.5 * (v[n - 1] - v[n - 2]));
            e
        }
    }
}

/// One panel: a quantity per cell (`sigma_b` outer), on a linear or log colour scale.
struct Panel {
    title: String,
    legend: String,
    values: Vec<Option<f64>>,
    log: bool,
}

/// The colour scale of a panel: `(lo, hi)` in colour coordinates (`log10` on a log scale).
fn scale(p: &Panel) -> Option<(f64, f64)> {
    let t: Vec<f64> = p
        .values
        .iter()
        .flatten()
        .filter(|v| v.is_finite() && (!p.log || **v > 0.0))
        .map(|&v| if p.log { v.log10() } else { v })
        .collect();
    let lo = t.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() {
        return None;
    }
    Some(if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, hi + 0.5)
    })
}

/// The phase diagram (two panels).
///
/// # Errors
/// [`PlotError::NoData`] for an empty grid; [`PlotError::Draw`] if `plotters` fails.
pub fn phase(r: &PhaseReport) -> Result<String, PlotError> {
    let title = format!(
        "Order and chaos of {} networks at depth {}, width {}, d {} (MATH 9)",
        r.act, r.depth, r.width, r.d
    );
    if r.cells.is_empty() {
        return Err(PlotError::NoData { title });
    }
    let sqrt_d = (r.d as f64).sqrt();
    let panels = [
        Panel {
            title: "one-step success rate (Theorem 1.1's step)".into(),
            legend: "success rate".into(),
            values: r
                .cells
                .iter()
                .map(|c| Some(c.row.onestep_success_rate).filter(|v| v.is_finite()))
                .collect(),
            log: false,
        },
        Panel {
            title: "median smallest verified flip x sqrt(d) (log colour)".into(),
            legend: "||x'-x|| sqrt(d)/||x||".into(),
            values: r
                .cells
                .iter()
                .map(|c| c.row.min_flip_median_all.map(|m| m * sqrt_d))
                .collect(),
            log: true,
        },
    ];
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        let drawn = draw(&root, r, &title, &panels).and_then(|()| root.present());
        drawn.map_err(|e| PlotError::Draw {
            title: title.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(out)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &PhaseReport,
    title: &str,
    panels: &[Panel],
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 24))?;
    let (w, _) = root.dim_in_pixel();
    let halves = root.split_evenly((1, panels.len()));
    let xe = edges(&r.sigma_w2);
    let ye = edges(&r.sigma_b);
    let (x0, x1) = (xe[0], xe[xe.len() - 1]);
    let (y0, y1) = (ye[0], ye[ye.len() - 1]);
    // The chi_1 = 1 curve on a fine sigma_b grid, cut where it leaves the plotted range.
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for i in 0..CURVE_POINTS {
        let b = y0.max(0.0) + (y1 - y0.max(0.0)) * i as f64 / (CURVE_POINTS - 1) as f64;
        match critical_sigma_w2(r.act, b).filter(|s| (x0..=x1).contains(s)) {
            Some(s) => runs.last_mut().expect("one run").push((s, b)),
            None => runs.push(Vec::new()),
        }
    }
    runs.retain(|run| run.len() >= 2);
    let bar_w = 150.min(w / 4);
    for (area, p) in halves.iter().zip(panels) {
        let (aw, _) = area.dim_in_pixel();
        let (map, bar) = area.split_horizontally(aw.saturating_sub(bar_w));
        let mut chart = ChartBuilder::on(&map)
            .caption(&p.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("sigma_w^2 (weight variance x fan-in)")
            .y_desc("sigma_b (bias standard deviation)")
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()?;
        let range = scale(p);
        let nx = r.sigma_w2.len();
        let rects = p.values.iter().enumerate().map(|(k, v)| {
            let (i, j) = (k % nx, k / nx);
            let fill = match (v, range) {
                (Some(v), Some((lo, hi))) if v.is_finite() && (!p.log || *v > 0.0) => {
                    let t = if p.log { v.log10() } else { *v };
                    colour((t - lo) / (hi - lo))
                }
                _ => MISSING,
            };
            Rectangle::new([(xe[i], ye[j]), (xe[i + 1], ye[j + 1])], fill.filled())
        });
        chart.draw_series(rects)?;
        for (n, run) in runs.iter().enumerate() {
            let a =
                chart.draw_series(LineSeries::new(run.iter().copied(), CURVE.stroke_width(3)))?;
            if n == 0 {
                a.label("chi_1 = 1 (kernel): ordered left, chaotic right")
                    .legend(|(x, y)| {
                        PathElement::new([(x, y), (x + 20, y)], CURVE.stroke_width(3))
                    });
            }
        }
        if !runs.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(("sans-serif", 14))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .draw()?;
        }
        colour_bar(&bar, p, range)?;
    }
    Ok(())
}

/// The colour legend: the scale as a vertical bar with its ticks, and the grey of a cell
/// without a value.
fn colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    range: Option<(f64, f64)>,
) -> DrawResult<DB> {
    let (lo, hi) = range.unwrap_or((0.0, 1.0));
    let log = p.log;
    let mut chart = ChartBuilder::on(area)
        .margin_top(50)
        .margin_bottom(70)
        .margin_right(10)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..1f64, lo..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(&p.legend)
        .y_label_formatter(&|v| {
            if log {
                tick(two_digits(10f64.powf(*v)))
            } else {
                tick(*v)
            }
        })
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    let steps = 64;
    chart.draw_series((0..steps).map(|k| {
        let (a, b) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
        let (ya, yb) = (lo + a * (hi - lo), lo + b * (hi - lo));
        Rectangle::new([(0.0, ya), (1.0, yb)], colour(0.5 * (a + b)).filled())
    }))?;
    let (_, h) = area.dim_in_pixel();
    area.draw(&Rectangle::new(
        [(75, h as i32 - 45), (95, h as i32 - 30)],
        MISSING.filled(),
    ))?;
    area.draw(&Text::new(
        "none",
        (100, h as i32 - 45),
        ("sans-serif", 13).into_font(),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_midpoints_and_colours_span_viridis() {
        assert_eq!(edges(&[0.0, 1.0, 3.0]), vec![-0.5, 0.5, 2.0, 4.0]);
        assert_eq!(edges(&[2.0]), vec![1.5, 2.5]);
        assert_eq!(colour(0.0), RGBColor(68, 1, 84));
        assert_eq!(colour(1.0), RGBColor(253, 231, 37));
        assert_eq!(colour(0.5), RGBColor(33, 145, 140));
        assert_eq!(tick(two_digits(0.063096)), "0.063");
        assert_eq!(tick(two_digits(158.489)), "160");
    }
}
