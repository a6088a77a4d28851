//! Line and scatter plots as SVG text, for figures such as relative gradient change against
//! radius (log-log, one line per architecture), the Figure 1 replica (measured points, a
//! `sqrt(k/d)` curve, an exact-expectation curve) or cosine against depth (log x).
//!
//! One function, [`render`], turns a [`Plot`] (title, axis labels, linear or log axes, any
//! number of named [`Series`]) into an SVG document, drawn with `plotters`' SVG backend.
//!
//! - Axis ranges come from the data with a 5% margin on each side (on a log axis, 5% of the
//!   span in decades, from the smallest and largest positive values).
//! - Points that are not finite are skipped, and so are points that are not positive on a log
//!   axis; a line joins the points that remain.
//! - Series take colours in turn from a ten-colour palette (matplotlib's "tab10"). The legend
//!   goes in the corner of the plotting area that covers the fewest data points.
//!
//! Text needs no font here. The SVG backend writes text as `<text>` elements in the generic
//! `sans-serif` family, so the viewer supplies the glyphs; `plotters` needs font metrics only
//! to lay out labels, and with its font features (`ttf`, `ab_glyph`) off it uses a built-in
//! estimate of the width (about 0.56 em of the written font size per character,
//! `plotters/src/style/font/naive.rs`), close to the average of common sans-serif fonts. So
//! nothing is embedded, read from the system or downloaded, and no system library is needed
//! at build or run time. Embedding a TTF through `ab_glyph` would only refine that estimate.

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

/// Width and height of the SVG canvas in pixels.
pub const SIZE: (u32, u32) = (800, 560);

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A solid line through the points in the order given.
    Line,
    /// A filled circle at each point.
    Points,
    /// A solid line with a filled circle at each point.
    LineAndPoints,
    /// A dashed line through the points in the order given (for predictions).
    Dashed,
}

/// One named set of `(x, y)` points, shown in the legend as `name`.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// The points, in drawing order for the line styles.
    pub points: Vec<(f64, f64)>,
    /// How the points are drawn.
    pub style: Style,
}

impl Series {
    /// A series named `name` drawn in `style`.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>, style: Style) -> Self {
        Series {
            name: name.into(),
            points,
            style,
        }
    }
}

/// A whole figure: title, axis labels, axis scales and series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plot {
    /// Caption above the plotting area.
    pub title: String,
    /// Label under the x axis.
    pub x_label: String,
    /// Label left of the y axis.
    pub y_label: String,
    /// Base-10 logarithmic x axis.
    pub log_x: bool,
    /// Base-10 logarithmic y axis.
    pub log_y: bool,
    /// Series, drawn in order (later ones on top) and given colours in order.
    pub series: Vec<Series>,
}

/// Why a plot could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// No series has a point that can be drawn.
    #[error(
        "expected at least one finite point (with positive coordinates on log axes) in plot \
         '{title}', got none"
    )]
    NoData {
        /// The plot's title.
        title: String,
    },
    /// `plotters` failed while drawing.
    #[error("could not draw plot '{title}': {message}")]
    Draw {
        /// The plot's title.
        title: String,
        /// The drawing error.
        message: String,
    },
}

