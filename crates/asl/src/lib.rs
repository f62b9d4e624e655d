//! An Amazon States Language interpreter, run in-process: the local pipeline's state machine,
//! held against moto's interpreter by `tests/e2e/asl_differential.rs`. It depends on no daybook
//! crate; tasks, callbacks, the clock and a Distributed Map's items come in through traits.

mod choice;
mod definition;
mod distributed;
mod error;
mod fields;
mod intrinsic_functions;
mod intrinsics;
mod paths;
mod redrive;
mod runner;
mod selection;
#[cfg(test)]
mod tests;

pub use definition::Definition;
pub use distributed::ItemSource;
pub use error::Failure;
pub use redrive::{BranchProgress, Interrupted, ResumePoint};
pub use runner::{CallbackWaiter, Clock, Observer, RunEvent, Runner, SystemClock, TaskInvoker};
