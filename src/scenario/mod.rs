//! The scenario model: the YAML file format, its parsing and validation, and the loaded
//! form the roles replay. Free of networking.

pub mod bounds;
mod details;
mod error;
mod files;
mod load;
mod message;
mod model;
pub mod node;
mod raw;
mod repeat;
mod resolve;
mod shape;
mod status_code;
mod step;
mod template;
mod vars;
mod wording;
mod yaml;

pub use details::{Detail, Details, DETAILS_TRAILER};
pub use error::LoadError;
pub use files::collect_files;
pub use load::{load_file, load_str, LoadOptions, PoolCache};
pub use model::{
    Action, Call, Capture, CaptureSource, Compression, Group, MessageStep, Repeat, Role, Scenario,
    StatusStep, Step,
};
pub(crate) use shape::performer;
pub use shape::{unplayable, Unplayable, UnplayableCause};
pub use status_code::StatusCode;
pub(crate) use step::ACTION_KEYS;
pub use template::{CapturedVars, MessageTemplate, MetadataTemplate, Part};
pub use vars::VarSources;