/// Renders `plot` as an SVG document of [`SIZE`] pixels.
///
/// # Errors
/// [`PlotError::NoData`] when no point of any series can be drawn (every point is non-finite,
/// or non-positive on a log axis); [`PlotError::Draw`] if `plotters` fails.
///
/// # Example
/// ```
/// use radex::report::svg::{render, Plot, Series, Style};
///
/// let pts: Vec<(f64, f64)> = (1..=20).map(|i| (i as f64, 1.0 / (i as f64).sqrt())).collect();
/// let plot = Plot {
///     title: "y = x^-1/2".into(),
///     x_label: "x".into(),
///     y_label: "y".into(),
///     log_x: true,
///     log_y: true,
///     series: vec![Series::new("measured", pts, Style::LineAndPoints)],
/// };
/// let svg = render(&plot)?;
/// assert!(svg.starts_with("<svg") && svg.contains("measured"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn render(plot: &Plot) -> Result<String, PlotError> {
    let data: Vec<Vec<(f64, f64)>> = plot
        .series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .copied()
                .filter(|&(x, y)| drawable(x, plot.log_x) && drawable(y, plot.log_y))
                .collect()
        })
        .collect();
    let all = || data.iter().flatten();
    let (Some(x), Some(y)) = (
        Axis::new(all().map(|p| p.0), plot.log_x),
        Axis::new(all().map(|p| p.1), plot.log_y),
    ) else {
        return Err(PlotError::NoData {
            title: plot.title.clone(),
        });
    };
    let legend = legend_corner(plot, &data, &x, &y);

    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        let (xs, ys) = (x.lo..x.hi, y.lo..y.hi);
        let result = match (plot.log_x, plot.log_y) {
            (false, false) => draw(&root, plot, &data, (xs, &x), (ys, &y), legend),
            (true, false) => draw(&root, plot, &data, (xs.log_scale(), &x), (ys, &y), legend),
            (false, true) => draw(&root, plot, &data, (xs, &x), (ys.log_scale(), &y), legend),
            (true, true) => draw(
                &root,
                plot,
                &data,
                (xs.log_scale(), &x),
                (ys.log_scale(), &y),
                legend,
            ),
        };
        result
            .and_then(|()| root.present())
            .map_err(|e| PlotError::Draw {
                title: plot.title.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(out)
}

/// Colours taken in turn by the series (matplotlib "tab10": distinct, and readable in print).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Radius of a point marker, pixels.
const MARKER: i32 = 3;

fn drawable(v: f64, log: bool) -> bool {
    v.is_finite() && (!log || v > 0.0)
}

/// An axis range in data units, with the margin added.
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Axis {
    /// The range of `values` (all drawable) plus a 5% margin each side, computed in decades
    /// on a log axis; `None` when there are no values.
    fn new(values: impl Iterator<Item = f64>, log: bool) -> Option<Axis> {
        let t = |v: f64| if log { v.log10() } else { v };
        let (lo, hi) = values.fold(None, |acc: Option<(f64, f64)>, v| {
            let v = t(v);
            Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
        })?;
        // A single value gets half its size each side (half a decade on a log axis).
        let margin = if hi > lo {
            0.05 * (hi - lo)
        } else if log || lo == 0.0 {
            0.5
        } else {
            0.5 * lo.abs()
        };
        let (lo, hi) = (lo - margin, hi + margin);
        let back = |v: f64| if log { 10f64.powf(v) } else { v };
        Some(Axis {
            lo: back(lo),
            hi: back(hi),
            log,
        })
    }

    /// The label of a tick at `v`. On a linear axis, a value within 10^-9 of the span from 0
    /// is a rounding error of the tick computation (`2.2e-16` for 0) and shows as `0`.
    fn tick(&self, v: f64) -> String {
        if !self.log && v.abs() < 1e-9 * (self.hi - self.lo) {
            "0".into()
        } else {
            tick(v)
        }
    }

    /// Position of `v` along the axis, 0 at `lo` and 1 at `hi`.
    fn frac(&self, v: f64) -> f64 {
        if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }
}

/// The corner whose legend-sized box holds the fewest data points, counting points sampled
/// along each line too. Ties go to upper right, upper left, lower right, lower left in turn.
fn legend_corner(plot: &Plot, data: &[Vec<(f64, f64)>], x: &Axis, y: &Axis) -> SeriesLabelPosition {
    // Plotting area about 680 x 420 px; a legend row about 20 px high, 8 px per character
    // plus 45 px for the sample line and padding.
    let chars = plot
        .series
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let w = ((chars as f64 * 8.0 + 45.0) / 680.0).min(1.0);
    let h = ((plot.series.len() as f64 * 20.0 + 15.0) / 420.0).min(1.0);
    let mut uv: Vec<(f64, f64)> = Vec::new();
    for (s, pts) in plot.series.iter().zip(data) {
        let p: Vec<(f64, f64)> = pts.iter().map(|&(a, b)| (x.frac(a), y.frac(b))).collect();
        uv.extend(&p);
        if s.style != Style::Points {
            for seg in p.windows(2) {
                let (a, b) = (seg[0], seg[1]);
                uv.extend((1..16).map(|k| {
                    let t = k as f64 / 16.0;
                    (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
                }));
            }
        }
    }
    let corners = [
        (SeriesLabelPosition::UpperRight, 1.0 - w, 1.0 - h),
        (SeriesLabelPosition::UpperLeft, 0.0, 1.0 - h),
        (SeriesLabelPosition::LowerRight, 1.0 - w, 0.0),
        (SeriesLabelPosition::LowerLeft, 0.0, 0.0),
    ];
    let covered = |u0: f64, v0: f64| {
        uv.iter()
            .filter(|&&(u, v)| u >= u0 && u <= u0 + w && v >= v0 && v <= v0 + h)
            .count()
    };
    corners
        .into_iter()
        .min_by_key(|&(_, u0, v0)| covered(u0, v0))
        .map(|c| c.0)
        .expect("four corners")
}

/// Draws the chart on `root`, each axis given as a `plotters` range (linear or log) and the
/// [`Axis`] it was made from.
fn draw<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    plot: &Plot,
    data: &[Vec<(f64, f64)>],
    (x, x_axis): (X, &Axis),
    (y, y_axis): (Y, &Axis),
    legend: SeriesLabelPosition,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(root)
        .caption(&plot.title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc(&plot.x_label)
        .y_desc(&plot.y_label)
        .x_label_formatter(&|v| x_axis.tick(*v))
        .y_label_formatter(&|v| y_axis.tick(*v))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .light_line_style(RGBColor(243, 243, 243))
        .bold_line_style(RGBColor(210, 210, 210))
        .draw()?;

    for (i, (s, pts)) in plot.series.iter().zip(data).enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let line = color.stroke_width(2);
        let dot = color.filled();
        let style = s.style;
        let anno = match style {
            Style::Line | Style::LineAndPoints => {
                chart.draw_series(LineSeries::new(pts.iter().copied(), line))?
            }
            Style::Dashed => {
                chart.draw_series(DashedLineSeries::new(pts.iter().copied(), 8, 5, line))?
            }
            Style::Points => chart.draw_series(pts.iter().map(|&p| Circle::new(p, MARKER, dot)))?,
        };
        anno.label(s.name.as_str()).legend(move |at| {
            let ((len, first), second, marker) = legend_parts(style, line, dot);
            EmptyElement::at(at)
                + PathElement::new([(0, 0), (len, 0)], first)
                + PathElement::new([(13, 0), (20, 0)], second)
                + Circle::new((10, 0), MARKER, marker)
        });
        if style == Style::LineAndPoints {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, MARKER, dot)))?;
        }
    }

    chart
        .configure_series_labels()
        .position(legend)
        .margin(12)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()?;
    Ok(())
}

