//! Where each embedded adapter keeps its files below the local root: the one place every
//! service and the approval site read them from.

use std::path::{Path, PathBuf};

/// Where each embedded adapter keeps its files below the local root.
pub struct LocalPaths {
    pub root: PathBuf,
}

impl LocalPaths {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    pub fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }
    pub fn state(&self) -> PathBuf {
        self.root.join(".daybook/state")
    }
    pub fn callbacks(&self) -> PathBuf {
        self.root.join(".daybook/callbacks")
    }
    /// The secrets destinations name, one file each (`secrets/daybook/slack-bot`).
    pub fn secrets(&self) -> PathBuf {
        self.root.join("secrets")
    }
    pub fn executions(&self) -> PathBuf {
        self.root.join(".daybook/executions")
    }
}
