//! Real kernels, not qemu-user: every arch boots a Debian kernel (bookworm's, trixie's
//! for riscv64, unstable's for loongarch64) under qemu-system with hello as /init, and
//! from a busybox shell as an ordinary process, and must exit 0 with the message on
//! the console; pause runs as PID 1 of a PID namespace, adopts and reaps an orphan,
//! and exits 0 on SIGTERM; httpd serves its exact body to busybox wget over loopback
//! (IPv4 and IPv6) and exits 0 on SIGTERM.
//! Needs qemu-system-* (setup.sh) and Debian's package registry for the kernels.

mod common;

use std::fs;

use common::*;
use xtask::{
    arch::Arch,
    kernel,
    program::{PROGRAMS, Program},
};

#[test]
fn every_kernel_runs_every_binary_it_should() {
    let out = xtask(&["kernel-test"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "kernel-test failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // Every start of every program on every kernel passed, and was made.
    let mut boots = 0;
    for program in PROGRAMS {
        for arch in all_arches() {
            let mut started = 0;
            for k in kernel::kernels_for(arch) {
                for start in kernel::starts(k, program, arch) {
                    let what = format!("{} {}", program.name, arch.name);
                    let pass = format!("PASS {what:<18} on {:<15}", kernel::on(k, start));
                    assert!(stdout.contains(&pass), "no `{pass}` in:\n{stdout}");
                    started += 1;
                }
            }
            assert!(started > 0, "{} never boots on a real kernel for {}", program.name, arch.name);
            boots += started;
        }
    }
    // The matrix's size and time are printed (a figure, not a limit).
    assert!(stdout.contains(&format!("{boots} boots in ")), "no boot count in:\n{stdout}");
    // Every kernel runs its own arch's binary from the shell.
    let [hello, pause, httpd] = ["hello", "pause", "httpd"].map(|name| Program::find(name).unwrap());
    for k in kernel::KERNELS {
        let own = Arch::find(k.runs[0]).unwrap();
        assert!(
            kernel::starts(k, hello, own).contains(&kernel::Start::FromShell),
            "{} never execs from a shell",
            k.name
        );
        // pause runs as PID 1 of a PID namespace on every kernel.
        let pidns = kernel::starts(k, pause, own).contains(&kernel::Start::InPidNamespace);
        assert!(pidns, "{}: pause never in a PID namespace", k.name);
        // httpd serves over loopback on every kernel.
        assert!(kernel::starts(k, httpd, own).contains(&kernel::Start::Serving), "{}: httpd never serves", k.name);
    }
    // A 64-bit shell starts a 32-bit binary in compat mode on amd64 and arm64.
    for (k, compat) in [("amd64", "i686"), ("arm64", "armv7")] {
        let k = kernel::KERNELS.iter().find(|x| x.name == k).unwrap();
        assert!(
            kernel::starts(k, hello, Arch::find(compat).unwrap()).contains(&kernel::Start::FromShell),
            "{}",
            k.name
        );
    }
    // Every arch has a kernel; armv6 and armv5 run on an ARMv6 one (the Pi Zero's).
    for arch in all_arches() {
        assert!(kernel::kernels_for(arch).next().is_some(), "{}: no kernel boots it", arch.name);
    }
    for arm in ["armv6", "armv5"] {
        assert!(kernel::kernels_for(Arch::find(arm).unwrap()).any(|k| k.name == "rpi"), "{arm} not tried on rpi");
    }
    // The arm64 kernel runs all three 32-bit ARM binaries in compat mode.
    for arm in ["armv7", "armv6", "armv5"] {
        assert!(kernel::kernels_for(Arch::find(arm).unwrap()).any(|k| k.name == "arm64"), "{arm} not tried on arm64");
    }
}

/// A 32-bit ARM file without an EABI version in e_flags: qemu-user runs it, the arm64
/// kernel refuses it. kernel-test must say FAIL and exit non-zero.
#[test]
fn a_file_qemu_user_runs_but_the_kernel_refuses_fails() {
    let arch = Arch::find("armv7").unwrap();
    let mut bytes = fs::read(build_default(arch)).unwrap();
    // e_flags' top byte, EF_ARM_EABI_MASK (its low bytes may hold packed code).
    assert_eq!(bytes[39], 5, "EABI version 5");
    bytes[39] = 0;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("no-eabi");
    fs::write(&file, &bytes).unwrap();
    let mut perms = fs::metadata(&file).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&file, perms).unwrap();
    let user = run(&file, std::process::Stdio::piped());
    assert_eq!(user.stdout, xtask::message::DEFAULT, "qemu-user should run it");
    let out = xtask(&["kernel-test", "--program", "hello", "armv7", "--binary", file.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "kernel-test passed a file the kernel refuses:\n{stdout}");
    assert!(stdout.contains("FAIL hello armv7        on arm64 "), "{stdout}");
    assert!(stdout.contains("FAIL hello armv7        on arm64+sh"), "{stdout}");
    let line = one_error_line(&out);
    assert!(line.contains("did not run it to a clean exit"), "{line}");
}

/// `report --kernels` carries the verdict and the kernel version, per arch.
#[test]
fn the_report_says_which_kernels_ran_it() {
    let out = xtask(&["report", "--json", "--no-docker", "--kernels", "s390x", "riscv64", "loongarch64"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report --json prints JSON");
    // s390x on bookworm's kernel (6.1), riscv64 on trixie's (6.12), loongarch64 on
    // unstable's (whatever version it has today).
    for (row, kernel, version) in [(0, "s390x", "6.1."), (1, "riscv64", "6.12."), (2, "loong64", "")] {
        let k = &rows[row]["kernels"][0];
        assert_eq!((k["kernel"].as_str(), k["verified"].as_bool()), (Some(kernel), Some(true)), "{rows}");
        let v = k["version"].as_str().unwrap_or_default();
        assert!(v.starts_with(version) && v.starts_with(|c: char| c.is_ascii_digit()), "{rows}");
    }
}
