//! `cargo xtask report`: what each binary and image of a program weighs, against its
//! budget; for httpd on x86_64 also what each of its features costs, beside the
//! smallest published web server.

use std::{fs, path::PathBuf};

use anyhow::{Result, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};
use xshell::Shell;

use crate::{
    arch::Arch,
    budgets, build,
    docker::Docker,
    kernel, message,
    oci::{annotations::Annotations, image},
    pipeline,
    program::{Judge, Program},
};

#[derive(Debug, Serialize)]
pub struct Row {
    pub program: &'static str,
    pub arch: &'static str,
    pub platform: String,
    pub binary_bytes: u64,
    /// hello: the message's bytes; None for a program without one.
    pub message_bytes: Option<u64>,
    /// Binary minus message: what the ELF format and the code cost.
    pub overhead_bytes: u64,
    pub budget_bytes: u64,
    /// hello: plain hand-written assembly (budgets.toml).
    pub hand_asm_bytes: Option<u64>,
    /// hello: the best portable hand-made file, headers overlapped (budgets.toml).
    pub hand_best_bytes: Option<u64>,
    /// `docker image inspect --format {{.Size}}` after loading the image; None without
    /// an engine.
    pub image_bytes: Option<u64>,
    /// The gzip layer, the config and the manifest as a registry serves them.
    pub layer_bytes: u64,
    pub config_bytes: u64,
    pub manifest_bytes: u64,
    /// What `docker pull` of this platform transfers: the three above.
    pub pull_bytes: u64,
    pub sha256: String,
    /// pause, with an engine: seconds `docker stop` took (Docker kills after 10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_seconds: Option<f64>,
    /// With `--kernels`: each real kernel that booted it, and whether it ran clean.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kernels: Vec<KernelRun>,
    /// httpd on x86_64: what each feature costs (`FeatureCosts::measure`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature_costs: Option<FeatureCosts>,
}

#[derive(Debug, Serialize)]
pub struct KernelRun {
    pub kernel: &'static str,
    pub version: String,
    pub verified: bool,
}

