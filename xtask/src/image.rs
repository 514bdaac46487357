//! A one-file image as an archive that `docker load` reads, written without any daemon
//! and the same to the byte every time. (The steps that lead here are in pipeline.rs.)
//!
//! The archive holds the image twice over, the way `docker save` writes it since
//! Docker 25: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/...`),
//! read by current engines, and `manifest.json`, read by older ones (Debian's 20.10),
//! both pointing at the same blobs.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{arch::Arch, fsutil, paths, program::Program};

pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// Most bytes a `docker pull` of one platform may move (manifest + config + layer).
pub const PULL_BYTES_CEILING: usize = 1024;

/// A content-addressed blob.
pub struct Blob {
    pub bytes: Vec<u8>,
    pub digest: String,
}

impl Blob {
    fn new(bytes: Vec<u8>) -> Blob {
        let digest = format!("sha256:{:x}", Sha256::digest(&bytes));
        Blob { bytes, digest }
    }

    fn path(&self) -> String {
        format!("blobs/sha256/{}", &self.digest["sha256:".len()..])
    }

    fn descriptor(&self, media_type: &str) -> Value {
        json!({ "mediaType": media_type, "digest": self.digest, "size": self.bytes.len() })
    }
}

/// The three blobs of an image.
pub struct Image {
    /// The gzip-compressed layer, as a registry stores and sends it.
    pub layer: Blob,
    /// `sha256:` of the uncompressed layer tar: the config's rootfs diff_id.
    pub diff_id: String,
    pub config: Blob,
    pub manifest: Blob,
    /// The time of every file in the layer and in archives holding the image.
    pub mtime: u64,
}

/// File times in the archives: SOURCE_DATE_EPOCH when set, else 0, so that two builds
/// of the same binary give the same bytes.
pub fn mtime() -> Result<u64> {
    epoch(std::env::var("SOURCE_DATE_EPOCH").ok().as_deref())
}

fn epoch(value: Option<&str>) -> Result<u64> {
    match value {
        Some(s) => s.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH={s} is not a number of seconds since 1970: unset it or give one")
        }),
        None => Ok(0),
    }
}

/// The image of one program's binary: a layer holding only `/<program>`, a config
/// that runs it as the program's user; its files dated SOURCE_DATE_EPOCH (default 0).
pub fn image(program: &Program, arch: &Arch, binary: &[u8]) -> Result<Image> {
    image_at(program, arch, binary, mtime()?)
}

/// The image of one binary with its files dated `mtime`.
pub fn image_at(program: &Program, arch: &Arch, binary: &[u8], mtime: u64) -> Result<Image> {
    let layer_tar = tar(&[Entry::file(program.name, binary, 0o755)], mtime)?;
    let diff_id = format!("sha256:{:x}", Sha256::digest(&layer_tar));
    let layer = Blob::new(gzip(&layer_tar)?);
    let p = &arch.platform;
    let mut config = json!({
        "architecture": p.architecture,
        "os": p.os,
        "config": { "Entrypoint": [program.entrypoint()], "User": program.user },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
    });
    if let Some(variant) = p.variant {
        config["variant"] = json!(variant);
    }
    let config = Blob::new(serde_json::to_vec(&config)?);
    let manifest = Blob::new(serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config.descriptor(CONFIG_MEDIA_TYPE),
        "layers": [layer.descriptor(LAYER_MEDIA_TYPE)],
    }))?);
    Ok(Image { layer, diff_id, config, manifest, mtime })
}

/// One image in an archive, with the tag `docker load` gives it (`hello:x86_64`).
pub struct Tagged<'a> {
    pub arch: &'a Arch,
    pub image: &'a Image,
    pub tag: String,
}

pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// The OCI platform object of `arch`. In an image index arm64 says variant v8, as
/// Docker's own multi-arch images do, so that clients asking for linux/arm64/v8 match.
fn platform(arch: &Arch, in_index: bool) -> Value {
    let p = &arch.platform;
    let mut platform = json!({ "architecture": p.architecture, "os": p.os });
    match p.variant {
        Some(variant) => platform["variant"] = json!(variant),
        None if in_index && p.architecture == "arm64" => platform["variant"] = json!("v8"),
        None => {}
    }
    platform
}

