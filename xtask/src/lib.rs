//! The tooling behind `cargo xtask`: build, shrink, verify and package our programs
//! for every architecture. The command line is in main.rs; the tests use this library
//! too.

pub mod arch;
pub mod bench;
pub mod budgets;
pub mod build;
pub mod compare;
pub mod docker;
pub mod elf;
pub mod fsutil;
pub mod generate;
pub mod kernel;
pub mod message;
pub mod oci;
pub mod paths;
pub mod pipeline;
pub mod program;
pub mod report;
pub mod sums;
pub mod techniques;
pub mod toolchain;
