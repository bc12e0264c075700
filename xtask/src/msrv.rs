//! `cargo xtask msrv`: the part of the declared `rust-version` this machine can check. Only one
//! toolchain is installed here, so the workspace's own code is built with it; what is checked
//! is that no crate the libraries depend on (normal and build dependencies, as resolved in
//! `Cargo.lock`) declares a newer `rust-version` than the workspace does.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::process::{Command, ExitCode};

/// The crates users depend on; their dependency graph must build with the declared version.
const LIBRARIES: &[&str] = &[
    "workflow-runtime",
    "workflow-macros",
    "workflow-client",
    "workflow-testing",
    "workflow-dev-server",
];

pub(crate) fn run() -> Result<ExitCode> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(crate::workspace_root())
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .context("could not run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: Value = serde_json::from_slice(&output.stdout).context("cargo metadata's JSON")?;
    let packages: HashMap<&str, &Value> = metadata["packages"]
        .as_array()
        .context("packages")?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let declared = LIBRARIES
        .iter()
        .map(|name| {
            packages
                .values()
                .find(|p| p["name"] == *name)
                .and_then(|p| p["rust_version"].as_str())
                .with_context(|| format!("{name} declares no rust-version"))
        })
        .collect::<Result<BTreeSet<_>>>()?;
    let [declared] = declared.into_iter().collect::<Vec<_>>()[..] else {
        bail!("the libraries declare different rust-versions");
    };
    let reachable = runtime_dependencies(&metadata, &packages)?;
    let too_new: Vec<String> = reachable
        .iter()
        .filter_map(|id| {
            let p = packages.get(id.as_str())?;
            let wanted = p["rust_version"].as_str()?;
            let (name, at) = (p["name"].as_str()?, p["version"].as_str()?);
            (version(wanted) > version(declared)).then(|| format!("{name} {at} needs Rust {wanted}"))
        })
        .collect();
    println!(
        "rust-version {declared}: {} crates in the libraries' dependency graph checked",
        reachable.len()
    );
    if too_new.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("these need a newer Rust than the declared rust-version {declared}:");
    for line in &too_new {
        eprintln!("  {line}");
    }
    Ok(ExitCode::FAILURE)
}

/// The ids of every package the libraries reach through normal and build dependencies.
fn runtime_dependencies(metadata: &Value, packages: &HashMap<&str, &Value>) -> Result<BTreeSet<String>> {
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .context("resolve.nodes")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let mut todo: Vec<&str> = packages
        .iter()
        .filter(|(_, p)| LIBRARIES.iter().any(|l| p["name"] == *l))
        .map(|(id, _)| *id)
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(id) = todo.pop() {
        if !seen.insert(id.to_string()) {
            continue;
        }
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let not_dev_only = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].as_str() != Some("dev"));
            if not_dev_only && let Some(pkg) = dep["pkg"].as_str() {
                todo.push(pkg);
            }
        }
    }
    Ok(seen)
}

/// `1.88` and `1.88.0` compare equal.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}
