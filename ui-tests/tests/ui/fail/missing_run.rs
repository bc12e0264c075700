use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Idle;

#[workflow]
impl Idle {
    #[signal]
    fn wake(&mut self) {}
}

fn main() {}
