//! `grpc-replay new`: the skeleton of every bundled method passes `check` and plays with
//! `run --loopback` as written; against a real server, its example values are checked (so
//! the skeleton is not a script that cannot fail).

mod support;

use grpc_replay::protos::{all_methods, bundled_pool, method_path};
use support::{grpc_replay, shared_reference_server};

/// A proto with every kind of field.
const RICH_PROTO: &str = "tests/fixtures/descriptors/rich.proto";

#[test]
fn the_skeleton_of_every_bundled_method_checks_and_plays_with_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let pool = bundled_pool();
    let methods: Vec<String> = all_methods(&pool)
        .map(|m| method_path(&m).trim_start_matches('/').to_string())
        .collect();
    assert!(methods.len() >= 10, "{methods:?}");
    for (index, method) in methods.iter().enumerate() {
        let file = dir.path().join(format!("{index:02}.yaml"));
        grpc_replay(&["new", method, "-o", file.to_str().unwrap()]).assert_exit(0);
    }
    // Every kind of field: nested and repeated messages, maps, enums, oneofs, optional,
    // well-known types, recursion.
    for method in ["rich.v1.Rich/Get", "rich.v1.Rich/Stream"] {
        let file = dir
            .path()
            .join(format!("{}.yaml", method.replace('/', "_")));
        let file = file.to_str().unwrap();
        grpc_replay(&["new", method, "--proto", RICH_PROTO, "-o", file]).assert_exit(0);
    }
    let files = methods.len() + 2;
    let dir_arg = dir.path().to_str().unwrap();
    grpc_replay(&["check", dir_arg])
        .assert_exit(0)
        .assert_stdout_contains(&format!("{files} files, {files} calls: valid"));
    grpc_replay(&["run", "--loopback", dir_arg])
        .assert_exit(0)
        .assert_stdout_contains(&format!("{files} passed"));
}

#[test]
fn a_skeleton_is_checked_against_a_real_server_and_fails_on_its_example_values() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("get_feature.yaml");
    let file = file.to_str().unwrap();
    grpc_replay(&["new", "routeguide.RouteGuide/GetFeature", "-o", file]).assert_exit(0);
    let server = shared_reference_server();
    grpc_replay(&["run", file, "-t", &server.target()])
        .assert_exit(1)
        .assert_stdout_contains("name: expected \"example\"");
}

#[test]
fn an_existing_file_is_not_overwritten_and_an_unknown_method_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken.yaml");
    std::fs::write(&file, "keep me\n").unwrap();
    grpc_replay(&["new", "HelloWorld/hello", "-o", file.to_str().unwrap()])
        .assert_exit(2)
        .assert_stderr_contains("cannot write");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
    grpc_replay(&["new", "routeguide.RouteGuide/GetFeatur"])
        .assert_exit(2)
        .assert_stderr_contains("did you mean `routeguide.RouteGuide/GetFeature`?");
    grpc_replay(&["new", "shop.v1.Shop/Place"])
        .assert_exit(2)
        .assert_stderr_contains("--protoset FILE or --reflect");
}
