//! Orchestration: the only module that knows every domain; one file per command.

mod dispatch;
mod sim_cmd;

pub use dispatch::dispatch;
