//! The scenario model: the YAML file format, its parsing and validation, and the loaded
//! form the roles replay. Free of networking.

pub mod bounds;
mod details;
mod error;
mod load;
mod model;
pub mod node;
mod raw;
mod resolve;
mod status_code;
mod template;
mod vars;
mod wording;

pub use details::{Detail, Details, DETAILS_TRAILER};
pub use error::LoadError;
pub(crate) use load::ACTION_KEYS;
pub use load::{collect_files, load_file, load_str, unplayable, LoadOptions, PoolCache};
pub use model::{
    Action, Call, Capture, CaptureSource, Compression, MessageStep, Role, Scenario, StatusStep,
    Step,
};
pub use status_code::StatusCode;
pub use template::{CapturedVars, MessageTemplate, MetadataTemplate, Part};
pub use vars::VarSources;
