//! Loading a report template: an override file in a template directory when it exists and
//! parses, the template embedded at build time otherwise, and the embedded one again when an
//! override fails to render. Shared by the Markdown and HTML renderers.

use std::path::Path;

use handlebars::Handlebars;
use serde::Serialize;

use super::error::ReportError;

/// What a renderer needs to load its template.
pub(crate) struct TemplateSpec {
    /// Registry name of the template.
    pub name: &'static str,
    /// File name of an override inside a template directory.
    pub file: &'static str,
    /// The template embedded at build time.
    pub embedded: &'static str,
    /// Format name for errors and warnings (`markdown`, `html`).
    pub format: &'static str,
    /// Builds a registry (escaping, helpers, strict mode) around one template text.
    pub build: fn(&str) -> Result<Handlebars<'static>, handlebars::TemplateError>,
}

/// A template ready to render, with the embedded one kept as a fallback for an override.
#[derive(Debug)]
pub(crate) struct LoadedTemplate {
    name: &'static str,
    format: &'static str,
    registry: Handlebars<'static>,
    fallback: Option<Handlebars<'static>>,
    /// Why an override in the template directory was not used.
    pub override_problem: Option<String>,
}

fn embedded_registry(spec: &TemplateSpec) -> Result<Handlebars<'static>, ReportError> {
    (spec.build)(spec.embedded).map_err(|e| ReportError::Render { format: spec.format, source: Box::new(e) })
}

impl LoadedTemplate {
    /// The embedded template only.
    pub fn embedded(spec: &TemplateSpec) -> Result<Self, ReportError> {
        Ok(LoadedTemplate {
            name: spec.name,
            format: spec.format,
            registry: embedded_registry(spec)?,
            fallback: None,
            override_problem: None,
        })
    }

    /// `template_dir/<spec.file>` when it exists and parses, else the embedded template.
    pub fn with_template_dir(spec: &TemplateSpec, template_dir: Option<&Path>) -> Result<Self, ReportError> {
        let Some(dir) = template_dir else { return Self::embedded(spec) };
        let path = dir.join(spec.file);
        let problem = match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Self::embedded(spec),
            Err(e) => format!("{} template {} unreadable ({e}); used the built-in one", spec.format, path.display()),
            Ok(text) => match (spec.build)(&text) {
                Ok(registry) => {
                    return Ok(LoadedTemplate {
                        name: spec.name,
                        format: spec.format,
                        registry,
                        fallback: Some(embedded_registry(spec)?),
                        override_problem: None,
                    });
                }
                Err(e) => format!("{} template {} is broken ({e}); used the built-in one", spec.format, path.display()),
            },
        };
        let mut loaded = Self::embedded(spec)?;
        loaded.override_problem = Some(problem);
        Ok(loaded)
    }

    /// Renders `view`; an override that fails to render falls back to the embedded template.
    pub fn render(&self, view: &impl Serialize) -> Result<String, ReportError> {
        let wrap = |e: handlebars::RenderError| ReportError::Render { format: self.format, source: Box::new(e) };
        match self.registry.render(self.name, view) {
            Ok(text) => Ok(text),
            Err(e) => match &self.fallback {
                Some(fallback) => fallback.render(self.name, view).map_err(wrap),
                None => Err(wrap(e)),
            },
        }
    }
}
