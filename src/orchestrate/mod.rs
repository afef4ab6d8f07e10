//! Orchestration: the only module that knows every domain; one file per command.

mod completions;
mod connect;
mod demo;
mod dispatch;
mod finish;
mod monitor_cmd;
mod remediate_cmd;
mod report_cmd;
mod run;
mod sim_cmd;
mod snapshot_cmd;

pub use completions::script as completion_script;
pub use dispatch::dispatch;
