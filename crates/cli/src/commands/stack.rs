use clap::Args;

/// Which deployed stack a command acts on instead of the local root.
#[derive(Args, Clone, Default)]
pub struct StackArgs {
    /// Act on this deployed stack (its outputs name the state machines, table and bucket),
    /// with the usual AWS credentials and region.
    #[arg(long, value_name = "NAME", env = "DAYBOOK_STACK")]
    pub stack: Option<String>,
    /// Act on the stack `sam deploy` deploys: `stack_name` in ./samconfig.toml.
    #[arg(long, conflicts_with = "stack")]
    pub aws: bool,
}

impl StackArgs {
    pub fn on_aws(&self) -> bool {
        self.stack.is_some() || self.aws
    }

    /// The flag that names this stack again, for the commands a message suggests.
    pub fn flag(&self) -> String {
        match &self.stack {
            Some(name) => format!("--stack {name}"),
            None => "--aws".into(),
        }
    }

    /// The stack's name: --stack, or samconfig.toml's for --aws.
    #[cfg(feature = "aws")]
    pub fn name(&self) -> anyhow::Result<String> {
        if let Some(name) = &self.stack {
            return Ok(name.clone());
        }
        let path = std::path::Path::new("samconfig.toml");
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!(
                "--aws reads the stack name from samconfig.toml in this folder, and it cannot be read ({e}): run it where you run `sam deploy`, or give the name with --stack <name>"
            )
        })?;
        daybook_aws::stack::stack_name_in_samconfig(&text).ok_or_else(|| {
            anyhow::anyhow!(
                "samconfig.toml names no stack_name: run `sam deploy --guided` once, or give the name with --stack <name>"
            )
        })
    }
}
