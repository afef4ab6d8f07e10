//! The simulated Kubernetes API server: discovery, CRUD, list/watch, patch, eviction and tables over HTTP.

pub mod discovery;
pub mod faults;
pub mod handlers;
pub mod list_watch;
pub mod patch;
pub mod path;
pub mod router;
pub mod selectors;
pub mod status;
pub mod table;

pub use faults::KubeFaults;
pub use router::{KubeApiState, router};
pub use status::ApiError;
