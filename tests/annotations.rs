//! The OCI annotations (source, revision, created, version, title) as ko and apko
//! write them: on the image index, in each archive's index.json descriptor, on each
//! manifest only with `--manifest-annotations`; the same bytes on every run.
//!
//! Library-level: fake images from `xtask::oci::image::image_at`, no build, no engine. The
//! command line is checked only where it answers before building anything.

mod common;

use std::{collections::BTreeMap, io::Read, process::Command};

use serde_json::Value;
use xshell::Shell;
use xtask::{
    arch::Arch,
    oci::{
        annotations::{self, Annotations},
        image::{self, Image, Tagged},
    },
    program::Program,
};

use common::{one_error_line, xtask, xtask_with_env};

const SOURCE: &str = "https://example.com/me/hello";
const KEYS: [&str; 5] = [
    "org.opencontainers.image.created",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.source",
    "org.opencontainers.image.title",
    "org.opencontainers.image.version",
];

fn pause() -> &'static Program {
    Program::find("pause").unwrap()
}

fn arches() -> Vec<&'static Arch> {
    ["x86_64", "aarch64", "armv7"].iter().map(|name| Arch::find(name).unwrap()).collect()
}

/// A fake binary per arch (not an ELF file anyone runs), imaged at time 0.
fn fake_images() -> Vec<(&'static Arch, Image)> {
    arches()
        .into_iter()
        .map(|arch| {
            let binary = format!("\x7fELF fake {}", arch.name);
            (arch, image::image_at(pause(), arch, binary.as_bytes(), 0).unwrap())
        })
        .collect()
}

/// The annotations `index --program pause --source SOURCE` collects, created at `epoch`.
fn collected(epoch: u64) -> Annotations {
    Annotations::collect_at(&Shell::new().unwrap(), pause(), Some(SOURCE), epoch).unwrap()
}

/// Each image tagged `pause:<arch>`, as `index` tags them.
fn tagged<'a>(images: &'a [(&'static Arch, Image)]) -> Vec<Tagged<'a>> {
    images.iter().map(|(arch, image)| Tagged { arch, image, tag: format!("pause:{}", arch.name) }).collect()
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON")
}

/// path -> bytes of every file in a tar archive.
fn files(archive: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in tar::Archive::new(archive).entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.insert(path, bytes);
    }
    files
}

fn blob<'a>(files: &'a BTreeMap<String, Vec<u8>>, digest: &Value) -> &'a [u8] {
    let hex = digest.as_str().unwrap().strip_prefix("sha256:").unwrap();
    files.get(&format!("blobs/sha256/{hex}")).unwrap_or_else(|| panic!("no blob {hex}"))
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").arg("-C").arg(xtask::paths::project_root()).args(args).output().ok()?;
    let out = String::from_utf8(out.stdout).ok().filter(|_| out.status.success())?;
    Some(out.trim().to_string()).filter(|s| !s.is_empty())
}

/// crates/pause/Cargo.toml's package.version, read here on its own.
fn pause_version() -> String {
    let path = xtask::paths::project_root().join("crates/pause/Cargo.toml");
    let manifest: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    manifest["package"]["version"].as_str().expect("crates/pause sets its own version").to_string()
}

#[test]
fn the_index_carries_the_five_annotations() {
    let head_before = git(&["rev-parse", "HEAD"]);
    let annotations = collected(0);
    let head_after = git(&["rev-parse", "HEAD"]);
    let images = fake_images();
    let index = image::index(images.iter().map(|(a, i)| (*a, i)), &annotations).unwrap();
    let index = json(&index.bytes);
    let got = index["annotations"].as_object().expect("the index has annotations");
    match head_before {
        Some(_) => {
            let revision = got["org.opencontainers.image.revision"].as_str().unwrap();
            assert!(
                Some(revision) == head_before.as_deref() || Some(revision) == head_after.as_deref(),
                "revision {revision}, HEAD {head_before:?}"
            );
            assert_eq!(got.keys().map(String::as_str).collect::<Vec<_>>(), KEYS);
        }
        None => assert!(!got.contains_key("org.opencontainers.image.revision"), "no checkout, yet {got:?}"),
    }
    assert_eq!(got["org.opencontainers.image.source"], SOURCE);
    assert_eq!(got["org.opencontainers.image.created"], "1970-01-01T00:00:00Z");
    assert_eq!(got["org.opencontainers.image.version"], pause_version());
    assert_eq!(got["org.opencontainers.image.title"], "pause");
    assert_eq!(index["manifests"].as_array().unwrap().len(), 3);
}

/// Without `--source`, the source is the git remote `origin` as a web address, or none.
#[test]
fn the_source_defaults_to_the_origin_remote() {
    let annotations = Annotations::collect_at(&Shell::new().unwrap(), pause(), None, 0).unwrap();
    let origin = git(&["remote", "get-url", "origin"]).filter(|_| git(&["rev-parse", "HEAD"]).is_some());
    assert_eq!(annotations.source, origin.as_deref().and_then(annotations::https_source));
    if annotations.source.is_none() {
        assert!(!annotations.to_json().contains_key("org.opencontainers.image.source"));
    }
}

#[test]
fn manifests_are_lean_by_default() {
    let images = fake_images();
    let (index, archive) = image::index_archive(&tagged(&images), "pause:latest", &collected(0)).unwrap();
    let files = files(&archive);
    for entry in json(&index.bytes)["manifests"].as_array().unwrap() {
        let manifest = json(blob(&files, &entry["digest"]));
        assert_eq!(manifest.get("annotations"), None, "{manifest}");
    }
    for (arch, image) in &images {
        let pull = image.manifest.bytes.len() + image.config.bytes.len() + image.layer.bytes.len();
        // The fake binary is about 20 bytes; the real ones are under 200.
        assert!(pull + 200 < image::PULL_BYTES_CEILING, "{}: a pull moves {pull} bytes", arch.name);
    }
}

