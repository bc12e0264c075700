//! The null worker (`bench/null-worker/`): raw gRPC, no SDK, the least work a worker can do for
//! the bench workflows; the ceiling column of the throughput tables. It is built in the
//! workspace's target folder from a copy of the workspace's lock file, so it shares the
//! workspace's dependency versions and their build artifacts.

use super::BenchProgram;
use anyhow::Result;
use std::process::Command;

/// Its name in the tables.
pub(crate) const SDK: &str = "null worker (ceiling)";

/// Builds it in `profile` ("dev" or "release").
pub(crate) fn prepare(profile: &str) -> Result<BenchProgram> {
    let root = crate::workspace_root();
    let source = root.join("bench/null-worker");
    std::fs::copy(root.join("Cargo.lock"), source.join("Cargo.lock"))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--manifest-path"])
        .arg(source.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", crate::target_dir());
    if profile == "release" {
        cmd.arg("--release");
    }
    crate::run(&mut cmd)?;
    let dir = if profile == "release" { "release" } else { "debug" };
    Ok(BenchProgram {
        sdk: SDK,
        program: crate::target_dir().join(dir).join("bench-null-worker"),
        args: Vec::new(),
        cwd: None,
        env: Vec::new(),
    })
}
