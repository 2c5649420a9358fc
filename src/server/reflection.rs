//! Server reflection and health that tell the truth: reflection lists exactly the services
//! of the loaded scripts (plus health and reflection), with the files that define them and
//! their imports; two different files of the same name (a scenario's own `helloworld.proto`
//! and the bundled one) are both served, the later one under a name of its own.

use std::collections::{BTreeSet, HashMap};

use prost::Message as _;
use prost_reflect::{DescriptorPool, FileDescriptor};
use prost_types::{FileDescriptorProto, FileDescriptorSet};
use tonic::service::Routes;

use super::ServeError;
use crate::scenario::Scenario;

/// The health service's name.
const HEALTH: &str = "grpc.health.v1.Health";
/// The reflection services' names.
const REFLECTION: [&str; 2] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// The files that define the services the scripts call (with their imports), and those
/// services' names, sorted.
pub(super) fn served_files(scenarios: &[Scenario]) -> (FileDescriptorSet, Vec<String>) {
    let mut services = BTreeSet::new();
    // Per pool: the files its served services need, in dependency order.
    let mut pools: Vec<(DescriptorPool, Vec<FileDescriptor>)> = Vec::new();
    for call in scenarios.iter().flat_map(|s| &s.calls) {
        let service = call.method.parent_service();
        services.insert(service.full_name().to_string());
        let pool = call.method.parent_pool();
        let slot = match pools.iter().position(|(p, _)| p == pool) {
            Some(slot) => slot,
            None => {
                pools.push((pool.clone(), Vec::new()));
                pools.len() - 1
            }
        };
        add_with_imports(&mut pools[slot].1, service.parent_file());
    }
    let mut set = FileDescriptorSet::default();
    for (number, (_, files)) in pools.iter().enumerate() {
        let protos: Vec<FileDescriptorProto> = files
            .iter()
            .map(|f| f.file_descriptor_proto().clone())
            .collect();
        set.file.extend(renamed_on_clash(&set.file, protos, number));
    }
    (set, services.into_iter().collect())
}

/// Adds `file` after its imports, each file once.
fn add_with_imports(files: &mut Vec<FileDescriptor>, file: FileDescriptor) {
    if files.iter().any(|f| f.name() == file.name()) {
        return;
    }
    for import in file.dependencies() {
        add_with_imports(files, import);
    }
    files.push(file);
}

/// The files of one pool, ready to join `served`: a file already there (same name, same
/// content) is left out; a different file of the same name is renamed
/// `grpc-replay/N/NAME`, and its importers in the pool follow.
fn renamed_on_clash(
    served: &[FileDescriptorProto],
    files: Vec<FileDescriptorProto>,
    pool: usize,
) -> Vec<FileDescriptorProto> {
    let mut renames: HashMap<String, String> = HashMap::new();
    let mut kept = Vec::new();
    for file in files {
        match served.iter().find(|f| f.name == file.name) {
            Some(same) if *same == file => {}
            Some(_) => {
                let name = file.name().to_string();
                renames.insert(name.clone(), format!("grpc-replay/{pool}/{name}"));
                kept.push(file);
            }
            None => kept.push(file),
        }
    }
    for file in &mut kept {
        if let Some(new) = renames.get(file.name()) {
            file.name = Some(new.clone());
        }
        for import in &mut file.dependency {
            if let Some(new) = renames.get(import) {
                *import = new.clone();
            }
        }
    }
    kept
}

/// Adds reflection (v1, v1alpha) and health for the scripts' services to `routes`.
pub(super) async fn add_reflection_and_health(
    routes: Routes,
    scenarios: &[Scenario],
) -> Result<Routes, ServeError> {
    let (files, services) = served_files(scenarios);
    let encoded = files.encode_to_vec();
    let setup = |e: tonic_reflection::server::Error| ServeError::Setup(format!("reflection: {e}"));
    let listed = services
        .iter()
        .map(String::as_str)
        .chain([HEALTH])
        .chain(REFLECTION);
    let mut v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(&encoded)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    let mut v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(&encoded)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
    for name in listed {
        v1 = v1.with_service_name(name);
        v1alpha = v1alpha.with_service_name(name);
    }
    let (reporter, health) = tonic_health::server::health_reporter();
    for service in &services {
        reporter
            .set_service_status(service, tonic_health::ServingStatus::Serving)
            .await;
    }
    Ok(routes
        .add_service(v1.build_v1().map_err(setup)?)
        .add_service(v1alpha.build_v1alpha().map_err(setup)?)
        .add_service(health))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, package: &str, imports: &[&str]) -> FileDescriptorProto {
        FileDescriptorProto {
            name: Some(name.into()),
            package: Some(package.into()),
            dependency: imports.iter().map(|i| i.to_string()).collect(),
            ..FileDescriptorProto::default()
        }
    }

    #[test]
    fn the_same_file_twice_is_served_once() {
        let served = vec![file("hello.proto", "hello", &[])];
        let kept = renamed_on_clash(&served, vec![file("hello.proto", "hello", &[])], 1);
        assert!(kept.is_empty());
    }

    #[test]
    fn a_different_file_of_the_same_name_is_renamed_with_its_importers() {
        let served = vec![file("hello.proto", "bundled", &[])];
        let kept = renamed_on_clash(
            &served,
            vec![
                file("hello.proto", "mine", &[]),
                file("app.proto", "app", &["hello.proto"]),
            ],
            2,
        );
        assert_eq!(kept[0].name(), "grpc-replay/2/hello.proto");
        assert_eq!(kept[1].name(), "app.proto");
        assert_eq!(kept[1].dependency, ["grpc-replay/2/hello.proto"]);
    }
}
