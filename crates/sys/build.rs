//! `cfg(has_alarm)` on the architectures whose kernel has alarm(2) (lib.rs's `alarm`
//! uses setitimer elsewhere: arm's EABI, aarch64, riscv64 and loongarch64 left it out).
//! One list, here, rather than a `cfg(any(...))` repeated for each of the two.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_alarm)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if matches!(arch.as_str(), "x86_64" | "x86" | "powerpc64" | "s390x" | "mips64") {
        println!("cargo::rustc-cfg=has_alarm");
    }
}