/// The archive `docker load` takes, for one tagged image.
pub fn archive(one: &Tagged) -> Result<Vec<u8>> {
    let (name, reference) = split_tag(&one.tag);
    let mut descriptor = one.image.manifest.descriptor(MANIFEST_MEDIA_TYPE);
    descriptor["platform"] = platform(one.arch, false);
    descriptor["annotations"] = annotations(name, reference);
    layout(std::slice::from_ref(one), descriptor, None)
}

/// An image index over `images` (one per arch), named `tag`, in an archive that
/// holds every image: registries and OCI tools read the index; `docker load` loads
/// each image under its own tag.
pub fn index_archive(images: &[Tagged], tag: &str) -> Result<(Blob, Vec<u8>)> {
    let index = index(images.iter().map(|t| (t.arch, t.image)))?;
    let (name, reference) = split_tag(tag);
    let mut descriptor = index.descriptor(INDEX_MEDIA_TYPE);
    descriptor["annotations"] = annotations(name, reference);
    let archive = layout(images, descriptor, Some(&index))?;
    Ok((index, archive))
}

/// The OCI image index over one image per arch, each with its platform.
pub fn index<'a>(images: impl Iterator<Item = (&'a Arch, &'a Image)>) -> Result<Blob> {
    let manifests: Vec<Value> = images
        .map(|(arch, image)| {
            let mut d = image.manifest.descriptor(MANIFEST_MEDIA_TYPE);
            d["platform"] = platform(arch, true);
            d
        })
        .collect();
    Ok(Blob::new(serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": manifests,
    }))?))
}

/// `name` and `reference` of `name:reference` (`latest` when there is none).
pub fn split_tag(tag: &str) -> (&str, &str) {
    match tag.rsplit_once(':') {
        // A colon inside the registry's host:port is not a tag separator.
        Some((name, reference)) if !reference.contains('/') => (name, reference),
        _ => (tag, "latest"),
    }
}

fn annotations(name: &str, reference: &str) -> Value {
    json!({
        "io.containerd.image.name": qualified(name, reference),
        "org.opencontainers.image.ref.name": reference,
    })
}

/// An OCI image layout whose index.json holds `top`, with every blob of `images`
/// (and `extra`) once, and the manifest.json older `docker load`s read.
fn layout(images: &[Tagged], top: Value, extra: Option<&Blob>) -> Result<Vec<u8>> {
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": [top],
    }))?;
    let docker_manifest: Vec<Value> = images
        .iter()
        .map(|t| json!({ "Config": t.image.config.path(), "RepoTags": [t.tag], "Layers": [t.image.layer.path()] }))
        .collect();
    let docker_manifest = serde_json::to_vec(&docker_manifest)?;
    let oci_layout = serde_json::to_vec(&json!({ "imageLayoutVersion": "1.0.0" }))?;

    let mut blobs: Vec<&Blob> =
        images.iter().flat_map(|t| [&t.image.config, &t.image.layer, &t.image.manifest]).collect();
    blobs.extend(extra);
    blobs.sort_by(|a, b| a.digest.cmp(&b.digest));
    blobs.dedup_by(|a, b| a.digest == b.digest);
    let paths: Vec<String> = blobs.iter().map(|b| b.path()).collect();

    let mut entries = vec![Entry::dir("blobs/"), Entry::dir("blobs/sha256/")];
    entries.extend(blobs.iter().zip(&paths).map(|(b, p)| Entry::file(p, &b.bytes, 0o644)));
    entries.push(Entry::file("index.json", &index, 0o644));
    entries.push(Entry::file("manifest.json", &docker_manifest, 0o644));
    entries.push(Entry::file("oci-layout", &oci_layout, 0o644));
    tar(&entries, images.first().map_or(0, |t| t.image.mtime))
}

/// `docker.io/library/hello:x86_64` for `hello`, as containerd names images.
fn qualified(name: &str, reference: &str) -> String {
    let first = name.split('/').next().unwrap_or(name);
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    match (has_registry, name.contains('/')) {
        (true, _) => format!("{name}:{reference}"),
        (false, true) => format!("docker.io/{name}:{reference}"),
        (false, false) => format!("docker.io/library/{name}:{reference}"),
    }
}

/// Write the archive of `program`'s `image` for `arch`, tagged `tag`, to
/// target/hello/<arch>/<program>.image.tar.
pub fn write_archive(program: &Program, arch: &Arch, image: &Image, tag: &str) -> Result<PathBuf> {
    let path = paths::image_archive(program, arch);
    let archive = archive(&Tagged { arch, image, tag: tag.to_string() })?;
    fsutil::write_atomic(&path, &archive, 0o644)?;
    Ok(path)
}

