//! Orchestration: the only module that knows every domain; one file per command.

mod dispatch;
mod monitor_cmd;
mod snapshot_cmd;

pub use dispatch::dispatch;
