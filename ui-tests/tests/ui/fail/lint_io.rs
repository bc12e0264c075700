// I/O: a glob-imported file read, a socket, a process, stdin. An address is a plain value, and
// passes.
use workflow_runtime::prelude::*;

#[deterministic]
fn load() -> usize {
    use std::fs::*;
    let config = read_to_string("config.toml").unwrap_or_default();
    let address = std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 80));
    let socket = std::net::TcpStream::connect(address).is_ok();
    let listing = std::process::Command::new("ls").output().is_ok();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    config.len() + socket as usize + listing as usize
}

fn main() {}
