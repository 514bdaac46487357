//! The ELF minimizer: read (goblin) -> plan -> write (object) -> verify (goblin again).
//!
//! Two layouts (plan.rs): in place, as ELFkickers' `sstrip` does (drop the section
//! headers and everything no segment holds, cut trailing zeros the loader supplies),
//! and overlapped, for a one-segment file linked to leave exactly the room the
//! overlapped headers take (fields.rs says which header bytes loaders read). Every
//! output is parsed back and its memory image compared with the input's (verify.rs).

mod fields;
mod isa;
mod plan;
mod read;
mod rules;
mod tail;
mod verify;
mod write;

use std::{fmt, fs, path::Path};

use anyhow::{Context, Result};

pub use plan::{Layout, Options, Plan, overlapped_body_offset};
pub use read::{Elf, read};

/// Why an input file cannot be shrunk, or why an output could not be proven sound.
/// The command line turns it into one line and exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// `Err(Refusal)` with a formatted reason.
macro_rules! refuse {
    ($($arg:tt)*) => { return Err($crate::elf::Refusal(format!($($arg)*))) };
}
pub(crate) use refuse;

/// Shrink an ELF image in memory: the plan and the bytes it gives, proven well-formed.
pub fn shrink(input: &[u8], options: Options) -> Result<(Plan, Vec<u8>), Refusal> {
    shrink_with(input, |elf| plan::plan(elf, options))
}

/// The in-place layout alone: what ELFkickers' sstrip makes of `input`.
pub fn shrink_in_place(input: &[u8]) -> Result<(Plan, Vec<u8>), Refusal> {
    shrink_with(input, plan::in_place)
}

fn shrink_with(input: &[u8], planner: impl Fn(&Elf) -> Result<Plan, Refusal>) -> Result<(Plan, Vec<u8>), Refusal> {
    let elf = read(input)?;
    rules::check(&elf)?;
    let plan = planner(&elf)?;
    let output = write::write(&elf, &plan)?;
    verify::verify(&elf, &plan, &output)?;
    Ok((plan, output))
}

/// Shrink the file `input` into `output` (they may be the same path). Nothing is
/// written unless the result is verified; `output` is replaced in one rename.
pub fn shrink_file(input: &Path, output: &Path, options: Options, explain: bool) -> Result<Plan> {
    let meta = fs::metadata(input).with_context(|| format!("cannot read {}", input.display()))?;
    if !meta.is_file() {
        return Err(Refusal(format!("{}: not a regular file", input.display())).into());
    }
    let bytes = fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let (plan, shrunk) = shrink(&bytes, options).map_err(|r| Refusal(format!("{}: {r}", input.display())))?;
    if explain {
        eprint!("{}", plan.explain(bytes.len()));
    }
    crate::fsutil::write_atomic(output, &shrunk, 0o755)?;
    Ok(plan)
}
