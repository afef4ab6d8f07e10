//! Reports: one result model, rendered as JSON, Markdown, HTML and JUnit, plus the console summary.

pub mod aggregate;
pub mod console;
pub mod error;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod retention;
mod template;
pub mod text;
pub mod write;

pub use aggregate::{RunFacts, build_report};
pub use error::ReportError;
pub use html::{HtmlRenderer, to_html};
pub use json::{read_report, to_json};
pub use junit::to_junit;
pub use markdown::{MarkdownRenderer, to_markdown};
pub use write::{WriteOutcome, report_file_name, write_reports};
