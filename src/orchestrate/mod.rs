//! Orchestration: the only module that knows every domain; one file per command.

mod completions;
mod dispatch;
mod finish;
mod report_cmd;
mod sim_cmd;

pub use completions::script as completion_script;
pub use dispatch::dispatch;
