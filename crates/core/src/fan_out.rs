//! How a source too big for one invocation is spread over a Distributed Map: the one setting
//! the DynamoDB and Segment sources share, below both of their configs.

use serde::{Deserialize, Serialize};

/// How a big DynamoDB export or Segment day is spread over a Distributed Map's iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FanOut {
    /// Data files each iteration reads (the Map's ItemBatcher). An export's files are about
    /// 100–200 MB of JSON each: four fit well inside one invocation's 15 minutes.
    #[serde(default = "default_files_per_iteration")]
    pub files_per_iteration: u32,
}

fn default_files_per_iteration() -> u32 {
    4
}
