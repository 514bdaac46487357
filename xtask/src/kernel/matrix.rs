//! `cargo xtask kernel-test`: every arch on every kernel that runs it, two boots at a
//! time.

use std::{fs, path::Path, sync::atomic::Ordering, time::Instant};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use super::{
    boot::{Start, boot},
    table::{Kernel, kernels_for, starts},
};
use crate::{arch::Arch, program::Program};

/// `cargo xtask kernel-test`: boot each program's binary for each arch (built with
/// the default message, or `binary`) on the kernels that run it, and print one
/// PASS/FAIL line per boot; an error naming every failure, else how many boots the
/// matrix made and how long it took. Arches without a kernel are skipped, or refused
/// when named.
pub fn test(
    sh: &Shell,
    programs: &[&Program],
    arches: &[&Arch],
    explicit: bool,
    binary: Option<&Path>,
    expect: &str,
) -> Result<MatrixTime> {
    let all = Instant::now();
    // Every boot to make: build (or read) each binary first, then boot.
    let mut jobs = Vec::new();
    for &program in programs {
        for &arch in arches {
            if kernels_for(arch).next().is_none() {
                if explicit {
                    bail!("no kernel to boot {} yet (see kernel/table.rs for what was tried)", arch.name);
                }
                eprintln!("SKIP {:<12} no kernel in the table yet", arch.name);
                continue;
            }
            let bytes = match binary {
                Some(path) => fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
                None => fs::read(crate::build::build(sh, program, arch, crate::message::DEFAULT, None)?.binary)?,
            };
            for k in kernels_for(arch) {
                for start in starts(k, program, arch) {
                    jobs.push((program, arch, k, start, bytes.clone()));
                }
            }
        }
    }
    // Two boots at a time: qemu's software emulation of one CPU keeps one core busy,
    // and the machine has 2. Downloads are serialized by the apt lock of each release.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..BOOTS_AT_ONCE)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    let sh = Shell::new()?;
                    while let Some((program, arch, k, start, bytes)) = jobs.get(next.fetch_add(1, Ordering::SeqCst)) {
                        let started = Instant::now();
                        let boot = boot(&sh, k, program, bytes, expect, *start)?;
                        let verdict = if boot.passed { "PASS" } else { "FAIL" };
                        let seconds = started.elapsed().as_secs_f64();
                        let what = format!("{} {}", program.name, arch.name);
                        let on = on(k, *start);
                        println!("{verdict} {what:<18} on {on:<15} linux {:<12} {seconds:.1} s", boot.version);
                        if !boot.passed {
                            // What the program and the script said (not the kernel's
                            // own "[ time ]" lines), then the kernel's last words.
                            let ours: Vec<&str> = boot.console.lines().filter(|l| !l.starts_with('[')).collect();
                            let kernel: Vec<&str> = boot.console.lines().filter(|l| l.starts_with('[')).collect();
                            let tail =
                                [&ours[ours.len().saturating_sub(20)..], &kernel[kernel.len().saturating_sub(5)..]]
                                    .concat()
                                    .join("\n");
                            eprintln!("{what} on {on}: console, last lines:\n{tail}");
                            failed.lock().unwrap().push(format!("{what} on {on}"));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| w.join().unwrap_or_else(|_| bail!("a boot thread panicked")))
    })?;
    let time = MatrixTime { boots: jobs.len(), seconds: all.elapsed().as_secs_f64() };
    println!("{} boots in {:.0} s", time.boots, time.seconds);
    let failed = failed.into_inner().unwrap();
    if !failed.is_empty() {
        bail!("the kernel did not run it to a clean exit: {}", failed.join(", "));
    }
    Ok(time)
}

/// How a boot is named in kernel-test's output: the kernel, and how it started the
/// binary (`amd64`, `amd64+sh`, `amd64+pidns`, `amd64+http`).
pub fn on(kernel: &Kernel, start: Start) -> String {
    match start {
        Start::AsInit => kernel.name.to_string(),
        Start::FromShell => format!("{}+sh", kernel.name),
        Start::InPidNamespace => format!("{}+pidns", kernel.name),
        Start::Serving => format!("{}+http", kernel.name),
    }
}

/// Boots kernel-test runs side by side (see `test`).
const BOOTS_AT_ONCE: usize = 2;

/// How long the whole matrix took (issue 11: a figure to show, not a limit to assert).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatrixTime {
    pub boots: usize,
    pub seconds: f64,
}
