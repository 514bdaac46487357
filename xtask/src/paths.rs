//! Where things are: the workspace root and what the xtask writes under target/hello.

use std::path::{Path, PathBuf};

use crate::{arch::Arch, program::Program};

/// The workspace root (the xtask crate sits one level below it).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in a subfolder of the workspace").to_path_buf()
}

/// Everything the xtask writes: `target/hello`.
pub fn out_root() -> PathBuf {
    project_root().join("target").join("hello")
}

/// `target/hello/<arch>`: each program's binary, the linked ELF it came from, its
/// image archive.
pub fn arch_dir(arch: &Arch) -> PathBuf {
    out_root().join(arch.name)
}

/// The shrunk binary of the last `build --program <program> <arch>`.
pub fn binary(program: &Program, arch: &Arch) -> PathBuf {
    arch_dir(arch).join(program.name)
}

/// The image archive of the last `image --program <program> <arch>`.
pub fn image_archive(program: &Program, arch: &Arch) -> PathBuf {
    arch_dir(arch).join(format!("{}.image.tar", program.name))
}

/// The archive of the last `index --program <program>`: every arch's image and the
/// image index over them.
pub fn index_archive(program: &Program) -> PathBuf {
    out_root().join(format!("{}.index.tar", program.name))
}

/// The committed size budgets.
pub fn budgets_file() -> PathBuf {
    project_root().join("budgets.toml")
}

/// The committed sha256 of every program's binary on every arch (sums.rs).
pub fn sums_file() -> PathBuf {
    project_root().join(crate::sums::FILE_NAME)
}
