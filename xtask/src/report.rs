//! `cargo xtask report`: what each binary and image weighs, against its budget.

use anyhow::Result;
use serde::Serialize;
use sha2::{Digest, Sha256};
use xshell::Shell;

use crate::{arch::Arch, budgets, build, docker::Docker, image, message};

#[derive(Debug, Serialize)]
pub struct Row {
    pub arch: &'static str,
    pub platform: String,
    pub binary_bytes: u64,
    pub message_bytes: u64,
    /// Binary minus message: what the ELF format and the code cost.
    pub overhead_bytes: u64,
    pub budget_bytes: u64,
    pub reference_bytes: u64,
    /// `docker image inspect --format {{.Size}}` after loading the image; None without
    /// an engine.
    pub image_bytes: Option<u64>,
    pub sha256: String,
}

/// Build every arch with the default message and measure it; with `docker`, load
/// each image and read back the size the engine reports.
pub fn rows(sh: &Shell, arches: &[&'static Arch], docker: Option<&Docker>) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &arch in arches {
        let built = build::build(sh, arch, message::DEFAULT, None)?;
        let bytes = std::fs::read(&built.binary)?;
        let budget = budgets::for_arch(arch)?;
        let image_bytes = match docker {
            Some(docker) => {
                let tag = format!("hello:{}", arch.name);
                let (_, archive) = image::write_archive(arch, &built.binary, &tag)?;
                docker.load(sh, &archive)?;
                Some(docker.inspect(sh, &tag, "{{.Size}}")?.parse()?)
            }
            None => None,
        };
        rows.push(Row {
            arch: arch.name,
            platform: arch.platform.docker(),
            binary_bytes: bytes.len() as u64,
            message_bytes: message::DEFAULT.len() as u64,
            overhead_bytes: (bytes.len() - message::DEFAULT.len()) as u64,
            budget_bytes: budget.binary,
            reference_bytes: budget.reference,
            image_bytes,
            sha256: format!("{:x}", Sha256::digest(&bytes)),
        });
    }
    Ok(rows)
}

pub fn text(rows: &[Row]) -> String {
    let mut out = format!(
        "{:<10} {:<14} {:>6} {:>7} {:>8} {:>6} {:>9} {:>6}  {}\n",
        "arch", "platform", "binary", "message", "overhead", "budget", "hand-asm", "image", "sha256"
    );
    for r in rows {
        let image = r.image_bytes.map_or("-".to_string(), |b| b.to_string());
        out += &format!(
            "{:<10} {:<14} {:>6} {:>7} {:>8} {:>6} {:>9} {:>6}  {}\n",
            r.arch, r.platform, r.binary_bytes, r.message_bytes, r.overhead_bytes, r.budget_bytes,
            r.reference_bytes, image, r.sha256
        );
    }
    out
}
