//! Options on `#[activities]` are every method's defaults, but a group has no wire name:
//! each method is its own activity.
use workflow_runtime::prelude::*;

pub struct Store;

#[activities(name = "store", start_to_close_timeout = "5s")]
impl Store {
    #[activity]
    async fn get(&self, key: String) -> Result<String, ActivityError> {
        Ok(key)
    }
}

fn main() {}
