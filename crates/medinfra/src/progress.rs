//! Progress display: a bar on a terminal, plain log lines otherwise (CI logs, pipes).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    label: String,
    total: u64,
    start: Instant,
    last_logged: Mutex<u64>,
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
        if let Some(b) = &self.bar {
            b.finish();
        }
    }
}
