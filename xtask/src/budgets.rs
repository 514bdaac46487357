//! The committed size budgets (budgets.toml at the workspace root): per program, per
//! arch.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::{arch::Arch, paths, program::Program};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// Most bytes the binary may have (hello: with the default message).
    pub binary: u64,
    /// hello only: hand-written assembly's size for the same message, for scale.
    pub hand_asm: Option<u64>,
    pub hand_asm_how: Option<String>,
    /// hello only: the best hand-made file obeying every loader rule.
    pub hand_best: Option<u64>,
    pub hand_best_how: Option<String>,
}

/// Every budget: program name -> arch name -> budget.
pub fn load() -> Result<BTreeMap<String, BTreeMap<String, Budget>>> {
    let path = paths::budgets_file();
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a valid budget file", path.display()))
}

pub fn get(program: &Program, arch: &Arch) -> Result<Budget> {
    load()?.remove(program.name).and_then(|mut arches| arches.remove(arch.name)).with_context(|| {
        format!("{} has no budget for {} on {}", paths::budgets_file().display(), program.name, arch.name)
    })
}
