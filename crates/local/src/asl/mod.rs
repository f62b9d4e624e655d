//! A local runner for the Amazon States Language subset daybook's definitions use.

mod choice;
mod definition;
mod distributed;
mod error;
mod intrinsic_functions;
mod intrinsics;
mod paths;
mod redrive;
mod runner;
#[cfg(test)]
mod tests;

pub use definition::Definition;
pub use distributed::ItemSource;
pub use error::Failure;
pub use redrive::{BranchProgress, Interrupted, ResumePoint};
pub use runner::{CallbackWaiter, Clock, Observer, RunEvent, Runner, SystemClock, TaskInvoker};
