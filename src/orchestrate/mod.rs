//! Orchestration: the only module that knows every domain; one file per command.

mod completions;
mod dispatch;

pub use completions::script as completion_script;
pub use dispatch::dispatch;
