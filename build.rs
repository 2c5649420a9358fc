//! Compiles `proto/` with protox (no `protoc` binary): the encoded descriptor set is embedded
//! in the binary as the bundled default, and the same set feeds tonic-prost-build for the
//! typed stubs that the tests' reference servers use.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = PathBuf::from("proto");
    println!("cargo:rerun-if-changed={}", proto_dir.display());

    let mut files: Vec<PathBuf> = std::fs::read_dir(&proto_dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    files.sort();

    let fds = protox::compile(&files, [&proto_dir])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("bundled_descriptor_set.bin"),
        prost::Message::encode_to_vec(&fds),
    )?;

    // google.rpc (rich error details): a set of its own, where `details:` looks up `@type`.
    let rich_errors = ["status", "error_details", "code"].map(|f| format!("google/rpc/{f}.proto"));
    let rich_errors = protox::compile(rich_errors, [&proto_dir])?;
    std::fs::write(
        out_dir.join("rich_errors_descriptor_set.bin"),
        prost::Message::encode_to_vec(&rich_errors),
    )?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