/// Build `program` for every arch (hello with the default message) and measure it;
/// with `docker`, load each image and read back the size the engine reports. Also the
/// size of the image index over these arches' images, annotated as `push` annotates
/// it: what a multi-platform pull reads first.
pub fn rows(
    sh: &Shell,
    program: &Program,
    arches: &[&'static Arch],
    docker: Option<&Docker>,
    kernels: bool,
) -> Result<(Vec<Row>, u64)> {
    let (mut rows, mut images) = (Vec::new(), Vec::new());
    let message_bytes = program.takes_message().then_some(message::DEFAULT.len() as u64);
    for &arch in arches {
        let pipeline::Built { image, binary: bytes, .. } =
            pipeline::image_archive(sh, program, arch, message::DEFAULT, docker, &Default::default())?;
        let budget = budgets::get(program, arch)?;
        let image_bytes = match docker {
            Some(docker) => Some(docker.inspect(sh, &pipeline::arch_tag(program, arch), "{{.Size}}")?.parse()?),
            None => None,
        };
        let (layer, config, manifest) =
            (image.layer.bytes.len() as u64, image.config.bytes.len() as u64, image.manifest.bytes.len() as u64);
        rows.push(Row {
            program: program.name,
            arch: arch.name,
            platform: arch.platform.docker(),
            binary_bytes: bytes.len() as u64,
            message_bytes,
            overhead_bytes: bytes.len() as u64 - message_bytes.unwrap_or(0),
            budget_bytes: budget.binary,
            hand_asm_bytes: budget.hand_asm,
            hand_best_bytes: budget.hand_best,
            image_bytes,
            layer_bytes: layer,
            config_bytes: config,
            manifest_bytes: manifest,
            pull_bytes: layer + config + manifest,
            sha256: format!("{:x}", Sha256::digest(&bytes)),
            stop_seconds: match docker {
                Some(docker) if program.judge == Judge::WaitsForSignal => {
                    let tag = pipeline::arch_tag(program, arch);
                    Some(docker.stop_time(sh, &tag, &arch.platform.docker())?.as_secs_f64())
                }
                _ => None,
            },
            kernels: if kernels { kernel_runs(sh, program, arch, &bytes)? } else { Vec::new() },
            feature_costs: if program.name == "httpd" && arch.name == FEATURE_COSTS_ARCH {
                Some(FeatureCosts::measure(sh, program, arch, &bytes)?)
            } else {
                None
            },
        });
        images.push((arch, image));
    }
    let annotations = Annotations::collect(sh, program, None)?;
    let index = image::index(images.iter().map(|(arch, image)| (*arch, image)), &annotations)?;
    Ok((rows, index.bytes.len() as u64))
}

fn kernel_runs(sh: &Shell, program: &Program, arch: &Arch, binary: &[u8]) -> Result<Vec<KernelRun>> {
    let expect = String::from_utf8_lossy(message::DEFAULT);
    // The first way kernel-test starts it there: hello as /init, pause in a PID namespace,
    // httpd serving on loopback.
    kernel::kernels_for(arch)
        .filter_map(|k| Some((k, *kernel::starts(k, program, arch).first()?)))
        .map(|(k, start)| {
            let boot = kernel::boot(sh, k, program, binary, &expect, start)?;
            Ok(KernelRun { kernel: boot.kernel, version: boot.version, verified: boot.passed })
        })
        .collect()
}

pub fn text(rows: &[Row], index_bytes: u64) -> String {
    let line = |cells: [&str; 12]| {
        format!(
            "{:<12} {:<15} {:>6} {:>7} {:>8} {:>6} {:>8} {:>9} {:>5} {:>5} {:>6} {:>5}\n",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            cells[8],
            cells[9],
            cells[10],
            cells[11]
        )
    };
    let mut out = line([
        "arch",
        "platform",
        "binary",
        "message",
        "overhead",
        "budget",
        "hand-asm",
        "hand-best",
        "image",
        "layer",
        "config",
        "pull",
    ]);
    for r in rows {
        let n = |v: u64| v.to_string();
        let maybe = |v: Option<u64>| v.map_or("-".to_string(), n);
        out += &line([
            r.arch,
            &r.platform,
            &n(r.binary_bytes),
            &maybe(r.message_bytes),
            &n(r.overhead_bytes),
            &n(r.budget_bytes),
            &maybe(r.hand_asm_bytes),
            &maybe(r.hand_best_bytes),
            &r.image_bytes.map_or("-".to_string(), n),
            &n(r.layer_bytes),
            &n(r.config_bytes),
            &n(r.pull_bytes),
        ]);
    }
    if rows.iter().any(|r| r.stop_seconds.is_some()) {
        out += "\ndocker stop (Docker kills after 10 s):\n";
        for r in rows {
            if let Some(s) = r.stop_seconds {
                out += &format!("{:<12} {s:.2} s, {:.1}% of the timeout\n", r.arch, s * 10.0);
            }
        }
    }
    if rows.iter().any(|r| !r.kernels.is_empty()) {
        out += "\nreal kernels (qemu-system, the program as /init):\n";
        for r in rows {
            let runs: Vec<String> = r
                .kernels
                .iter()
                .map(|k| format!("{} {} {}", k.kernel, k.version, if k.verified { "yes" } else { "NO" }))
                .collect();
            let runs = if runs.is_empty() { "none in the table yet".to_string() } else { runs.join(", ") };
            out += &format!("{:<12} {runs}\n", r.arch);
        }
    }
    for costs in rows.iter().filter_map(|r| r.feature_costs.as_ref()) {
        out += &format!(
            "\nwhat each feature costs on {} (bytes with it minus without it; \
             HTTPD_WITHOUT, crates/httpd/features.rs):\n",
            costs.arch
        );
        out += &costs.markdown();
        let sum: i64 = costs.features.iter().map(|f| f.bytes).sum();
        out += &format!(
            "(one by one they add up to {sum}; all of them together cost {}: code that \
             several features share goes only when all of them go)\n",
            costs.all_bytes as i64 - costs.none_bytes as i64
        );
    }
    out += &format!("\nimage index over these {} platforms: {index_bytes} bytes\n", rows.len());
    out += "\nhand-asm: plain hand-written assembly, one ELF header and one program header;\n";
    out += "hand-best: the best hand-made file every loader runs, headers overlapped.\n";
    out += "image: bytes Docker reports; layer: gzip (zopfli); pull: manifest + config + layer,\n";
    out += &format!("what `docker pull` of one platform moves (ceiling {} bytes).\n", image::PULL_BYTES_CEILING);
    out
}

/// httpd's feature table (crates/httpd/features.rs, which its build.rs reads too).
mod httpd_features {
    include!("../../crates/httpd/features.rs");
}

/// The arch the feature costs are measured on: the published records are x86-64.
pub const FEATURE_COSTS_ARCH: &str = "x86_64";

/// The smallest published web server: x86-64 assembly that answers every connection
/// with one fixed reply and closes, reading nothing.
pub const RECORD_BYTES: u64 = 224;

/// What one of httpd's features costs.
#[derive(Debug, Serialize)]
pub struct FeatureCost {
    /// Its name in crates/httpd/features.rs (and HTTPD_WITHOUT).
    pub name: &'static str,
    pub what: &'static str,
    /// The features it needs.
    pub needs: &'static [&'static str],
    /// The binary's bytes with it minus without it, every other feature kept but those
    /// that need it (which cannot be had without it).
    pub bytes: i64,
}

