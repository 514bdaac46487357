//! A one-file image as an archive that `docker load` reads, written without any daemon
//! and the same to the byte every time. (The steps that lead here are in pipeline.rs.)
//!
//! The archive holds the image twice over, the way `docker save` writes it since
//! Docker 25: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/...`),
//! read by current engines, and `manifest.json`, read by older ones (Debian's 20.10),
//! both pointing at the same blobs.
//!
//! The OCI annotations (annotations.rs) go on the image index and on each archive's
//! index.json descriptor; on each platform's manifest only when asked, so that a
//! one-platform pull stays under PULL_BYTES_CEILING.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::{arch::Arch, fsutil, oci::annotations::Annotations, paths, program::Program};

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
    // What a Dockerfile's EXPOSE records: {"8080/tcp": {}}. Only for programs that
    // listen, so that the others' configs (and digests) stay as they were.
    if !program.ports.is_empty() {
        let ports: serde_json::Map<String, Value> =
            program.ports.iter().map(|port| (format!("{port}/tcp"), json!({}))).collect();
        config["config"]["ExposedPorts"] = Value::Object(ports);
    }
    let config = Blob::new(serde_json::to_vec(&config)?);
    let manifest = manifest(&config, &layer, &Annotations::default())?;
    Ok(Image { layer, diff_id, config, manifest, mtime })
}

/// The manifest of an image of `config` and `layer`, with `annotations` (none: lean).
fn manifest(config: &Blob, layer: &Blob, annotations: &Annotations) -> Result<Blob> {
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": config.descriptor(CONFIG_MEDIA_TYPE),
        "layers": [layer.descriptor(LAYER_MEDIA_TYPE)],
    });
    annotate(&mut manifest, annotations);
    Ok(Blob::new(serde_json::to_vec(&manifest)?))
}

impl Image {
    /// Put `annotations` on the manifest too (`--manifest-annotations`): the manifest
    /// and its digest change, the config and the layer do not.
    pub fn annotate_manifest(&mut self, annotations: &Annotations) -> Result<()> {
        self.manifest = manifest(&self.config, &self.layer, annotations)?;
        Ok(())
    }
}

/// Give a manifest or an index a top-level "annotations" object, unless there are none.
fn annotate(object: &mut Value, annotations: &Annotations) {
    let annotations = annotations.to_json();
    if !annotations.is_empty() {
        object["annotations"] = Value::Object(annotations);
    }
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

/// The archive `docker load` takes, for one tagged image; its index.json descriptor
/// holds `annotations` besides the image's name.
pub fn archive(one: &Tagged, annotations: &Annotations) -> Result<Vec<u8>> {
    let (name, reference) = split_tag(&one.tag);
    let mut descriptor = one.image.manifest.descriptor(MANIFEST_MEDIA_TYPE);
    descriptor["platform"] = platform(one.arch, false);
    descriptor["annotations"] = descriptor_annotations(name, reference, annotations);
    layout(std::slice::from_ref(one), descriptor, None)
}

/// An image index over `images` (one per arch), named `tag`, in an archive that
/// holds every image: registries and OCI tools read the index; `docker load` loads
/// each image under its own tag. The index and its index.json descriptor carry
/// `annotations`.
pub fn index_archive(images: &[Tagged], tag: &str, annotations: &Annotations) -> Result<(Blob, Vec<u8>)> {
    let index = index(images.iter().map(|t| (t.arch, t.image)), annotations)?;
    let (name, reference) = split_tag(tag);
    let mut descriptor = index.descriptor(INDEX_MEDIA_TYPE);
    descriptor["annotations"] = descriptor_annotations(name, reference, annotations);
    let archive = layout(images, descriptor, Some(&index))?;
    Ok((index, archive))
}

/// The OCI image index over one image per arch, each with its platform, with
/// `annotations` as its own (what a multi-arch tag points to).
pub fn index<'a>(images: impl Iterator<Item = (&'a Arch, &'a Image)>, annotations: &Annotations) -> Result<Blob> {
    let manifests: Vec<Value> = images
        .map(|(arch, image)| {
            let mut d = image.manifest.descriptor(MANIFEST_MEDIA_TYPE);
            d["platform"] = platform(arch, true);
            d
        })
        .collect();
    let mut index = json!({
        "schemaVersion": 2,
        "mediaType": INDEX_MEDIA_TYPE,
        "manifests": manifests,
    });
    annotate(&mut index, annotations);
    Ok(Blob::new(serde_json::to_vec(&index)?))
}

