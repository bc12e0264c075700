//! The build workload: a clean dev build of the smallest worker program, this project's
//! (`bench/minimal`) and the official Rust SDK's (`bench/peers/rust-sdk-minimal`), each in a
//! fresh target folder; the wall time and how many crates cargo compiled.

use super::THIS_PROJECT;
use super::report::{Column, Row, at};
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

pub(crate) const COLUMNS: [Column; 2] = [
    Column {
        title: "clean dev build, s",
        value: |v| at(v, &["seconds"]),
        higher_is_better: false,
        decimals: 1,
    },
    Column {
        title: "crates compiled",
        value: |v| at(v, &["crates"]),
        higher_is_better: false,
        decimals: 0,
    },
];

/// One row per Rust SDK.
pub(crate) fn clean_builds() -> Vec<Row> {
    let ours = crate::workspace_root().join("bench/minimal/Cargo.toml");
    [
        (THIS_PROJECT, ours),
        ("Rust SDK (temporalio-sdk)", crate::peers::rust_sdk::minimal_manifest()),
    ]
    .into_iter()
    .map(|(sdk, manifest)| {
        eprintln!("xtask: clean dev build of {}", manifest.display());
        let outcome = clean_build(sdk, &manifest).map_err(|e| format!("failed: {e:#}"));
        (sdk.to_string(), outcome)
    })
    .collect()
}

fn clean_build(sdk: &str, manifest: &Path) -> Result<Value> {
    let slug: String = sdk.chars().filter(char::is_ascii_alphanumeric).collect();
    let target = crate::target_dir().join("bench/clean-build").join(slug);
    if target.exists() {
        std::fs::remove_dir_all(&target)?;
    }
    // Fetching is not building: download first, then time the build alone.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    crate::run(Command::new(&cargo).arg("fetch").arg("--manifest-path").arg(manifest))?;
    let started = Instant::now();
    let output = Command::new(&cargo)
        .args(["build", "--color", "never", "--manifest-path"])
        .arg(manifest)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .context("run cargo build")?;
    let seconds = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(output.status.success(), "cargo build failed:\n{log}");
    let crates = log.lines().filter(|l| l.trim_start().starts_with("Compiling ")).count();
    std::fs::remove_dir_all(&target).ok();
    Ok(json!({ "seconds": seconds, "crates": crates }))
}