/// The sample drawn beside a series' name in the legend: the length and style of a first
/// line piece from 0 px, the style of a second piece from 13 to 20 px, and the marker style.
/// Unused parts are transparent, which the SVG backend skips.
///
/// Every style gets the same element type because `plotters` cannot box elements built on
/// `EmptyElement<_, DB>` into a `DynElement` when the backend borrows its output (a
/// higher-ranked bound in `IntoDynElement` would need the borrow to be `'static`).
fn legend_parts(
    style: Style,
    line: ShapeStyle,
    dot: ShapeStyle,
) -> ((i32, ShapeStyle), ShapeStyle, ShapeStyle) {
    let none = ShapeStyle::from(TRANSPARENT);
    match style {
        Style::Line => ((20, line), none, none),
        Style::Points => ((20, none), none, dot),
        Style::LineAndPoints => ((20, line), none, dot),
        Style::Dashed => ((7, line), line, none),
    }
}

/// A tick label: plain decimals from 0.001 to below 10^5, `1e-5` style outside, no trailing
/// zeros.
pub(crate) fn tick(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        let s = format!("{v:.2e}");
        let (m, e) = s.split_once('e').expect("exponent");
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{e}")
    } else {
        let s = format!("{v:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks that the title, the axis labels and each series name appear as text.
    fn check(doc: &roxmltree::Document, plot: &Plot) {
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
            .collect();
        for s in &plot.series {
            assert!(
                texts.contains(&s.name),
                "legend lacks {:?}: {texts:?}",
                s.name
            );
        }
        for t in [&plot.title, &plot.x_label, &plot.y_label] {
            assert!(texts.contains(t), "missing text {t:?}");
        }
    }

    /// Elements drawn in `color`: (polylines or paths, circles).
    fn count_color(doc: &roxmltree::Document, color: RGBColor) -> (usize, usize) {
        let hex = format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2);
        let has = |n: &roxmltree::Node, attr: &str| {
            n.attribute(attr)
                .is_some_and(|c| c.eq_ignore_ascii_case(&hex))
        };
        let lines = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline") || n.has_tag_name("path"))
            .filter(|n| has(n, "stroke"))
            .count();
        let circles = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle") && has(n, "fill"))
            .count();
        (lines, circles)
    }

    fn power_law(c: f64, p: f64) -> Vec<(f64, f64)> {
        (0..12)
            .map(|i| {
                let x = 10f64.powf(-3.0 + 0.25 * i as f64);
                (x, c * x.powf(p))
            })
            .collect()
    }

    #[test]
    fn log_log_two_series() {
        let plot = Plot {
            title: "relative gradient change".into(),
            x_label: "radius".into(),
            y_label: "change".into(),
            log_x: true,
            log_y: true,
            series: vec![
                Series::new("d=100, L=2", power_law(1.0, 0.5), Style::LineAndPoints),
                Series::new("d=1000, L=4", power_law(0.3, 0.5), Style::Line),
            ],
        };
        let svg = render(&plot).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        check(&doc, &plot);
        // Data line plus legend sample for each; markers for the first.
        let (l0, c0) = count_color(&doc, PALETTE[0]);
        let (l1, _) = count_color(&doc, PALETTE[1]);
        assert!(l0 >= 2 && c0 >= 12, "{l0} {c0}");
        assert!(l1 >= 2, "{l1}");
    }

    #[test]
    fn linear_points_and_line() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, (i as f64).sin())).collect();
        let plot = Plot {
            title: "linear".into(),
            x_label: "x".into(),
            y_label: "sin x".into(),
            series: vec![
                Series::new("measured <x> & y", pts.clone(), Style::Points),
                Series::new("prediction", pts, Style::Dashed),
            ],
            ..Plot::default()
        };
        let svg = render(&plot).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        check(&doc, &plot);
        let (_, c0) = count_color(&doc, PALETTE[0]);
        let (l1, _) = count_color(&doc, PALETTE[1]);
        assert!(c0 >= 10, "{c0}");
        assert!(l1 >= 2, "{l1}");
    }

    #[test]
    fn nan_and_zero_skipped_on_log_axes() {
        let bad = vec![
            (f64::NAN, 1.0),
            (0.0, 1.0),
            (1.0, 0.0),
            (2.0, -1.0),
            (3.0, f64::INFINITY),
            (1.0, 2.0),
            (10.0, 0.5),
        ];
        let plot = Plot {
            title: "gaps".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            log_x: true,
            log_y: true,
            series: vec![
                Series::new("with gaps", bad, Style::LineAndPoints),
                Series::new("clean", power_law(1.0, -0.5), Style::Points),
            ],
        };
        let svg = render(&plot).unwrap();
        let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
        check(&doc, &plot);
        // Exactly the two good points get markers (plus one in the legend).
        assert_eq!(count_color(&doc, PALETTE[0]).1, 3);
        assert!(count_color(&doc, PALETTE[1]).1 >= 12);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn no_drawable_point_is_an_error() {
        let plot = Plot {
            title: "empty".into(),
            log_y: true,
            series: vec![Series::new(
                "zeros",
                vec![(1.0, 0.0), (f64::NAN, 1.0)],
                Style::Line,
            )],
            ..Plot::default()
        };
        assert!(matches!(render(&plot), Err(PlotError::NoData { .. })));
        assert!(matches!(
            render(&Plot::default()),
            Err(PlotError::NoData { .. })
        ));
    }

    #[test]
    fn single_point_gets_a_range() {
        for log in [false, true] {
            let plot = Plot {
                log_x: log,
                log_y: log,
                series: vec![Series::new("one", vec![(5.0, 5.0)], Style::Points)],
                ..Plot::default()
            };
            let svg = render(&plot).unwrap();
            roxmltree::Document::parse(&svg).unwrap();
        }
    }

    #[test]
    fn legend_avoids_the_data() {
        let corner = |pts: Vec<(f64, f64)>| {
            let plot = Plot {
                series: vec![Series::new("a", pts, Style::Line)],
                ..Plot::default()
            };
            let x = Axis::new(plot.series[0].points.iter().map(|p| p.0), false).unwrap();
            let y = Axis::new(plot.series[0].points.iter().map(|p| p.1), false).unwrap();
            legend_corner(&plot, &[plot.series[0].points.clone()], &x, &y)
        };
        let down = corner(vec![(0.0, 1.0), (1.0, 0.0)]);
        let up = corner(vec![(0.0, 0.0), (1.0, 1.0)]);
        assert!(matches!(down, SeriesLabelPosition::UpperRight), "{down:?}");
        assert!(matches!(up, SeriesLabelPosition::UpperLeft), "{up:?}");
        let vee = corner(vec![(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)]);
        assert!(matches!(vee, SeriesLabelPosition::LowerRight), "{vee:?}");
    }

    #[test]
    fn single_value_range() {
        let a = Axis::new([5.0].into_iter(), false).unwrap();
        assert_eq!((a.lo, a.hi), (2.5, 7.5));
        let a = Axis::new([10.0].into_iter(), true).unwrap();
        assert!((a.lo * a.hi / 100.0 - 1.0).abs() <= 1e-12);
        assert!((a.hi / a.lo / 10.0 - 1.0).abs() <= 1e-12);
    }

    #[test]
    fn tick_labels() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(100.0), "100");
        assert_eq!(tick(1e-4), "1e-4");
        assert_eq!(tick(2.5e6), "2.5e6");
        let lin = Axis::new([-1.0, 1.0].into_iter(), false).unwrap();
        assert_eq!(lin.tick(2.2e-16), "0");
        assert_eq!(lin.tick(0.2), "0.2");
        let log = Axis::new([1e-20, 1.0].into_iter(), true).unwrap();
        assert_eq!(log.tick(1e-20), "1e-20");
    }
}
