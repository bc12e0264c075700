use workflow_runtime::prelude::*;

#[activity(start_to_close = "10s")]
async fn misspelled() -> Result<(), ActivityError> {
    Ok(())
}

#[activity(start_to_close_timeout = "ten seconds")]
async fn bad_duration() -> Result<(), ActivityError> {
    Ok(())
}

#[activity(name = "a", name = "b")]
async fn twice() -> Result<(), ActivityError> {
    Ok(())
}

#[activity]
fn not_async() -> Result<(), ActivityError> {
    Ok(())
}

#[activity]
async fn no_result(x: &str) -> u32 {
    1
}

fn main() {}
