//! Orchestration: the only module that knows every domain; one file per command.

mod dispatch;

pub use dispatch::dispatch;