/// `name` and `reference` of `name:reference` (`latest` when there is none).
pub fn split_tag(tag: &str) -> (&str, &str) {
    match tag.rsplit_once(':') {
        // A colon inside the registry's host:port is not a tag separator.
        Some((name, reference)) if !reference.contains('/') => (name, reference),
        _ => (tag, "latest"),
    }
}

/// The annotations of an index.json descriptor: the image's name as containerd and
/// OCI tools read it, and `annotations`. Keys sorted (serde_json's map is ordered).
fn descriptor_annotations(name: &str, reference: &str, annotations: &Annotations) -> Value {
    let mut map: Map<String, Value> = annotations.to_json();
    map.insert("io.containerd.image.name".into(), json!(qualified(name, reference)));
    map.insert("org.opencontainers.image.ref.name".into(), json!(reference));
    Value::Object(map)
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

/// Write the archive of `program`'s `image` for `arch`, tagged `tag`, its index.json
/// descriptor with `annotations`, to target/hello/<arch>/<program>.image.tar.
pub fn write_archive(
    program: &Program,
    arch: &Arch,
    image: &Image,
    tag: &str,
    annotations: &Annotations,
) -> Result<PathBuf> {
    let path = paths::image_archive(program, arch);
    let archive = archive(&Tagged { arch, image, tag: tag.to_string() }, annotations)?;
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
        assert_eq!(config["config"].get("ExposedPorts"), None, "pause listens on nothing");
    }

    #[test]
    fn a_server_exposes_its_port() {
        let arch = Arch::find("x86_64").unwrap();
        let httpd = Program::find("httpd").unwrap();
        let image = image(httpd, arch, b"\x7fELF not really").unwrap();
        let config: Value = serde_json::from_slice(&image.config.bytes).unwrap();
        assert_eq!(config["config"]["ExposedPorts"], json!({"8080/tcp": {}}));
        assert_eq!(config["config"]["User"], "65534:65534");
    }

    fn pause_annotations() -> Annotations {
        Annotations {
            source: Some("https://example.com/me/hello".into()),
            revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
            created: Some("1970-01-01T00:00:00Z".into()),
            version: Some("0.1.0".into()),
            title: Some("pause".into()),
        }
    }

    #[test]
    fn manifests_are_lean_unless_annotated() {
        let arch = Arch::find("x86_64").unwrap();
        let mut image = image_at(Program::find("pause").unwrap(), arch, b"\x7fELF fake", 0).unwrap();
        let lean: Value = serde_json::from_slice(&image.manifest.bytes).unwrap();
        assert_eq!(lean.get("annotations"), None);
        let (config, layer) = (image.config.digest.clone(), image.layer.digest.clone());
        image.annotate_manifest(&pause_annotations()).unwrap();
        let annotated: Value = serde_json::from_slice(&image.manifest.bytes).unwrap();
        assert_eq!(annotated["annotations"], Value::Object(pause_annotations().to_json()));
        assert_eq!((image.config.digest, image.layer.digest), (config, layer));
    }

    #[test]
    fn index_annotations_only_when_there_are_some() {
        let arch = Arch::find("x86_64").unwrap();
        let image = image_at(Program::find("pause").unwrap(), arch, b"\x7fELF fake", 0).unwrap();
        let plain: Value =
            serde_json::from_slice(&index([(arch, &image)].into_iter(), &Annotations::default()).unwrap().bytes)
                .unwrap();
        assert_eq!(plain.get("annotations"), None);
        let annotated = index([(arch, &image)].into_iter(), &pause_annotations()).unwrap();
        let annotated: Value = serde_json::from_slice(&annotated.bytes).unwrap();
        assert_eq!(annotated["annotations"]["org.opencontainers.image.title"], "pause");
        assert_eq!(annotated["manifests"], plain["manifests"]);
    }

    #[test]
    fn descriptor_annotations_keep_the_name() {
        let d = descriptor_annotations("pause", "latest", &pause_annotations());
        assert_eq!(d["io.containerd.image.name"], "docker.io/library/pause:latest");
        assert_eq!(d["org.opencontainers.image.ref.name"], "latest");
        assert_eq!(d["org.opencontainers.image.version"], "0.1.0");
        assert_eq!(d.as_object().unwrap().len(), 7);
        assert_eq!(descriptor_annotations("pause", "v1", &Annotations::default()).as_object().unwrap().len(), 2);
    }
}
