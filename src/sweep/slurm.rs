//! A sweep as a Slurm job array: the sbatch script (one shard per array task, the shard count
//! written into it so a resubmitted task runs the same shard), its submission, the job ids
//! recorded in the sweep's directory, and the state of their tasks from squeue.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::dir::PlanFile;
use super::error::Error;
use crate::error::{Result, invalid};

/// The job array's settings (`radex sweep slurm`'s flags).
#[derive(Clone, Debug)]
pub struct Array {
    /// Array tasks, one shard each (`--array-size`).
    pub size: usize,
    /// Tasks running at once at most (`--parallel`, sbatch's `%P`).
    pub parallel: Option<usize>,
    /// Time limit per task (`--time`, sbatch's `--time`).
    pub time: Option<String>,
    /// Partition (`--partition`).
    pub partition: Option<String>,
    /// CPUs per task, each running that many threads (`--cpus-per-task`).
    pub cpus_per_task: usize,
    /// Memory per task (`--mem`).
    pub mem: Option<String>,
}

impl Array {
    /// Every value checked before anything is written: counts at least 1, and values written
    /// into the script made only of the characters sbatch's own syntax uses.
    pub fn check(&self) -> Result<()> {
        if self.size == 0 {
            return Err(invalid("--array-size", "0", "expected at least 1 task"));
        }
        if self.parallel == Some(0) {
            return Err(invalid("--parallel", "0", "expected at least 1"));
        }
        if self.cpus_per_task == 0 {
            return Err(invalid("--cpus-per-task", "0", "expected at least 1"));
        }
        let values = [
            ("--time", &self.time, ":-"),
            ("--partition", &self.partition, "_.,-"),
            ("--mem", &self.mem, ""),
        ];
        for (flag, v, allowed) in values {
            if let Some(v) = v {
                script_safe(flag, v, allowed)?;
            }
        }
        Ok(())
    }

    /// The sbatch script running `exe sweep run DIR --shard $SLURM_ARRAY_TASK_ID/N` for the
    /// sweep of `plan` in `dir` (absolute), its logs in `dir/slurm`.
    pub fn script(&self, dir: &Path, exe: &Path, plan: &PlanFile) -> String {
        let n = self.size;
        let mut array = format!("0-{}", n - 1);
        if let Some(p) = self.parallel {
            array.push_str(&format!("%{p}"));
        }
        let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', "'\\''"));
        let mut script = format!(
            "#!/bin/bash\n\
             # Written by `radex sweep slurm` for the sweep in {dir}: {units} units of {points} points\n\
             # in {n} shards, one per array task. A task killed (time limit, preemption) loses at most\n\
             # the unit it was in: submit this script again and the units done are skipped.\n\
             #SBATCH --job-name=radex-sweep\n\
             #SBATCH --array={array}\n\
             #SBATCH --cpus-per-task={cpus}\n\
             #SBATCH --output={out}/%A_%a.out\n",
            dir = dir.display(),
            units = plan.units.len(),
            points = plan.points.len(),
            cpus = self.cpus_per_task,
            out = logs(dir).display(),
        );
        if let Some(t) = &self.time {
            script.push_str(&format!("#SBATCH --time={t}\n"));
        }
        if let Some(p) = &self.partition {
            script.push_str(&format!("#SBATCH --partition={p}\n"));
        }
        if let Some(m) = &self.mem {
            script.push_str(&format!("#SBATCH --mem={m}\n"));
        }
        // The shard count is written here, not read from SLURM_ARRAY_TASK_COUNT, so
        // resubmitting a few tasks (--array=3,7) runs the same shards.
        script.push_str(&format!(
            "exec {exe} sweep run {dir} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --threads \"${{SLURM_CPUS_PER_TASK:-1}}\"\n",
            exe = quote(exe),
            dir = quote(dir),
        ));
        script
    }

    /// Where the script for this array is written in the sweep's directory `dir`.
    pub fn script_path(&self, dir: &Path) -> PathBuf {
        logs(dir).join(format!("sweep-{}.sbatch", self.size))
    }
}

/// The directory of the scripts, logs and job ids in the sweep's directory `dir`.
pub fn logs(dir: &Path) -> PathBuf {
    dir.join("slurm")
}

/// The file where submitted job ids are recorded.
fn jobs_file(dir: &Path) -> PathBuf {
    logs(dir).join("jobs.txt")
}

/// Submits `script` with `sbatch --parsable`; the job id.
pub fn submit(script: &Path) -> std::result::Result<String, Error> {
    let o = std::process::Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .output()
        .map_err(|e| Error::Sbatch {
            path: script.to_path_buf(),
            message: format!("could not run sbatch: {e}"),
        })?;
    if !o.status.success() {
        return Err(Error::Sbatch {
            path: script.to_path_buf(),
            message: String::from_utf8_lossy(&o.stderr).trim().to_string(),
        });
    }
    // --parsable prints `id` or `id;cluster`.
    let stdout = String::from_utf8_lossy(&o.stdout);
    Ok(stdout.trim().split(';').next().unwrap_or("").to_string())
}

/// Records job `id` in the sweep's directory `dir`, for [`tasks`].
pub fn record_job(dir: &Path, id: &str) -> io::Result<()> {
    let mut jobs = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(jobs_file(dir))?;
    writeln!(jobs, "{id}")
}

/// The state of each array task of the sweep's submitted jobs, from squeue when it is on
/// PATH, a line each (empty when none was submitted).
pub fn tasks(dir: &Path) -> String {
    let Ok(text) = std::fs::read_to_string(jobs_file(dir)) else {
        return String::new();
    };
    let ids: Vec<&str> = text.split_whitespace().collect();
    if ids.is_empty() {
        return String::new();
    }
    let out = std::process::Command::new("squeue")
        .args(["-h", "-r", "-j", &ids.join(","), "-o", "%F %K %T"])
        .output();
    match out {
        Err(_) => format!(
            "slurm: jobs {} submitted; squeue is not on PATH\n",
            ids.join(",")
        ),
        Ok(o) if !o.status.success() => format!(
            "slurm: squeue failed: {}\n",
            String::from_utf8_lossy(&o.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("")
        ),
        Ok(o) => {
            let lines: Vec<String> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    (f.len() == 3)
                        .then(|| format!("slurm: job {} shard {}: {}\n", f[0], f[1], f[2]))
                })
                .collect();
            if lines.is_empty() {
                format!(
                    "slurm: no task of jobs {} is queued or running\n",
                    ids.join(",")
                )
            } else {
                lines.concat()
            }
        }
    }
}

/// The path of `program` on PATH, if any.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// A value written into the sbatch script: letters, digits and `allowed` only (no space,
/// quote or newline).
fn script_safe(flag: &'static str, v: &str, allowed: &str) -> Result<()> {
    if !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || allowed.contains(c))
    {
        Ok(())
    } else {
        Err(invalid(
            flag,
            v,
            format!("expected letters, digits and '{allowed}' only"),
        ))
    }
}
