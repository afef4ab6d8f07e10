//! Reports: one result model, rendered as JSON, Markdown, HTML and JUnit, plus the console summary.

pub mod error;
pub mod model;

pub use error::ReportError;
