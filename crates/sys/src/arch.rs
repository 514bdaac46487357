//! The syscall crate of the architecture being built for. Each one provides the same
//! items: `syscall0` to `syscall5` (the number as a const parameter, a result that is
//! negative or 0 on error), `exit`, and the `start_with_stack!` entry glue. PowerPC's
//! and MIPS's also give `syscall2_errno` and `syscall3_errno` (-errno on error, for
//! calls whose success may be 0); for the others this module makes them the plain ones.

#[cfg(target_arch = "aarch64")]
pub use sys_aarch64::*;
#[cfg(target_arch = "arm")]
pub use sys_arm::*;
#[cfg(target_arch = "x86")]
pub use sys_i686::*;
#[cfg(target_arch = "loongarch64")]
pub use sys_loongarch64::*;
#[cfg(target_arch = "mips64")]
pub use sys_mips64el::*;
#[cfg(target_arch = "powerpc64")]
pub use sys_ppc64le::*;
#[cfg(target_arch = "riscv64")]
pub use sys_riscv64::*;
#[cfg(target_arch = "s390x")]
pub use sys_s390x::*;
#[cfg(target_arch = "x86_64")]
pub use sys_x86_64::*;

// `syscall2_errno`/`syscall3_errno`, for calls whose success may be 0 (clone in the
// child, listen, bind): where errors already come back as -errno, they are the plain
// calls. PowerPC and MIPS, which flag errors apart, define their own.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "mips64")))]
pub use self::{syscall2 as syscall2_errno, syscall3 as syscall3_errno};

// `syscall0_raw` to `syscall5_raw`, for calls that cannot fail or whose result is not
// looked at: PowerPC's and MIPS's leave out the instruction that folds an error to 0
// (4 bytes a call); elsewhere they are the plain calls.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "mips64")))]
pub use self::{
    syscall0 as syscall0_raw, syscall1 as syscall1_raw, syscall2 as syscall2_raw, syscall3 as syscall3_raw,
    syscall4 as syscall4_raw, syscall5 as syscall5_raw,
};

/// Every result a failed `syscall0` to `syscall5` can give here: -errno for each errno
/// Linux defines (EPERM, 1, to EHWPOISON, 133), and for its kernel-internal codes
/// (ERESTARTSYS, 512, to 531), which should never reach a program but have, on rare
/// driver paths.
#[cfg(not(any(target_arch = "powerpc64", target_arch = "mips64")))]
pub const ERROR_RESULTS: &[core::ops::RangeInclusive<isize>] =
    &[-(linux_raw_sys::errno::EHWPOISON as isize)..=-1, -531..=-512];
/// PowerPC and MIPS: 0, whatever the errno (the kernel flags errors apart, and the
/// plain calls fold every error to 0).
#[cfg(any(target_arch = "powerpc64", target_arch = "mips64"))]
pub const ERROR_RESULTS: &[core::ops::RangeInclusive<isize>] = &[0..=0];

/// A 4-byte load from any address costs no more here than loading its bytes one by
/// one: one instruction (x86, ppc64le, LoongArch) or MIPS's lwl/lwr pair, so
/// `Args::first_is_flag` reads '-', the letter and the NUL in one load. Measured on
/// pause: x86_64 and i686 7 bytes smaller, ppc64le 16, mips64el 12, loongarch64 8.
/// Not on AArch64 (the same size: its bytes stay), Thumb (v5 and v6 cannot load
/// unaligned; the mask costs v7 more than it saves), RISC-V (misaligned loads are not
/// assumed, so bytes one by one anyway) or s390x (big-endian: a byte-reversing
/// load): 8 to 26 bytes more there.
pub const WORD_LOADS_ANYWHERE: bool = cfg!(any(
    target_arch = "x86",
    target_arch = "x86_64",
    target_arch = "powerpc64",
    target_arch = "mips64",
    target_arch = "loongarch64"
));

/// A zeroed struct costs fewer bytes stored one word at a time (each store volatile,
/// so that LLVM keeps them stores) than built the way LLVM builds it. On Thumb, LLVM
/// zeroes httpd's 32-byte sockaddr with a call to compiler_builtins' `__aeabi_memclr`,
/// which brings memset along: about 120 bytes, and a call, which the r7 proof cannot
/// trace (`elf::isa::UndeclaredClobber`), so every syscall kept r7. On i686 too it is
/// shorter. Measured on httpd: ARM v7/v6/v5 114/130/136 bytes smaller (with r7 then
/// kept across fewer syscalls, 138/158/164), i686 13. Elsewhere LLVM's own stores
/// are shorter: 4 to 24 bytes more (x86_64, aarch64, riscv64, ppc64le, s390x,
/// mips64el, loongarch64).
pub const ZEROES_BY_WORDS: bool = cfg!(any(target_arch = "arm", target_arch = "x86"));

/// pause reaps by ignoring SIGCHLD (the kernel reaps) rather than by wait4 where that
/// is smaller. SIG_IGN saves the wait4 loop and costs a `struct sigaction` in the
/// data: one byte where the shrinker can lay it last behind the code (its zeros then
/// end the file, the loader reads them past EOF), all of it where the data cannot
/// move. Measured on pause (SIG_IGN against wait4): x86_64 250 against 263, aarch64
/// 314 against 325, s390x 290 against 301; i686 252 either way (it keeps wait4, as
/// pause.c); ARM v7 and v6/v5 221 and 229 against 213 and 221; riscv64 315 against
/// 293, ppc64le 384 against 368, mips64el 401 against 385, loongarch64 360 against
/// 344 (their data stays where it lies).
pub const KERNEL_REAPS: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "s390x"));
