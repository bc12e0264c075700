// The process environment: variables through a module import, arguments, the working folder,
// every variable, and the process id.
use std::env;
use workflow_runtime::prelude::*;

#[deterministic]
fn region() -> String {
    let from_env = env::var("REGION").unwrap_or_default();
    let first_arg = std::env::args().nth(1).unwrap_or_default();
    let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
    let count = std::env::vars_os().count();
    let pid = std::process::id();
    format!("{from_env}{first_arg}{cwd}{count}{pid}")
}

fn main() {}
