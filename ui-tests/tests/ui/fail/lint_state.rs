// State history does not record: a mutable static and a thread-local.
use workflow_runtime::prelude::*;

#[deterministic]
fn next_ticket() -> u32 {
    static mut ISSUED: u32 = 0;
    thread_local! {
        static LAST: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    }
    LAST.with(|l| l.get() + 1)
}

fn main() {}
