//! One step of a task: a titled `cargo` invocation run from the workspace root.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Why a task stopped.
#[derive(Debug)]
pub enum Failure {
    /// The command line was wrong; usage is printed and the exit code is 2.
    Usage(String),
    /// A step could not be started (cargo missing, ...).
    Spawn { step: String, reason: String },
    /// A step ran and failed.
    Step { step: String, code: Option<i32> },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(reason) => write!(f, "{reason}"),
            Failure::Spawn { step, reason } => write!(f, "step `{step}` could not start: {reason}"),
            Failure::Step { step, code: Some(code) } => write!(f, "step `{step}` failed (exit code {code})"),
            Failure::Step { step, code: None } => write!(f, "step `{step}` was killed by a signal"),
        }
    }
}

/// A titled `cargo` command with its environment changes.
#[derive(Debug)]
pub struct Step {
    title: String,
    args: Vec<String>,
    set_env: Vec<(String, String)>,
    remove_env: Vec<String>,
}

impl Step {
    /// `cargo <args>` shown under `title`.
    pub fn cargo(title: impl Into<String>, args: &[&str]) -> Self {
        Self {
            title: title.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            set_env: Vec::new(),
            remove_env: Vec::new(),
        }
    }

    /// Appends arguments.
    pub fn args(mut self, more: &[String]) -> Self {
        self.args.extend(more.iter().cloned());
        self
    }

    /// Sets an environment variable for this step only.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.set_env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Removes an inherited environment variable for this step only.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.remove_env.push(key.to_owned());
        self
    }

    /// Runs the step with inherited stdio; an unsuccessful exit is a [`Failure::Step`].
    pub fn run(&self) -> Result<(), Failure> {
        let shown_env: String = self.set_env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
        println!("\n==> {}\n    {shown_env}cargo {}", self.title, self.args.join(" "));
        let mut command = Command::new(cargo());
        command.args(&self.args).current_dir(workspace_root());
        for key in &self.remove_env {
            command.env_remove(key);
        }
        for (key, value) in &self.set_env {
            command.env(key, value);
        }
        let started = Instant::now();
        let status =
            command.status().map_err(|e| Failure::Spawn { step: self.title.clone(), reason: e.to_string() })?;
        if !status.success() {
            return Err(Failure::Step { step: self.title.clone(), code: status.code() });
        }
        println!("<== {} ok ({:.1} s)", self.title, started.elapsed().as_secs_f64());
        Ok(())
    }
}

/// Runs `steps` in order, stopping at the first failure.
pub fn run_all(steps: &[Step]) -> Result<(), Failure> {
    let started = Instant::now();
    for step in steps {
        step.run()?;
    }
    println!("\nall {} steps passed in {:.0} s", steps.len(), started.elapsed().as_secs_f64());
    Ok(())
}

/// The cargo that launched us (so toolchain overrides carry over), else `cargo` on PATH.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("cargo"))
}

/// The workspace root: the parent of this crate's directory, wherever cargo was invoked.
fn workspace_root() -> &'static Path {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir)
}
