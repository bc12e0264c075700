//! Copies the Temporal API descriptor set that `temporalio-protos` built, so the history JSON
//! codec can read and write proto3 JSON exactly as the `temporal` CLI does.

fn main() {
    let source = std::env::var("DEP_TEMPORALIO_PROTOS_DESCRIPTOR_PATH")
        .expect("temporalio-protos exports its descriptor set path (links = \"temporalio_protos\")");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::copy(&source, out.join("temporal_descriptors.bin")).expect("copy the Temporal descriptor set");
    println!("cargo:rerun-if-changed={source}");
}
