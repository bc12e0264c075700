//! Histories kept under `tests/histories/` (shared by the test binaries that record them).

/// Keeps `history` as `tests/histories/<name>.json` when `RECORD_HISTORIES` is set (to refresh
/// the recorded histories after a deliberate change); tests replay them without a server.
pub fn record_history(name: &str, history: &workflow_runtime::client::proto::history::History) {
    if std::env::var_os("RECORD_HISTORIES").is_some() {
        let json = workflow_runtime::client::history::history_to_json(history).unwrap();
        let path = format!("{}/tests/histories/{name}.json", env!("CARGO_MANIFEST_DIR"));
        std::fs::write(path, json).unwrap();
    }
}
