//! `cargo xtask kernel-test`: run each program under real Linux kernels of each
//! architecture, booted in qemu-system (software emulation), because qemu-user's ELF
//! loader is not the kernel's: it accepts files a kernel refuses, and the other way.
//!
//! Kernels are Debian's own packages, fetched through the package registry with a
//! private apt configuration per release (the machine's apt state is not touched),
//! checked against the SHA256 in Debian's signed index, and cached under
//! target/hello/kernels/<release>; so is the one qemu the machine's packages lack.
//!
//! One thing per file: table.rs, which kernels boot which arches; debian.rs, the apt
//! fetching of kernels, busybox and qemu; initramfs.rs, the cpio archive; boot.rs, one
//! boot in qemu and its verdict; matrix.rs, kernel-test's run of every boot.

mod boot;
mod debian;
mod initramfs;
mod matrix;
mod table;

pub use boot::{Boot, CLEAN_EXIT, Start, boot};
pub use initramfs::newc_cpio;
pub use matrix::{MatrixTime, on, test};
pub use table::{KERNELS, Kernel, Qemu, Suite, kernels_for, starts};
