use workflow_runtime::prelude::*;

#[workflow]
#[derive(Default)]
pub struct Holder<T> {
    value: Option<T>,
}

fn main() {}
