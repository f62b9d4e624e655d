//! Reports: the data model, email-safe HTML, plain text, Excel workbooks and MIME messages,
//! and the steps that build, approve and send them.

pub mod approval;
pub mod chart;
pub mod data;
pub mod display;
pub mod file_links;
pub mod html;
pub mod mime;
pub mod picture;
pub mod pictures;
pub mod search;
pub mod signed_link;
pub mod steps;
pub mod text;
pub mod xlsx;

#[cfg(test)]
mod tests;

pub use data::{ReportData, SectionData};

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
