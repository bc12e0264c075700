//! The Python SDK as a peer of the cross-SDK tests: runs the scripts of `tests/python/`.

/// Runs `tests/python/<script>` with the python `cargo xtask test` prepared (PyPI
/// `temporalio`; under plain `cargo test`, installed into the project's tools venv on first
/// use), off the test's thread; panics with its output when it fails.
pub async fn python(script: &str, args: &[&str]) -> String {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let requirements = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/requirements.txt");
    let python = tokio::task::spawn_blocking(|| {
        PYTHON
            .get_or_init(|| match std::env::var(workflow_runtime::testing::PYTHON_ENV) {
                Ok(python) => python,
                Err(_) => workflow_dev_server::install::ensure_python_requirements(
                    &workflow_dev_server::install::target_dir(),
                    std::path::Path::new(requirements),
                )
                .unwrap_or_else(|e| panic!("the cross-SDK tests need the Python SDK: {e}"))
                .display()
                .to_string(),
            })
            .clone()
    })
    .await
    .unwrap();
    let script = format!("{}/tests/python/{script}", env!("CARGO_MANIFEST_DIR"));
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(python)
            .arg(&script)
            .args(&args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{script} {args:?} failed ({}): {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    })
    .await
    .unwrap()
}
