//! A sweep's outputs: the merged points in a format (each point's report as its subcommand
//! prints it, under the point's command), the sweep's figure, and the status text.

use std::path::Path;

use super::dir::{self, PlanFile, Status};
use super::error::Error;
use super::job::Merged;
use super::slurm;
use crate::experiment::attack::AttackReport;
use crate::experiment::compare::AttackOutput;
use crate::experiment::depth::DepthReport;
use crate::record::to_json;
use crate::report::svg::PlotError;
use crate::report::{Format, Report, figures, heatmap};

/// The merged points in `format`: tables one after the other under a header naming the
/// point's command; JSON, an array of `{point, command, args, report}` with each report as
/// the subcommand prints it; CSV, the reports' rows under one header with the point's index
/// and the varying flags (`varying`, [`dir::varying`]) first.
pub fn merged(
    plan: &PlanFile,
    varying: &[String],
    merged: &[(usize, Merged)],
    format: Format,
) -> Result<String, Error> {
    Ok(match format {
        Format::Table => merged
            .iter()
            .map(|(i, m)| {
                format!(
                    "== point {i} of {}: {} ==\n{}\n",
                    plan.points.len(),
                    plan.points[*i].command(&plan.experiment),
                    m.table()
                )
            })
            .collect(),
        Format::Json => {
            let items: Vec<serde_json::Value> = merged
                .iter()
                .map(|(i, m)| {
                    let report: serde_json::Value =
                        serde_json::from_str(&to_json(m)).expect("radex's own JSON");
                    serde_json::json!({
                        "point": i,
                        "command": plan.points[*i].command(&plan.experiment),
                        "args": plan.points[*i].args,
                        "report": report,
                    })
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&items).expect("JSON values serialise");
            s.push('\n');
            s
        }
        Format::Csv => {
            const OWN: &str = "radex's own CSV";
            let mut w = csv::Writer::from_writer(Vec::new());
            let mut header: Option<csv::StringRecord> = None;
            // The varying flags' columns are named as the flags, apart from the report's own.
            let flags: Vec<String> = varying.iter().map(|f| format!("--{f}")).collect();
            for (i, m) in merged {
                let text = m.csv();
                let mut r = csv::ReaderBuilder::new()
                    .flexible(true)
                    .from_reader(text.as_bytes());
                let h = r.headers().expect(OWN).clone();
                match &header {
                    None => {
                        w.write_record(
                            std::iter::once("point")
                                .chain(flags.iter().map(String::as_str))
                                .chain(h.iter()),
                        )
                        .expect(OWN);
                        header = Some(h.clone());
                    }
                    Some(first) if *first != h => {
                        return Err(Error::Columns {
                            point: *i,
                            first: merged[0].0,
                        });
                    }
                    Some(_) => {}
                }
                let lead: Vec<String> = std::iter::once(i.to_string())
                    .chain(
                        varying
                            .iter()
                            .map(|f| dir::flag_value(&plan.points[*i].args, f)),
                    )
                    .collect();
                for rec in r.records() {
                    let rec = rec.expect(OWN);
                    w.write_record(lead.iter().map(String::as_str).chain(rec.iter()))
                        .expect(OWN);
                }
            }
            String::from_utf8(w.into_inner().expect(OWN)).expect(OWN)
        }
    })
}

/// The sweep's figure (SVG): for attack, the median perturbation against `d`; for depth, the
/// smallest flip and one-step success against depth; for minpert and phase, each point's own
/// figure, one above the other. Curves are labelled by the varying flags.
pub fn figure(
    plan: &PlanFile,
    varying: &[String],
    merged: &[(usize, Merged)],
) -> Result<String, PlotError> {
    let label = |i: usize| {
        varying
            .iter()
            .filter(|f| !matches!(f.as_str(), "arch" | "depths"))
            .map(|f| format!("{f}={}", dir::flag_value(&plan.points[i].args, f)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let attacks: Vec<(String, &AttackReport)> = merged
        .iter()
        .filter_map(|(i, m)| match m {
            Merged::Attack(o) => Some((
                label(*i),
                match o.as_ref() {
                    AttackOutput::One(r) => r.as_ref(),
                    AttackOutput::Compared(c) => &c.given,
                },
            )),
            _ => None,
        })
        .collect();
    let depths: Vec<(String, &DepthReport)> = merged
        .iter()
        .filter_map(|(i, m)| match m {
            Merged::Depth(r) => Some((label(*i), r.as_ref())),
            _ => None,
        })
        .collect();
    match plan.experiment.as_str() {
        "attack" => figures::sweep_attack(&attacks),
        "depth" => figures::sweep_depth(&depths),
        _ => merged
            .iter()
            .filter_map(|(_, m)| match m {
                Merged::Minpert(r) => Some(figures::minpert(r)),
                Merged::Phase(r) => Some(heatmap::phase(r)),
                _ => None,
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|panels| figures::stack(&panels)),
    }
}

/// `sweep status`'s text: the counts, the shards running, the units running, failed and
/// missing, the corrupt lines, and the Slurm tasks of submitted jobs ([`slurm::tasks`]).
pub fn status(dir: &Path, plan: &PlanFile, s: &Status) -> String {
    let total = plan.units.len();
    let mut out = format!(
        "radex sweep status: {} ({} {} points, {total} units)\n\
         done {}, running {}, missing {}, failed {}\n",
        dir.display(),
        plan.points.len(),
        plan.experiment,
        s.done.len(),
        s.running.len(),
        s.missing.len(),
        s.failed.len()
    );
    for (i, o) in &s.locked {
        out.push_str(&format!(
            "shard {i}: running (pid {} on {})\n",
            o.pid, o.host
        ));
    }
    for (u, o) in &s.running {
        out.push_str(&format!(
            "running: unit {} (point {}, trials {}..{}) pid {} on {}\n",
            u.id, u.point, u.first, u.end, o.pid, o.host
        ));
    }
    for (u, m) in &s.failed {
        out.push_str(&format!(
            "failed: unit {} (point {}: {}; trials {}..{}): {m}\n",
            u.id,
            u.point,
            plan.points[u.point].command(&plan.experiment),
            u.first,
            u.end
        ));
    }
    let mut missing_points: Vec<usize> = s.missing.iter().map(|u| u.point).collect();
    missing_points.dedup();
    if !missing_points.is_empty() {
        out.push_str(&format!(
            "missing: {} units of points {}\n",
            s.missing.len(),
            list(&missing_points)
        ));
    }
    for p in &s.problems {
        out.push_str(&format!("corrupt: {p}\n"));
    }
    out.push_str(&slurm::tasks(dir));
    out
}

/// Indices joined with commas.
pub fn list(v: &[usize]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}
