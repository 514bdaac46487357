//! The committed size budgets (budgets.toml at the workspace root).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::{arch::Arch, paths};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Most bytes the binary may have with the default message.
    pub binary: u64,
    /// Hand-written assembly's size for the same message, for scale.
    pub reference: u64,
    pub reference_how: String,
    /// The best hand-made file obeying every loader rule, overlapped headers and all.
    pub overlapped: u64,
    pub overlapped_how: String,
}

pub fn load() -> Result<BTreeMap<String, Budget>> {
    let path = paths::budgets_file();
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid budget file", path.display()))
}

pub fn for_arch(arch: &Arch) -> Result<Budget> {
    load()?
        .remove(arch.name)
        .with_context(|| format!("{} has no budget for {}", paths::budgets_file().display(), arch.name))
}
