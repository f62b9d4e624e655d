use crate::failure::{Classify, ErrorKind};
use thiserror::Error;

/// Every failure of daybook's core, each naming the input it concerns.
#[derive(Debug, Error)]
pub enum Error {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("object store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{context}: {source}")]
    Port {
        context: String,
        #[source]
        source: crate::ports::PortError,
    },
    #[error("{context}: {source}")]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An adapter's failure while doing `context`; it keeps the adapter's kind.
    pub fn port(context: impl Into<String>, source: crate::ports::PortError) -> Self {
        Error::Port {
            context: context.into(),
            source,
        }
    }
}

impl Classify for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Failed,
            Error::Invalid(_) | Error::Json { .. } => ErrorKind::InvalidInput,
            Error::Store(e) => e.kind(),
            Error::Port { source, .. } => source.kind(),
        }
    }
}

/// Adds "what failed, on which input" to an I/O error.
pub trait IoContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::result::Result<T, std::io::Error> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context(),
            source,
        })
    }
}
