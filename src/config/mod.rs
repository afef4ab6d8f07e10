//! Configuration: the `config.yaml` schema, its embedded defaults, and layering with env and flags.

pub mod error;
pub mod schema;

pub use error::ConfigError;
pub use schema::Config;
