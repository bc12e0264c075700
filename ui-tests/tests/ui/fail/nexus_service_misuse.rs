//! `#[nexus_service]` misuse across a trait: each mistake is an error on its own tokens that
//! names the fix, all reported together.
use workflow_runtime::nexus::{NexusContext, NexusError};
use workflow_runtime::prelude::*;

#[nexus_service(version = 2)]
pub trait Inventory {
    #[operation(name = "reserve", timeout = "1s")]
    async fn reserve(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation(name = "reserve")]
    async fn reserve_again(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation]
    async fn new(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation]
    async fn handler(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation]
    #[operation]
    async fn twice(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    #[operation = "audit"]
    async fn audit(&self, ctx: NexusContext, item: String) -> Result<u64, NexusError>;
    async fn helper(&self, item: String) -> u64;
    const LIMIT: u64;
}

#[nexus_service]
pub trait Generic<T> {
    #[operation]
    async fn take(&self, ctx: NexusContext, item: T) -> Result<u64, NexusError>;
}

#[nexus_service]
pub trait Empty {}

#[nexus_service(module = "Named")]
pub trait Named {
    #[operation]
    async fn ping(&self, ctx: NexusContext, n: u8) -> Result<u8, NexusError>;
}

#[nexus_service]
pub struct NotATrait;

#[operation]
fn outside() {}

fn main() {}
