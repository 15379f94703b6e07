//! Progress display: a bar on a terminal, plain log lines otherwise (CI logs, pipes), and a
//! run record in `DATA_DIR/runs/` that the web UI's "pipeline runs" page shows live.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

static RUN_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Where run records go (the data directory's `runs/`); set once the store is open.
pub fn record_runs_in(dir: PathBuf) {
    let _ = RUN_DIR.set(dir);
}

/// A running step's record: rewritten (atomically) at most twice a second.
struct RunFile {
    path: PathBuf,
    step: String,
    unit: String,
    started_at: String,
    last_write: Mutex<Option<Instant>>,
    finished: std::sync::atomic::AtomicBool,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl RunFile {
    fn new(step: &str, unit: &str) -> Option<RunFile> {
        let dir = RUN_DIR.get()?;
        std::fs::create_dir_all(dir).ok()?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name: String = step
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        Some(RunFile {
            path: dir.join(format!("{name}-{}-{nanos}.json", std::process::id())),
            step: step.to_string(),
            unit: unit.to_string(),
            started_at: medinfra_store::now_rfc3339(),
            last_write: Mutex::new(None),
            finished: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Progress is best effort: a record that cannot be written never stops the work.
    fn write(&self, done: u64, total: u64, state: &str, force: bool) {
        if let Ok(mut last) = self.last_write.lock() {
            if !force && last.is_some_and(|t| t.elapsed().as_millis() < 500) {
                return;
            }
            *last = Some(Instant::now());
        }
        let record = serde_json::json!({
            "step": self.step, "done": done, "total": total, "unit": self.unit,
            "started_at": self.started_at, "updated": unix_now(), "state": state,
        });
        let tmp = self.path.with_extension("tmp");
        if std::fs::write(&tmp, record.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &self.path);
        }
    }
}

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    start: Instant,
    last_logged: Mutex<u64>,
    run: Option<RunFile>,
}

impl Progress {
    pub fn new(label: &str, total: u64, unit: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new(total);
            let template = format!(
                "{{spinner}} {label:<12} [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}, ETA {{eta}})"
            );
            if let Ok(style) = ProgressStyle::with_template(&template) {
                b.set_style(style.progress_chars("=> "));
            }
            b
        });
        Progress {
            bar,
            label: label.to_string(),
            total,
            start: Instant::now(),
            last_logged: Mutex::new(0),
            run: RunFile::new(label, unit).inspect(|r| r.write(0, total, "running", true)),
        }
    }

    /// Change the total once it is known (e.g. after hashing the input files).
    pub fn set_total(&mut self, total: u64) {
        if total != self.total {
            self.total = total;
            if let Some(b) = &self.bar {
                b.set_length(total);
            }
        }
    }

    pub fn set(&self, pos: u64) {
        if let Some(r) = &self.run {
            r.write(pos, self.total, "running", false);
        }
        match &self.bar {
            Some(b) => b.set_position(pos),
            None => {
                // One line per 10 % step.
                let step = (self.total / 10).max(1);
                if let Ok(mut last) = self.last_logged.lock()
                    && (pos >= *last + step || pos == self.total)
                {
                    *last = pos;
                    eprintln!(
                        "{}: {pos}/{} ({:.1}s)",
                        self.label,
                        self.total,
                        self.start.elapsed().as_secs_f64()
                    );
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(r) = &self.run {
            r.finished.store(true, std::sync::atomic::Ordering::Relaxed);
            r.write(self.total, self.total, "finished", true);
        }
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}

impl Drop for Progress {
    /// A step that ends without `finish` (an error) is recorded as failed, where it stopped.
    fn drop(&mut self) {
        if let Some(r) = &self.run
            && !r.finished.load(std::sync::atomic::Ordering::Relaxed)
        {
            let done = match &self.bar {
                Some(b) => b.position(),
                None => self.last_logged.lock().map(|g| *g).unwrap_or(0),
            };
            r.write(done, self.total, "failed", true);
        }
    }
}
