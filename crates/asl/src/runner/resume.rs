//! Taking an execution up again: a redrive from the state that failed, and a wait for a
//! callback that another process started.

use super::*;

impl Runner {
    /// Redrives a failed execution as Step Functions does: the same name, input and start
    /// time; it resumes in the state that failed, with the input that state had, and reruns
    /// only the Parallel branches and Map iterations that did not succeed. `redrive_count` is
    /// this redrive's number (1 for the first), seen as `$$.Execution.RedriveCount`.
    pub async fn redrive(
        &self,
        name: &str,
        input: Value,
        start_time: String,
        redrive_count: u32,
        from: ResumePoint,
    ) -> Result<Value, Interrupted> {
        self.run_execution(name, input, start_time, redrive_count, Some(from))
            .await
    }

    /// Takes up an execution whose process stopped while a top-level `.waitForTaskToken`
    /// task waited: from that task (`at`), with its input, waiting on the token it handed out
    /// (`token`) without invoking its function again, as on AWS an execution waits for its
    /// token whatever happens to the caller that started it.
    pub async fn resume_waiting(
        &self,
        name: &str,
        input: Value,
        start_time: String,
        redrive_count: u32,
        at: ResumePoint,
        token: String,
    ) -> Result<Value, Interrupted> {
        *self.waiting.lock().expect("the waiting task's lock") = Some((at.state.clone(), token));
        self.run_execution(name, input, start_time, redrive_count, Some(at))
            .await
    }
}
