//! Copies the Temporal protos' descriptor set (exported by `temporalio-protos`, whose build
//! script announces it to direct dependents) next to this crate's build output, for parsing the
//! proto3 JSON of a history.

fn main() {
    let source =
        std::env::var("DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH").expect("temporalio-protos exports its descriptor set");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::copy(&source, out.join("temporal_descriptors.bin")).expect("copy the descriptor set");
    println!("cargo:rerun-if-changed={source}");
}
