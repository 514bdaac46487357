//! build → shrink → verify → image → load / push: the one place the steps are joined.
//! Every command that makes a binary or an image comes through here.
//!
//! `build::build` compiles, shrinks and verifies (the minimizer checks its own output
//! before anything is written); `image` makes the OCI image in memory; the archive
//! goes to target/hello, then to Docker or to a registry.

use anyhow::{Context, Result};
use xshell::Shell;

use crate::{
    arch::Arch,
    build,
    docker::Docker,
    fsutil,
    oci::{
        image::{self, Image},
        registry,
    },
    paths,
    program::Program,
};

/// A program built for one arch: the binary's bytes and its image.
pub struct Built {
    pub arch: &'static Arch,
    pub binary: Vec<u8>,
    pub image: Image,
}

/// Build `program` for `arch` (hello printing `message`) and make its image in memory.
pub fn build_image(sh: &Shell, program: &Program, arch: &'static Arch, message: &[u8]) -> Result<Built> {
    let built = build::build(sh, program, arch, message, None)?;
    let binary = std::fs::read(&built.binary).with_context(|| format!("cannot read {}", built.binary.display()))?;
    let image = image::image(program, arch, &binary)?;
    Ok(Built { arch, binary, image })
}

/// `build_image` for each arch, in order.
pub fn build_images(sh: &Shell, program: &Program, arches: &[&'static Arch], message: &[u8]) -> Result<Vec<Built>> {
    arches.iter().map(|&arch| build_image(sh, program, arch, message)).collect()
}

/// The tag `docker load` gives one arch's image: `<image>:<arch>`.
pub fn arch_tag(program: &Program, arch: &Arch) -> String {
    format!("{}:{}", program.image, arch.name)
}

/// `cargo xtask image`: build, write target/hello/<arch>/<program>.image.tar, and load
/// it as `<image>:<arch>` when given an engine. The archive's index.json descriptor
/// (and the manifest, with `--manifest-annotations`) carries the OCI annotations.
pub fn image_archive(
    sh: &Shell,
    program: &Program,
    arch: &'static Arch,
    message: &[u8],
    docker: Option<&Docker>,
    annotate: &crate::oci::annotations::AnnotationArgs,
) -> Result<Built> {
    // Collected (git, SOURCE_DATE_EPOCH, --source) before minutes of building.
    let annotations = annotate.resolve_for(sh, program)?;
    let mut built = build_image(sh, program, arch, message)?;
    if annotate.manifest_annotations {
        built.image.annotate_manifest(&annotations)?;
    }
    let archive = image::write_archive(program, arch, &built.image, &arch_tag(program, arch), &annotations)?;
    eprintln!("wrote {} (manifest {})", archive.display(), built.image.manifest.digest);
    if let Some(docker) = docker {
        docker.load(sh, &archive)?;
    }
    Ok(built)
}

/// `cargo xtask index`: one OCI image index over `arches`, named `tag`, in
/// target/hello/<program>.index.tar with every image; each image is also tagged
/// `<name>:<arch>` for `docker load`, which loads them when given an engine. The
/// index and its index.json descriptor carry the OCI annotations (`annotate`).
pub fn index(
    sh: &Shell,
    program: &Program,
    arches: &[&'static Arch],
    message: &[u8],
    tag: &str,
    docker: Option<&Docker>,
    annotate: &crate::oci::annotations::AnnotationArgs,
) -> Result<()> {
    let (name, _) = image::split_tag(tag);
    // Collected (git, SOURCE_DATE_EPOCH, --source) before minutes of building.
    let annotations = annotate.resolve_for(sh, program)?;
    let mut built = build_images(sh, program, arches, message)?;
    if annotate.manifest_annotations {
        for b in &mut built {
            b.image.annotate_manifest(&annotations)?;
        }
    }
    let tagged: Vec<image::Tagged> = built
        .iter()
        .map(|b| image::Tagged { arch: b.arch, image: &b.image, tag: format!("{name}:{}", b.arch.name) })
        .collect();
    let (index, archive) = image::index_archive(&tagged, tag, &annotations)?;
    let path = paths::index_archive(program);
    fsutil::write_atomic(&path, &archive, 0o644)?;
    eprintln!(
        "wrote {} (index {}, {} bytes; {} platforms)",
        path.display(),
        index.digest,
        index.bytes.len(),
        tagged.len()
    );
    if let Some(docker) = docker {
        docker.load(sh, &path)?;
    }
    Ok(())
}

/// `cargo xtask push`: every arch's image and one index over them to a registry. The
/// registry is reached (and its authentication passed) before anything is built. The
/// index carries the OCI annotations (`annotate`).
pub fn push(
    sh: &Shell,
    program: &Program,
    reference: &str,
    arches: &[&'static Arch],
    message: &[u8],
    annotate: &crate::oci::annotations::AnnotationArgs,
) -> Result<()> {
    let reference = registry::Reference::parse(reference)?;
    // Collected before the registry is reached and anything is built.
    let annotations = annotate.resolve_for(sh, program)?;
    let mut registry = registry::Registry::connect(&reference)?;
    let mut built = build_images(sh, program, arches, message)?;
    if annotate.manifest_annotations {
        for b in &mut built {
            b.image.annotate_manifest(&annotations)?;
        }
    }
    let mut counts = registry::Counts::default();
    for b in &built {
        for blob in [&b.image.layer, &b.image.config] {
            match registry.push_blob(blob)? {
                true => counts.uploaded += 1,
                false => counts.present += 1,
            }
        }
        registry.push_manifest(&b.image.manifest, image::MANIFEST_MEDIA_TYPE, &b.image.manifest.digest)?;
        eprintln!("{:<12} manifest {}", b.arch.name, b.image.manifest.digest);
    }
    let index = image::index(built.iter().map(|b| (b.arch, &b.image)), &annotations)?;
    registry.push_manifest(&index, image::INDEX_MEDIA_TYPE, &reference.tag)?;
    println!(
        "pushed {reference} (index {}, {} platforms): {} blobs uploaded, {} already there",
        index.digest,
        built.len(),
        counts.uploaded,
        counts.present
    );
    Ok(())
}
