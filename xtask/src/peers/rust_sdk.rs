//! Temporal's official Rust SDK (`temporalio-sdk` 1.1.1) as a peer: the bench program in
//! `bench/peers/rust-sdk/` is built in release under `target/bench/peers/rust-sdk-target/` (a
//! crate outside the main workspace, with its own lock file), and `bench/peers/rust-sdk-minimal/`
//! is the smallest worker program a user of that SDK writes (the build workload).

use super::{BenchProgram, Peer};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};

pub(crate) const SDK: &str = "Rust SDK (temporalio-sdk)";

/// Builds the bench program (minutes the first time, a no-op afterwards).
pub(crate) fn prepare() -> Result<Peer> {
    let manifest = super::source_dir("rust-sdk").join("Cargo.toml");
    let target = super::peers_dir().join("rust-sdk-target");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args(["build", "--release", "--locked", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", &target)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("could not run {}", cargo.to_string_lossy()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprint!("{stderr}");
    if !output.status.success() {
        let first_error = stderr
            .lines()
            .find(|line| line.starts_with("error"))
            .or_else(|| stderr.lines().rfind(|line| !line.trim().is_empty()))
            .unwrap_or("no output");
        return Ok(Peer::Unavailable {
            sdk: SDK,
            reason: format!(
                "building {} failed ({}): {first_error}",
                manifest.display(),
                output.status
            ),
        });
    }
    Ok(Peer::Ready(BenchProgram {
        sdk: SDK,
        program: target.join("release").join("bench-rust-sdk"),
        args: vec![],
        cwd: None,
        env: vec![],
    }))
}

/// The manifest of the smallest worker program a user of this SDK writes.
pub(crate) fn minimal_manifest() -> PathBuf {
    super::source_dir("rust-sdk-minimal").join("Cargo.toml")
}
