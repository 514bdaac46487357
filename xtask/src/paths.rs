//! Where things are: the workspace root and what the xtask writes under target/hello.

use std::path::{Path, PathBuf};

use crate::arch::Arch;

/// The workspace root (the xtask crate sits one level below it).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in a subfolder of the workspace").to_path_buf()
}

/// Everything the xtask writes: `target/hello`.
pub fn out_root() -> PathBuf {
    project_root().join("target").join("hello")
}

/// `target/hello/<arch>`: the binary, the linked ELF it came from, the image archive.
pub fn arch_dir(arch: &Arch) -> PathBuf {
    out_root().join(arch.name)
}

/// The shrunk binary of the last `build <arch>`.
pub fn binary(arch: &Arch) -> PathBuf {
    arch_dir(arch).join("hello")
}

/// The committed size budgets.
pub fn budgets_file() -> PathBuf {
    project_root().join("budgets.toml")
}
