//! The peer SDKs `cargo xtask bench` measures this project against (see `bench/README.md` for
//! the contract every bench program follows). Each module installs or builds its peer on first
//! use, under `target/bench/`, and says plainly when it cannot.

pub(crate) mod null_worker;
pub(crate) mod python;
pub(crate) mod rust_sdk;
mod typescript;

use anyhow::Result;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

/// A bench program ready to run: `program args… <contract command> <contract args…>`.
#[derive(Debug, Clone)]
pub(crate) struct BenchProgram {
    /// The SDK's name as the tables print it.
    pub sdk: &'static str,
    pub program: PathBuf,
    /// Arguments before the contract's command (a script path, say).
    pub args: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(OsString, OsString)>,
}

impl BenchProgram {
    /// The command for one contract command (`worker TQ`, `replay FILE ROUNDS`, `testenv N`).
    pub(crate) fn command(&self, contract: &[&str]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).args(contract);
        if let Some(cwd) = &self.cwd {
            cmd.current_dir(cwd);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }
}

/// A peer after installation: runnable, or not on this machine (with the reason).
#[derive(Debug, Clone)]
pub(crate) enum Peer {
    Ready(BenchProgram),
    Unavailable { sdk: &'static str, reason: String },
}

/// Installs or builds every peer (slow the first time), in the order the tables list them.
pub(crate) fn prepare_all() -> Vec<Peer> {
    type Prepare = fn() -> Result<Peer>;
    let attempts: [(&'static str, Prepare); 3] = [
        ("Rust SDK (temporalio-sdk)", rust_sdk::prepare),
        ("Python SDK", python::prepare),
        ("TypeScript SDK", typescript::prepare),
    ];
    attempts
        .into_iter()
        .map(|(sdk, prepare)| {
            eprintln!("xtask: preparing the {sdk} peer");
            prepare().unwrap_or_else(|e| Peer::Unavailable {
                sdk,
                reason: format!("{e:#}"),
            })
        })
        .collect()
}

/// Where peers are installed and built.
pub(crate) fn peers_dir() -> PathBuf {
    crate::target_dir().join("bench/peers")
}

/// The checked-in sources of a peer.
pub(crate) fn source_dir(peer: &str) -> PathBuf {
    crate::workspace_root().join("bench/peers").join(peer)
}
