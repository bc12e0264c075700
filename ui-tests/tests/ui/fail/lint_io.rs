// I/O: a glob-imported file read, a socket, a process, stdin.
use workflow_runtime::prelude::*;

#[deterministic]
fn load() -> usize {
    use std::fs::*;
    let config = read_to_string("config.toml").unwrap_or_default();
    let socket = std::net::TcpStream::connect("127.0.0.1:80").is_ok();
    let listing = std::process::Command::new("ls").output().is_ok();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    config.len() + socket as usize + listing as usize
}

fn main() {}