#[test]
fn manifest_annotations_put_them_on_every_manifest() {
    let annotations = collected(0);
    let mut images = fake_images();
    let lean: Vec<String> = images.iter().map(|(_, i)| i.manifest.digest.clone()).collect();
    for (_, image) in &mut images {
        image.annotate_manifest(&annotations).unwrap();
    }
    let (index, archive) = image::index_archive(&tagged(&images), "pause:latest", &annotations).unwrap();
    let files = files(&archive);
    let index = json(&index.bytes);
    for entry in index["manifests"].as_array().unwrap() {
        assert!(!lean.contains(&entry["digest"].as_str().unwrap().to_string()), "the index names a lean manifest");
        let manifest = json(blob(&files, &entry["digest"]));
        assert_eq!(manifest["annotations"], index["annotations"]);
    }
}

#[test]
fn the_index_json_descriptor_carries_them() {
    let annotations = collected(0);
    let images = fake_images();
    let want = |descriptor: &Value, reference: &str| {
        let got = descriptor["annotations"].as_object().unwrap();
        for (key, value) in annotations.to_json() {
            assert_eq!(got[&key], value, "{key}");
        }
        assert_eq!(got["org.opencontainers.image.ref.name"], reference);
        assert_eq!(got["io.containerd.image.name"], format!("docker.io/library/pause:{reference}"));
        assert_eq!(got.len(), annotations.to_json().len() + 2);
    };

    let (index, archive) = image::index_archive(&tagged(&images), "pause:latest", &annotations).unwrap();
    let top = json(&files(&archive)["index.json"]);
    assert_eq!(top["manifests"][0]["digest"], index.digest);
    want(&top["manifests"][0], "latest");

    let (arch, image) = &images[0];
    let one = Tagged { arch, image, tag: "pause:x86_64".into() };
    let archive = image::archive(&one, &annotations).unwrap();
    want(&json(&files(&archive)["index.json"])["manifests"][0], "x86_64");
}

#[test]
fn two_runs_give_the_same_bytes() {
    let run = || {
        let images = fake_images();
        let (_, index_archive) = image::index_archive(&tagged(&images), "pause:latest", &collected(0)).unwrap();
        let one = Tagged { arch: images[0].0, image: &images[0].1, tag: "pause:x86_64".into() };
        (index_archive, image::archive(&one, &collected(0)).unwrap())
    };
    assert!(run() == run(), "two runs wrote different archives");
}

/// serde_json's map keeps keys sorted: the bytes have them in one order.
#[test]
fn keys_come_sorted_in_the_bytes() {
    let images = fake_images();
    let index = image::index(images.iter().map(|(a, i)| (*a, i)), &collected(0)).unwrap();
    let text = String::from_utf8(index.bytes).unwrap();
    let at = |keys: &[&str]| -> Vec<usize> {
        keys.iter().map(|k| text.find(&format!("\"{k}\"")).unwrap_or_else(|| panic!("no {k} in {text}"))).collect()
    };
    assert!(at(&["annotations", "manifests", "mediaType", "schemaVersion"]).is_sorted(), "{text}");
    // revision is there only in a git checkout; the other four always are.
    let always: Vec<&str> = KEYS.into_iter().filter(|k| !k.ends_with("revision")).collect();
    assert!(at(&always).is_sorted(), "annotation keys out of order: {text}");
}

/// SOURCE_DATE_EPOCH=1700000000 gives created 2023-11-14T22:13:20Z. The variable is
/// read from the environment, so this runs `created_from_the_environment` in a child
/// test process that has it.
#[test]
fn source_date_epoch_dates_the_created_annotation() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "created_from_the_environment", "--ignored", "--nocapture", "--test-threads=1"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("created 2023-11-14T22:13:20Z"), "{stdout}");
}

#[test]
#[ignore = "run by source_date_epoch_dates_the_created_annotation, with SOURCE_DATE_EPOCH set"]
fn created_from_the_environment() {
    let annotations = Annotations::collect(&Shell::new().unwrap(), pause(), None).unwrap();
    let images = fake_images();
    let index = image::index(images.iter().map(|(a, i)| (*a, i)), &annotations).unwrap();
    let created = json(&index.bytes)["annotations"]["org.opencontainers.image.created"].clone();
    assert_eq!(created, Value::String(annotations::rfc3339(image::mtime().unwrap()).unwrap()));
    println!("created {}", created.as_str().unwrap());
}

/// index, push and image take --source and --manifest-annotations.
#[test]
fn the_commands_take_the_flags() {
    for command in ["index", "push", "image"] {
        let out = xtask(&[command, "--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("--source <URL>"), "{command} --help:\n{help}");
        assert!(help.contains("--manifest-annotations"), "{command} --help:\n{help}");
    }
}

/// A --source that is not a URL, or a SOURCE_DATE_EPOCH that is not seconds, is one
/// error line before anything is built or any registry is asked.
#[test]
fn bad_annotations_are_refused_before_building() {
    let runs: [&[&str]; 3] = [
        &["index", "--program", "pause"],
        &["push", "--program", "pause", "127.0.0.1:9/pause"],
        &["image", "--program", "pause", "--no-load", "x86_64"],
    ];
    for args in runs {
        let out = xtask(&[args, &["--source", "not a url"]].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(one_error_line(&out).contains("--source not a url is not a URL"), "{args:?}");
        let out = xtask_with_env(args, &[("SOURCE_DATE_EPOCH", "yesterday")]);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(one_error_line(&out).contains("SOURCE_DATE_EPOCH=yesterday is not a number"), "{args:?}");
    }
}