/// httpd built with all its features, with none, and without each in turn.
#[derive(Debug, Serialize)]
pub struct FeatureCosts {
    pub arch: &'static str,
    /// The default build (all features).
    pub all_bytes: u64,
    /// Every feature left out: accept, write the GET response, close.
    pub none_bytes: u64,
    pub record_bytes: u64,
    pub features: Vec<FeatureCost>,
}

impl FeatureCosts {
    /// Build httpd for `arch` with HTTPD_WITHOUT set to each feature (and, for one that
    /// others need, to those others first), into target/hello/features/<arch>/. The
    /// build with an empty HTTPD_WITHOUT must be the default build, `default` (its
    /// bytes), to the byte.
    pub fn measure(sh: &Shell, program: &Program, arch: &'static Arch, default: &[u8]) -> Result<FeatureCosts> {
        use httpd_features::FEATURES;
        let dir = crate::paths::out_root().join("features").join(arch.name);
        let size = |without: &[&str]| -> Result<u64> {
            let name = if without.is_empty() { "all".to_string() } else { without.join(",") };
            let out: PathBuf = dir.join(&name).join(program.name);
            let _env = sh.push_env("HTTPD_WITHOUT", without.join(","));
            build::build(sh, program, arch, message::DEFAULT, Some(&out))?;
            if without.is_empty() && fs::read(&out)? != default {
                bail!("{}: httpd with HTTPD_WITHOUT empty differs from the default build", out.display());
            }
            Ok(fs::metadata(&out)?.len())
        };
        // The features that need `name`, directly or through others.
        let needing = |name: &str| -> Vec<&'static str> {
            let mut found: Vec<&'static str> = Vec::new();
            for (feature, _, needs) in FEATURES {
                if needs.iter().any(|n| *n == name || found.contains(n)) {
                    found.push(feature);
                }
            }
            found
        };
        let all_bytes = size(&[])?;
        let mut features = Vec::new();
        for &(name, what, needs) in FEATURES {
            let mut without = needing(name);
            let with = if without.is_empty() { all_bytes } else { size(&without)? };
            without.push(name);
            features.push(FeatureCost { name, what, needs, bytes: with as i64 - size(&without)? as i64 });
        }
        let every: Vec<&str> = FEATURES.iter().map(|(name, ..)| *name).collect();
        Ok(FeatureCosts { arch: arch.name, all_bytes, none_bytes: size(&every)?, record_bytes: RECORD_BYTES, features })
    }

    /// The table README.md shows (between its httpd-features markers).
    pub fn markdown(&self) -> String {
        let mut out = String::from("| feature | bytes | what it does |\n|---|---|---|\n");
        for f in &self.features {
            let needs = if f.needs.is_empty() { String::new() } else { format!(" (needs {})", f.needs.join(", ")) };
            out += &format!("| {} | {} | {}{needs} |\n", f.name, f.bytes, f.what);
        }
        out += &format!(
            "| **all of them** | **{}** | the default build |\n\
             | none of them | {} | accept, write the fixed response, close: what the record does |\n\
             | the record | {} | x86-64 assembly, one fixed reply (not ours) |\n",
            self.all_bytes, self.none_bytes, self.record_bytes
        );
        out
    }
}
