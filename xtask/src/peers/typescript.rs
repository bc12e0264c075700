//! The TypeScript SDK peer (npm `@temporalio/*`): `bench/peers/typescript/`, a small TypeScript
//! program run by the machine's `node`. Its checked-in sources (package.json, package-lock.json,
//! tsconfig.json, src/) are copied into `target/bench/peers/typescript`, where `npm ci` installs
//! the pinned packages (again only when the lock file changes) and `tsc` compiles `src/` into
//! `lib/` (again only when a source changes). `testenv` gets the time-skipping test server that
//! the Python peer installs from PyPI (the SDK would otherwise download it at run time).

use super::{BenchProgram, Peer};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

const SDK: &str = "TypeScript SDK";
/// The checked-in files besides `src/`.
const FILES: [&str; 3] = ["package.json", "package-lock.json", "tsconfig.json"];
/// Written into node_modules after a successful `npm ci`: the lock file it installed.
const INSTALL_STAMP: &str = "node_modules/.bench-installed-lock";
/// Written into lib/ after a successful build.
const BUILD_STAMP: &str = "lib/.bench-built";

pub(crate) fn prepare() -> Result<Peer> {
    let unavailable = |reason: String| Ok(Peer::Unavailable { sdk: SDK, reason });
    let node = match version("node") {
        Some(v) => v,
        None => return unavailable("node is not installed (or `node --version` fails)".into()),
    };
    if !node_is_supported(&node) {
        return unavailable(format!("the SDK needs Node.js 20.3 or newer, this machine has {node}"));
    }
    if version("npm").is_none() {
        return unavailable("npm is not installed (or `npm --version` fails)".into());
    }

    let dir = super::peers_dir().join("typescript");
    let changed = sync_sources(&super::source_dir("typescript"), &dir)?;

    let lock = std::fs::read(dir.join("package-lock.json")).context("read package-lock.json")?;
    let installed = std::fs::read(dir.join(INSTALL_STAMP)).ok();
    let install = installed.as_deref() != Some(lock.as_slice());
    if install {
        eprintln!("xtask: installing the TypeScript SDK (npm ci) into {}", dir.display());
        // --ignore-scripts: the SDK's native bridge ships prebuilt in its package; the only
        // install scripts in the tree (@swc/core, an old protobufjs) are checks we don't need.
        let npm_ci = crate::run(Command::new("npm").current_dir(&dir).args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--loglevel=error",
        ]));
        if let Err(e) = npm_ci {
            return unavailable(format!("npm ci could not install the pinned packages: {e:#}"));
        }
        std::fs::write(dir.join(INSTALL_STAMP), &lock)?;
    }

    if changed || install || !dir.join(BUILD_STAMP).is_file() {
        eprintln!("xtask: compiling the TypeScript bench program (tsc)");
        let lib = dir.join("lib");
        if lib.exists() {
            std::fs::remove_dir_all(&lib)?;
        }
        let build = crate::run(Command::new("npm").current_dir(&dir).args(["run", "--silent", "build"]));
        if let Err(e) = build {
            return unavailable(format!("tsc could not compile the bench program: {e:#}"));
        }
        std::fs::write(dir.join(BUILD_STAMP), b"")?;
    }

    let mut env = vec![];
    let test_server = crate::target_dir()
        .join(workflow_dev_server::TOOLS_DIR)
        .join("bin/temporal-test-server");
    if test_server.is_file() {
        env.push(("BENCH_TEST_SERVER".into(), test_server.into()));
    }
    Ok(Peer::Ready(BenchProgram {
        sdk: SDK,
        program: "node".into(),
        args: vec![dir.join("lib/main.js").into()],
        cwd: Some(dir),
        env,
    }))
}

/// `PROGRAM --version`, trimmed, if it runs and succeeds.
fn version(program: &str) -> Option<String> {
    let out = Command::new(program).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Whether `node --version` (`v20.20.2`) is at least the SDK's minimum, 20.3.
fn node_is_supported(version: &str) -> bool {
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (20, 3),
        _ => true, // an unexpected format: let npm and node say what is wrong
    }
}

/// Copies the checked-in sources into `dest` (and drops files `src/` no longer has); returns
/// whether anything differed.
fn sync_sources(source: &Path, dest: &Path) -> Result<bool> {
    std::fs::create_dir_all(dest.join("src"))?;
    let mut pairs: Vec<(PathBuf, PathBuf)> = FILES.iter().map(|f| (source.join(f), dest.join(f))).collect();
    let mut wanted = Vec::new();
    for entry in std::fs::read_dir(source.join("src")).context("read the TypeScript peer's src/")? {
        let name = entry?.file_name();
        wanted.push(name.clone());
        pairs.push((source.join("src").join(&name), dest.join("src").join(&name)));
    }

    let mut changed = false;
    for (from, to) in pairs {
        let bytes = std::fs::read(&from).with_context(|| format!("read {}", from.display()))?;
        if std::fs::read(&to).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(&to, &bytes).with_context(|| format!("write {}", to.display()))?;
            changed = true;
        }
    }
    for entry in std::fs::read_dir(dest.join("src"))? {
        let entry = entry?;
        if !wanted.contains(&entry.file_name()) {
            std::fs::remove_file(entry.path())?;
            changed = true;
        }
    }
    Ok(changed)
}