struct Entry<'a> {
    path: &'a str,
    bytes: &'a [u8],
    mode: u32,
    dir: bool,
}

impl<'a> Entry<'a> {
    fn file(path: &'a str, bytes: &'a [u8], mode: u32) -> Self {
        Entry { path, bytes, mode, dir: false }
    }
    fn dir(path: &'a str) -> Self {
        Entry { path, bytes: &[], mode: 0o755, dir: true }
    }
}

/// The smallest gzip stream a well-kept crate makes, and the same bytes every time
/// (mtime 0 in the gzip header). Measured on the 2048-byte layer tars of the x86_64,
/// armv7, mips64el and ppc64le binaries: flate2 level 1/6/9 gives 207/188/190,
/// 189/173/173, 221/205/207, 219/202/204 bytes; zopfli (15 iterations, its default;
/// 100 and 1000 gain nothing) 166, 156, 190, 185. zopfli is slow only on big inputs.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    zopfli::compress(zopfli::Options::default(), zopfli::Format::Gzip, bytes, &mut out)?;
    Ok(out)
}

/// A tar of `entries` owned by 0:0 with one fixed time: nothing of the build machine.
fn tar(entries: &[Entry], mtime: u64) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(if e.dir { tar::EntryType::Directory } else { tar::EntryType::Regular });
        header.set_size(e.bytes.len() as u64);
        header.set_mode(e.mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        builder.append_data(&mut header, e.path, e.bytes)?;
    }
    Ok(builder.into_inner()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_date_epoch_is_seconds_or_refused() {
        assert_eq!(epoch(None).unwrap(), 0);
        assert_eq!(epoch(Some("1700000000")).unwrap(), 1_700_000_000);
        assert!(epoch(Some("yesterday")).unwrap_err().to_string().contains("not a number of seconds"));
    }

    #[test]
    fn tags_split_at_the_last_colon_outside_the_host() {
        assert_eq!(split_tag("hello:x86_64"), ("hello", "x86_64"));
        assert_eq!(split_tag("hello"), ("hello", "latest"));
        assert_eq!(split_tag("localhost:5000/hello"), ("localhost:5000/hello", "latest"));
        assert_eq!(split_tag("localhost:5000/hello:v2"), ("localhost:5000/hello", "v2"));
    }

    #[test]
    fn index_platforms() {
        let p = |n| platform(Arch::find(n).unwrap(), true);
        assert_eq!(p("aarch64"), json!({"architecture": "arm64", "os": "linux", "variant": "v8"}));
        assert_eq!(p("armv5"), json!({"architecture": "arm", "os": "linux", "variant": "v5"}));
        assert_eq!(p("x86_64"), json!({"architecture": "amd64", "os": "linux"}));
        assert_eq!(platform(Arch::find("aarch64").unwrap(), false)["variant"], Value::Null);
    }

    #[test]
    fn image_names_as_containerd_spells_them() {
        assert_eq!(qualified("hello", "x86_64"), "docker.io/library/hello:x86_64");
        assert_eq!(qualified("me/hello", "v1"), "docker.io/me/hello:v1");
        assert_eq!(qualified("localhost:5000/hello", "v1"), "localhost:5000/hello:v1");
        assert_eq!(qualified("ghcr.io/me/hello", "v1"), "ghcr.io/me/hello:v1");
    }

    #[test]
    fn config_says_platform_user_and_entrypoint() {
        let arch = Arch::find("armv6").unwrap();
        let pause = Program::find("pause").unwrap();
        let image = image(pause, arch, b"\x7fELF not really").unwrap();
        let config: Value = serde_json::from_slice(&image.config.bytes).unwrap();
        assert_eq!(config["architecture"], "arm");
        assert_eq!(config["variant"], "v6");
        assert_eq!(config["config"]["User"], "65535:65535");
        assert_eq!(config["config"]["Entrypoint"], json!(["/pause"]));
        assert_eq!(config["rootfs"]["diff_ids"][0], json!(image.diff_id));
        let manifest: Value = serde_json::from_slice(&image.manifest.bytes).unwrap();
        assert_eq!(manifest["config"]["digest"], json!(image.config.digest));
        assert_eq!(manifest["layers"][0]["size"], json!(image.layer.bytes.len()));
    }
}
