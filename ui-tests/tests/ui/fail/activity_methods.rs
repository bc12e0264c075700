use workflow_runtime::prelude::*;

pub struct Db;

impl Db {
    #[activity]
    async fn without_group(&self) -> Result<(), ActivityError> {
        Ok(())
    }
}

pub struct Cache;

#[activities]
impl Cache {
    #[activity]
    async fn mutates(&mut self) -> Result<(), ActivityError> {
        Ok(())
    }

    #[activity]
    async fn no_receiver(key: String) -> Result<String, ActivityError> {
        Ok(key)
    }
}

fn main() {}
