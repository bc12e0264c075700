//! Recorded histories: every history kept under `tests/histories/` replays without a server
//! against today's code.

use crate::replayer;

/// Histories recorded from the server by the other modules' tests replay against today's code.
#[test]
fn recorded_histories_replay() {
    let dir = format!("{}/tests/histories", env!("CARGO_MANIFEST_DIR"));
    let mut replayed = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let json = std::fs::read_to_string(&path).unwrap();
            if let Err(e) = replayer().replay_json(&json) {
                panic!("{} does not replay: {e}", path.display());
            }
            replayed.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    replayed.sort();
    assert_eq!(
        replayed,
        [
            "cancel",
            "cancellation-scope-wait",
            "children",
            "local-activities",
            "search-attributes",
            "versioning-v1",
            "versioning-v2",
            "versioning-v3"
        ]
    );
}
