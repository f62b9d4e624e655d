//! Reports in layers that import downward only: the model (`model`), the renderers that read
//! it (`render`), what a built report is (`artifacts`), approval on top of those, and the build
//! and send steps above all of them. `ARCHITECTURE.md` draws the map.

pub mod approval;
pub mod artifacts;
pub mod build;
pub mod deliver;
pub mod file_links;
pub mod model;
pub mod render;
pub mod search;
pub mod send;
pub mod signed_link;

#[cfg(test)]
mod tests;

pub use model::data::{ReportData, SectionData};

/// Every failure of report building and sending, naming the report or section concerned.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("rendering {what}: {message}")]
    Render { what: String, message: String },
    #[error(transparent)]
    Core(#[from] daybook_core::Error),
    #[error(transparent)]
    Store(#[from] daybook_core::store::StoreError),
    #[error("{0}")]
    Port(#[from] daybook_core::ports::PortError),
    #[error("{0}")]
    Approval(String),
    /// A request that cannot be run as given (an analysis' id or SQL).
    #[error("{0}")]
    Invalid(String),
    /// The report has problems and its definition says to stop rather than send it.
    #[error("{0}")]
    Problems(String),
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;

impl daybook_core::Classify for ReportError {
    fn kind(&self) -> daybook_core::ErrorKind {
        use daybook_core::ErrorKind;
        match self {
            ReportError::Render { .. } => ErrorKind::Failed,
            ReportError::Core(e) => e.kind(),
            ReportError::Store(e) => e.kind(),
            ReportError::Port(e) => e.kind(),
            ReportError::Approval(_) => ErrorKind::InvalidInput,
            ReportError::Problems(_) => ErrorKind::InvalidInput,
            ReportError::Invalid(_) => ErrorKind::InvalidInput,
        }
    }
}
