//! Configuration: the `config.yaml` schema, its embedded defaults, and layering with env and flags.

pub mod env;
pub mod error;
pub mod load;
pub mod schema;

pub use error::ConfigError;
pub use load::{Loaded, load, load_in};
pub use schema::Config;
