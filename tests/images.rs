//! The images, built both ways (`xtask image` and `docker build -f Dockerfiles/<arch>`),
//! run under Docker with no privileges, no network and a read-only root.
//! These tests need a Docker engine (setup.sh starts one); without it they fail.

mod common;

use std::{fs, io::Read};

use sha2::Digest;

use common::*;
use xshell::Shell;
use xtask::{arch::Arch, docker::Docker, message::DEFAULT, oci::annotations::Annotations};

/// `docker run` the image the way a careful user would, for its own platform.
fn run_image(docker: &Docker, arch: &Arch, image: &str) -> std::process::Output {
    let platform = arch.platform.docker();
    docker_cmd(
        docker,
        &["run", "--rm", "--read-only", "--cap-drop", "ALL", "--network", "none", "--platform", &platform, image],
    )
}

/// What `docker image inspect` says of the image, checked field by field.
fn check_inspect(docker: &Docker, arch: &Arch, image: &str, binary_len: usize) {
    let sh = Shell::new().unwrap();
    let field = |f: &str| docker.inspect(&sh, image, f).unwrap();
    let name = arch.name;
    assert_eq!(field("{{.Size}}"), binary_len.to_string(), "{name}: image size is not the binary's");
    assert_eq!(field("{{.Os}}"), arch.platform.os, "{name}: os");
    assert_eq!(field("{{.Architecture}}"), arch.platform.architecture, "{name}: architecture");
    assert_eq!(field("{{.Variant}}"), arch.platform.variant.unwrap_or(""), "{name}: variant");
    assert_eq!(field("{{.Config.User}}"), "65534:65534", "{name}: user");
    assert_eq!(field("{{json .Config.Entrypoint}}"), r#"["/hello"]"#, "{name}: entrypoint");
    assert_eq!(field("{{len .RootFS.Layers}}"), "1", "{name}: layers");
}

fn check_runs(docker: &Docker, arch: &Arch, image: &str, message: &[u8]) {
    let out = run_image(docker, arch, image);
    assert_eq!(out.stdout, message, "{}: {image} output", arch.name);
    assert!(out.stderr.is_empty(), "{}: {image} stderr: {}", arch.name, String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{}: {image} exit status", arch.name);
}

#[test]
fn xtask_images_run_and_say_what_they_are() {
    let docker = docker();
    for arch in all_arches() {
        xtask_ok(&["image", arch.name]);
        let image = format!("hello:{}", arch.name);
        let binary = fs::read(xtask::paths::binary(hello(), arch)).unwrap();
        check_runs(&docker, arch, &image, DEFAULT);
        check_inspect(&docker, arch, &image, binary.len());
        assert_eq!(file_in_image(&docker, &image, "/hello"), binary, "{}: the image holds other bytes", arch.name);
    }
}

#[test]
fn image_archives_are_the_same_every_time() {
    for arch in all_arches() {
        let path = xtask::paths::image_archive(hello(), arch);
        xtask_ok(&["image", arch.name, "--no-load"]);
        let first = fs::read(&path).unwrap();
        blobs_checked(&first);
        xtask_ok(&["image", arch.name, "--no-load"]);
        assert_eq!(fs::read(&path).unwrap(), first, "{}: archive differs between runs", arch.name);
        // The layer: one regular file `hello`, 0755, owned by 0:0, no time of the build.
        let image =
            xtask::oci::image::image(hello(), arch, &fs::read(xtask::paths::binary(hello(), arch)).unwrap()).unwrap();
        let tar_bytes = gunzip(&image.layer.bytes);
        assert_eq!(image.diff_id, format!("sha256:{:x}", sha2::Sha256::digest(&tar_bytes)), "{}: diff_id", arch.name);
        let mut layer = tar::Archive::new(tar_bytes.as_slice());
        let entries: Vec<_> = layer.entries().unwrap().map(|e| e.unwrap().header().clone()).collect();
        assert_eq!(entries.len(), 1, "{}: the layer holds more than one entry", arch.name);
        let h = &entries[0];
        assert_eq!(h.path().unwrap().to_str(), Some("hello"));
        assert_eq!((h.mode().unwrap(), h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()), (0o755, 0, 0, 0));
    }
}

/// SOURCE_DATE_EPOCH dates every file: the layer's `hello` and each archive entry;
/// a value that is not seconds is one error line and no archive.
#[test]
fn source_date_epoch_dates_every_file() {
    let arch = xtask::arch::Arch::find("armv7").unwrap();
    let binary = fs::read(build_default(arch)).unwrap();
    let image = xtask::oci::image::image_at(hello(), arch, &binary, 1_700_000_000).unwrap();
    let layer = gunzip(&image.layer.bytes);
    let times: Vec<u64> =
        tar::Archive::new(layer.as_slice()).entries().unwrap().map(|e| e.unwrap().header().mtime().unwrap()).collect();
    assert_eq!(times, [1_700_000_000]);
    let tagged = xtask::oci::image::Tagged { arch, image: &image, tag: "hello:armv7".into() };
    let archive = xtask::oci::image::archive(&tagged, &Annotations::default()).unwrap();
    let mut outer = tar::Archive::new(archive.as_slice());
    assert!(outer.entries().unwrap().all(|e| e.unwrap().header().mtime().unwrap() == 1_700_000_000));
    assert_ne!(image.layer.digest, xtask::oci::image::image_at(hello(), arch, &binary, 0).unwrap().layer.digest);

    // The archive a good run wrote stays as it was.
    xtask_ok(&["image", "armv7", "--no-load"]);
    let path = xtask::paths::image_archive(hello(), arch);
    let before = fs::read(&path).unwrap();
    let failed = xtask_with_env(&["image", "armv7", "--no-load"], &[("SOURCE_DATE_EPOCH", "yesterday")]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(one_error_line(&failed).contains("SOURCE_DATE_EPOCH=yesterday is not a number"));
    assert_eq!(fs::read(&path).unwrap(), before);
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("the layer is gzip");
    out
}

/// What `docker pull` of one platform transfers: manifest, config and layer, under
/// the committed ceiling of 1024 bytes (Docker's hello-world: about 11 KB).
#[test]
fn one_platform_pulls_in_under_1024_bytes() {
    for arch in all_arches() {
        let image = xtask::oci::image::image(hello(), arch, &fs::read(build_default(arch)).unwrap()).unwrap();
        let pull = image.manifest.bytes.len() + image.config.bytes.len() + image.layer.bytes.len();
        assert!(pull < xtask::oci::image::PULL_BYTES_CEILING, "{}: a pull moves {pull} bytes", arch.name);
    }
}

#[test]
fn image_without_an_engine_says_so_in_one_line() {
    let out = xtask_with_env(&["image", "x86_64"], &[("DOCKER", "/nonexistent/docker")]);
    assert_eq!(out.status.code(), Some(1));
    let line = one_error_line(&out);
    assert!(line.contains("no Docker engine answered"), "{line}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Compiling"), "built before asking for the engine");
}

/// The Dockerfiles build from source in a Debian builder; the result must be the very
/// bytes `cargo xtask build` gives on the host.
#[test]
fn dockerfile_images_hold_the_same_bytes() {
    let docker = docker();
    for arch in all_arches() {
        let image = check_dockerfile_bytes(&docker, hello(), arch);
        let binary = fs::read(build_default(arch)).unwrap();
        check_runs(&docker, arch, &image, DEFAULT);
        check_inspect(&docker, arch, &image, binary.len());
    }
}

#[test]
fn dockerfile_takes_a_message() {
    let docker = docker();
    let arch = Arch::find("aarch64").unwrap();
    let message = "Grüße aus dem Container\nzweite Zeile\n";
    let image = "hello-dockerfile-message:aarch64";
    xtask_ok(&["docker-build", arch.name, "--tag", image, "--message", message]);
    check_runs(&docker, arch, image, message.as_bytes());
}

/// Every file under blobs/ in an archive, checked against the digest it is named by.
fn blobs_checked(archive: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    for entry in tar::Archive::new(archive).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_str().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if let Some(hex) = path.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            assert_eq!(format!("{:x}", sha2::Sha256::digest(&bytes)), hex, "blob {path} is not what its name says");
        }
        files.insert(path, bytes);
    }
    files
}

