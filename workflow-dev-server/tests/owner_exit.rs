//! A server kept until its process exits (as a test binary keeps its shared server, in a
//! static never dropped) leaves no files behind: the guard stops it and removes its database
//! and log once the process is gone.
//!
//! The test runs this binary again as the owner (`harness = false`: one `main` plays both
//! parts), which starts a server, prints the server's files, and exits without dropping it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use workflow_dev_server::{DevServer, DevServerOptions, install};

const OWNER_ENV: &str = "DEV_SERVER_OWNER_EXIT_CHILD";

fn main() {
    if std::env::var_os(OWNER_ENV).is_some() {
        owner();
    }
    files_go_when_the_owner_exits();
    println!("test files_go_when_the_owner_exits ... ok");
}

/// The owner: starts a server, says where its files are, exits with the server still held.
fn owner() -> ! {
    let cli = install::ensure_cli(&install::target_dir()).expect("the temporal CLI");
    let server = DevServer::start_with(DevServerOptions::for_tests(cli)).expect("a dev server");
    let log = server.log_path().to_path_buf();
    let db = log.with_extension("db");
    assert!(db.is_file(), "the server's database {} exists", db.display());
    println!("{}", log.display());
    println!("{}", db.display());
    std::mem::forget(server);
    std::process::exit(0)
}

fn files_go_when_the_owner_exits() {
    let mut child = Command::new(std::env::current_exe().expect("this test binary"))
        .env(OWNER_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("run the owner");
    let files: Vec<PathBuf> = BufReader::new(child.stdout.take().expect("the owner's stdout"))
        .lines()
        .map(|l| PathBuf::from(l.expect("a line")))
        .collect();
    assert!(child.wait().expect("the owner exits").success(), "the owner failed");
    assert_eq!(files.len(), 2, "the owner printed its log and database: {files:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while files.iter().any(|f| f.exists()) {
        assert!(
            Instant::now() < deadline,
            "still there 30 s after the owner exited: {:?}",
            files.iter().filter(|f| f.exists()).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let db = &files[1];
    for side in ["db-shm", "db-wal"] {
        assert!(!db.with_extension(side).exists(), "{side} removed too");
    }
}