fn blob<'a>(files: &'a std::collections::BTreeMap<String, Vec<u8>>, digest: &serde_json::Value) -> &'a [u8] {
    let hex = digest.as_str().unwrap().strip_prefix("sha256:").unwrap();
    files.get(&format!("blobs/sha256/{hex}")).unwrap_or_else(|| panic!("no blob {hex}"))
}

#[test]
fn the_index_names_every_platform_and_holds_every_blob() {
    xtask_ok(&["index"]);
    let archive = fs::read(xtask::paths::index_archive(hello())).unwrap();
    let files = blobs_checked(&archive);
    let top: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
    assert_eq!(top["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "latest");
    let index: serde_json::Value = serde_json::from_slice(blob(&files, &top["manifests"][0]["digest"])).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), xtask::arch::ARCHES.len());
    for arch in all_arches() {
        let p = &arch.platform;
        let want_variant = p.variant.or((p.architecture == "arm64").then_some("v8"));
        let entry = manifests
            .iter()
            .find(|m| {
                m["platform"]["architecture"] == p.architecture && m["platform"]["variant"].as_str() == want_variant
            })
            .unwrap_or_else(|| panic!("{}: no manifest for {}", arch.name, p.docker()));
        assert_eq!(entry["platform"]["os"], "linux");
        let manifest: serde_json::Value = serde_json::from_slice(blob(&files, &entry["digest"])).unwrap();
        let config: serde_json::Value = serde_json::from_slice(blob(&files, &manifest["config"]["digest"])).unwrap();
        assert_eq!(config["architecture"], p.architecture, "{}", arch.name);
        let layer = gunzip(blob(&files, &manifest["layers"][0]["digest"]));
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            format!("sha256:{:x}", sha2::Sha256::digest(&layer)),
            "{}",
            arch.name
        );
        let mut tar = tar::Archive::new(layer.as_slice());
        let mut file = tar.entries().unwrap().next().unwrap().unwrap();
        let mut binary = Vec::new();
        file.read_to_end(&mut binary).unwrap();
        assert_eq!(
            binary,
            fs::read(xtask::paths::binary(hello(), arch)).unwrap(),
            "{}: the index holds other bytes",
            arch.name
        );
    }
    // Older engines read manifest.json: one entry per arch, tagged hello:<arch>.
    let docker: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let tags: Vec<&str> = docker.as_array().unwrap().iter().map(|m| m["RepoTags"][0].as_str().unwrap()).collect();
    let want: Vec<String> = all_arches().map(|a| format!("hello:{}", a.name)).collect();
    assert_eq!(tags, want);
}

/// The report's index line: the bytes of the OCI index over the reported platforms,
/// annotated as `push` annotates it.
#[test]
fn the_report_gives_the_index_bytes() {
    let out = xtask(&["report", "--no-docker", "x86_64", "armv7"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let images: Vec<_> = ["x86_64", "armv7"]
        .iter()
        .map(|name| {
            let arch = Arch::find(name).unwrap();
            (arch, xtask::oci::image::image(hello(), arch, &fs::read(build_default(arch)).unwrap()).unwrap())
        })
        .collect();
    let annotations = Annotations::collect(&Shell::new().unwrap(), hello(), None).unwrap();
    assert!(annotations.title.is_some(), "{annotations:?}");
    let index = xtask::oci::image::index(images.iter().map(|(arch, image)| (*arch, image)), &annotations).unwrap();
    let want = format!("image index over these 2 platforms: {} bytes", index.bytes.len());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&want), "no `{want}` in the report");
}
