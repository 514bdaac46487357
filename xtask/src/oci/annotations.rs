//! The OCI annotations of our images, the five that ko and apko write (image-spec
//! annotations.md): where the source is, which commit, when, which version, what.
//!
//! They are collected once per command from the git checkout, the program's crate,
//! SOURCE_DATE_EPOCH and the flags; image.rs puts them on the image index, in each
//! archive's index.json descriptor, and on each platform's manifest only when asked
//! (`--manifest-annotations`), so that a one-platform pull stays small. Nothing here
//! reads the clock: the same commit gives the same bytes.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use xshell::{Shell, cmd};

use crate::{oci::image, paths, program::Program};

/// The URL of the source the image was built from.
pub const SOURCE: &str = "org.opencontainers.image.source";
/// The commit of that source.
pub const REVISION: &str = "org.opencontainers.image.revision";
/// When the image was built: RFC 3339, from SOURCE_DATE_EPOCH (default 0).
pub const CREATED: &str = "org.opencontainers.image.created";
/// The program crate's version.
pub const VERSION: &str = "org.opencontainers.image.version";
/// The program's name.
pub const TITLE: &str = "org.opencontainers.image.title";

/// The annotations of one program's images; a field that is None is left out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Annotations {
    pub source: Option<String>,
    pub revision: Option<String>,
    pub created: Option<String>,
    pub version: Option<String>,
    pub title: Option<String>,
}

impl Annotations {
    /// The annotations of `program`'s images: `source` if given, else the git remote
    /// `origin` as an https URL (none without one); the commit checked out (none
    /// outside a git checkout); SOURCE_DATE_EPOCH; the crate's version; its name.
    pub fn collect(sh: &Shell, program: &Program, source: Option<&str>) -> Result<Annotations> {
        Annotations::collect_at(sh, program, source, image::mtime()?)
    }

    /// `collect`, created at `epoch` seconds since 1970 instead of SOURCE_DATE_EPOCH.
    pub fn collect_at(sh: &Shell, program: &Program, source: Option<&str>, epoch: u64) -> Result<Annotations> {
        let root = paths::project_root();
        let checkout = Checkout::at(sh, &root);
        let source = match source {
            Some(url) => Some(checked_url(url)?),
            None => checkout.as_ref().and_then(|c| c.origin.as_deref()).and_then(https_source),
        };
        Ok(Annotations {
            source,
            revision: checkout.map(|c| c.revision),
            created: Some(rfc3339(epoch)?),
            version: Some(crate_version(&root, program)?),
            title: Some(program.name.to_string()),
        })
    }

    /// The annotations as a JSON object, keyed by their OCI names; None fields left out.
    pub fn to_json(&self) -> Map<String, Value> {
        [
            (SOURCE, &self.source),
            (REVISION, &self.revision),
            (CREATED, &self.created),
            (VERSION, &self.version),
            (TITLE, &self.title),
        ]
        .into_iter()
        .filter_map(|(key, value)| Some((key.to_string(), Value::String(value.clone()?))))
        .collect()
    }
}

/// `--source URL` and `--manifest-annotations`, on the commands that write images.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct AnnotationArgs {
    /// The org.opencontainers.image.source annotation (default: the git remote origin,
    /// as an https URL; none without one)
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// Put the annotations on each platform's manifest too, not only on the index (a
    /// one-platform pull then moves a few hundred bytes more)
    #[arg(long)]
    pub manifest_annotations: bool,
}

impl AnnotationArgs {
    /// The annotations of `program`'s images with these flags.
    pub fn resolve_for(&self, sh: &Shell, program: &Program) -> Result<Annotations> {
        Annotations::collect(sh, program, self.source.as_deref())
    }
}

/// What git says of the checkout the project is: its commit and its `origin` URL.
struct Checkout {
    revision: String,
    origin: Option<String>,
}

impl Checkout {
    /// None outside a git checkout, without git, or when `root` is only a folder inside
    /// another project's checkout (that commit is not ours).
    fn at(sh: &Shell, root: &Path) -> Option<Checkout> {
        let said = git(sh, root, &["rev-parse", "--show-toplevel", "HEAD"])?;
        let (toplevel, revision) = said.split_once('\n')?;
        let same = |a: &Path, b: &Path| a.canonicalize().ok().is_some_and(|a| b.canonicalize().ok() == Some(a));
        let revision = revision.trim();
        if !same(Path::new(toplevel.trim()), root) || revision.is_empty() {
            return None;
        }
        if !revision.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Checkout { revision: revision.to_string(), origin: git(sh, root, &["remote", "get-url", "origin"]) })
    }
}

/// What `git -C root ARGS` prints, trimmed; None when it fails or prints nothing.
fn git(sh: &Shell, root: &Path, args: &[&str]) -> Option<String> {
    let out = cmd!(sh, "git -C {root} {args...}").quiet().ignore_stderr().read().ok()?;
    let out = out.trim();
    (!out.is_empty()).then(|| out.to_string())
}

/// `--source` as given, once it is seen to be a URL with a host.
fn checked_url(given: &str) -> Result<String> {
    let url = url::Url::parse(given).with_context(|| format!("--source {given} is not a URL"))?;
    if url.host_str().is_none_or(str::is_empty) {
        bail!("--source {given} is not a URL with a host (give one like https://github.com/OWNER/REPO)");
    }
    Ok(given.to_string())
}

/// The web address of a git remote, as ko and apko give it: `git@host:owner/repo.git`
/// and `ssh://git@host/owner/repo.git` become `https://host/owner/repo`; an http(s)
/// URL keeps its scheme and loses its credentials and `.git`. None for a remote that
/// is a local path or a file:// URL: no one else can fetch that.
pub fn https_source(remote: &str) -> Option<String> {
    let remote = remote.trim();
    let (scheme, host, path) = match remote.split_once("://") {
        Some((scheme, _)) => {
            let url = url::Url::parse(remote).ok()?;
            let host = url.host_str().filter(|h| !h.is_empty())?;
            match scheme {
                // The web server's port, when the remote names one.
                "https" | "http" => {
                    let host = url.port().map_or_else(|| host.to_string(), |port| format!("{host}:{port}"));
                    (scheme, host, url.path().to_string())
                }
                // An ssh port is not the web server's.
                "ssh" | "git+ssh" | "ssh+git" | "git" => ("https", host.to_string(), url.path().to_string()),
                _ => return None,
            }
        }
        // scp-like `[user@]host:path`: git reads a colon before any slash this way.
        None => {
            let (user_host, path) = remote.split_once(':')?;
            let host = user_host.rsplit_once('@').map_or(user_host, |(_, host)| host);
            if host.is_empty() || user_host.contains('/') {
                return None;
            }
            ("https", host.to_string(), path.to_string())
        }
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path).trim_end_matches('/');
    if path.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}/{path}"))
}

/// `secs` since 1970 as RFC 3339 in UTC (`2023-11-14T22:13:20Z`); refused past the
/// year 9999, which RFC 3339 cannot write.
pub fn rfc3339(secs: u64) -> Result<String> {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    if year > 9999 {
        bail!("SOURCE_DATE_EPOCH={secs} is after the year 9999: give seconds since 1970");
    }
    let (hour, minute, second) = (rest / 3600, rest % 3600 / 60, rest % 60);
    Ok(format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z"))
}

/// (year, month, day) of the day `days` after 1970-01-01 in the proleptic Gregorian
/// calendar: Howard Hinnant's `civil_from_days`, for days on or after the epoch. The
/// calendar repeats every 400 years (146097 days); counting from 0000-03-01 puts the
/// leap day at the end of each year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z / 146_097;
    let doe = z - era * 146_097; // day of the era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of the era, 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the year from March 1, 0..=365
    let mp = (5 * doy + 2) / 153; // month from March, 0..=11
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The version in crates/<program>/Cargo.toml (or the workspace's, for
/// `version.workspace = true`).
fn crate_version(root: &Path, program: &Program) -> Result<String> {
    let read = |path: &Path| -> Result<toml::Table> {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))
    };
    let path = root.join("crates").join(program.name).join("Cargo.toml");
    let manifest = read(&path)?;
    package_version(&manifest, || read(&root.join("Cargo.toml")))?
        .with_context(|| format!("{} has no package.version", path.display()))
}

/// package.version of a crate's manifest; `workspace` reads the workspace manifest
/// when the crate inherits its version.
fn package_version(manifest: &toml::Table, workspace: impl FnOnce() -> Result<toml::Table>) -> Result<Option<String>> {
    let version = manifest.get("package").and_then(|p| p.get("version"));
    match version {
        Some(toml::Value::String(v)) => Ok(Some(v.clone())),
        Some(toml::Value::Table(t)) if t.get("workspace") == Some(&toml::Value::Boolean(true)) => {
            let workspace = workspace()?;
            let v = workspace.get("workspace").and_then(|w| w.get("package")).and_then(|p| p.get("version"));
            Ok(v.and_then(|v| v.as_str()).map(str::to_string))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000).unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(94_694_399).unwrap(), "1972-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_799).unwrap(), "9999-12-31T23:59:59Z");
        assert!(rfc3339(253_402_300_800).unwrap_err().to_string().contains("after the year 9999"));
    }

    #[test]
    fn leap_days() {
        assert_eq!(rfc3339(1_709_164_800).unwrap(), "2024-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_709_164_800 + 86_400).unwrap(), "2024-03-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400).unwrap(), "2000-02-29T00:00:00Z"); // 400-year rule
        assert_eq!(rfc3339(4_107_542_400).unwrap(), "2100-03-01T00:00:00Z"); // 2100 has none
        assert_eq!(rfc3339(4_107_542_400 - 1).unwrap(), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn git_remotes_become_web_addresses() {
        let https = |r| https_source(r);
        assert_eq!(https("git@github.com:me/hello.git").as_deref(), Some("https://github.com/me/hello"));
        assert_eq!(https("git@github.com:me/hello").as_deref(), Some("https://github.com/me/hello"));
        assert_eq!(
            https("git@gitlab.com:group/sub/hello.git\n").as_deref(),
            Some("https://gitlab.com/group/sub/hello")
        );
        assert_eq!(https("ssh://git@github.com/me/hello.git").as_deref(), Some("https://github.com/me/hello"));
        assert_eq!(https("ssh://git@host.example:2222/me/hello.git").as_deref(), Some("https://host.example/me/hello"));
        assert_eq!(https("https://github.com/me/hello.git").as_deref(), Some("https://github.com/me/hello"));
        assert_eq!(https("https://github.com/me/hello/").as_deref(), Some("https://github.com/me/hello"));
        // A token in the remote must not end up in an image.
        assert_eq!(https("https://me:ghp_secret@github.com/me/hello").as_deref(), Some("https://github.com/me/hello"));
        assert_eq!(https("http://git.local:3000/me/hello.git").as_deref(), Some("http://git.local:3000/me/hello"));
        assert_eq!(https("/srv/git/hello.git"), None);
        assert_eq!(https("../hello"), None);
        assert_eq!(https("./a:b"), None);
        assert_eq!(https("file:///srv/git/hello.git"), None);
        assert_eq!(https("git@github.com:"), None);
    }

    #[test]
    fn source_flag_must_be_a_url() {
        assert_eq!(checked_url("https://github.com/me/hello").unwrap(), "https://github.com/me/hello");
        assert!(checked_url("not a url").unwrap_err().to_string().contains("--source not a url is not a URL"));
        assert!(checked_url("mailto:me@example.com").is_err());
    }

    #[test]
    fn keys_are_the_oci_names_and_none_is_left_out() {
        let all = Annotations {
            source: Some("https://github.com/me/hello".into()),
            revision: Some("0123abcd".into()),
            created: Some("1970-01-01T00:00:00Z".into()),
            version: Some("0.1.0".into()),
            title: Some("pause".into()),
        };
        let json = all.to_json();
        let keys: Vec<&str> = json.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "org.opencontainers.image.created",
                "org.opencontainers.image.revision",
                "org.opencontainers.image.source",
                "org.opencontainers.image.title",
                "org.opencontainers.image.version",
            ]
        );
        assert_eq!(json[TITLE], "pause");
        assert_eq!(json[SOURCE], "https://github.com/me/hello");
        let some = Annotations { source: None, revision: None, ..all };
        assert_eq!(some.to_json().len(), 3);
        assert!(!some.to_json().contains_key(SOURCE));
        assert!(Annotations::default().to_json().is_empty());
    }

    #[test]
    fn versions_from_the_crate_or_the_workspace() {
        let table = |s: &str| toml::from_str::<toml::Table>(s).unwrap();
        let no_workspace = || -> Result<toml::Table> { panic!("the workspace manifest is not needed") };
        let own = table("[package]\nname = \"pause\"\nversion = \"1.2.3\"\n");
        assert_eq!(package_version(&own, no_workspace).unwrap().as_deref(), Some("1.2.3"));
        let inherits = table("[package]\nname = \"pause\"\nversion.workspace = true\n");
        let workspace = || Ok(table("[workspace.package]\nversion = \"0.4.0\"\n"));
        assert_eq!(package_version(&inherits, workspace).unwrap().as_deref(), Some("0.4.0"));
        assert_eq!(package_version(&table("[package]\nname = \"x\"\n"), no_workspace).unwrap(), None);
    }

    #[test]
    fn collected_for_pause() {
        let sh = Shell::new().unwrap();
        let pause = Program::find("pause").unwrap();
        let a = Annotations::collect_at(&sh, pause, Some("https://example.com/hello"), 1_700_000_000).unwrap();
        assert_eq!(a.title.as_deref(), Some("pause"));
        assert_eq!(a.created.as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(a.source.as_deref(), Some("https://example.com/hello"));
        assert!(a.version.is_some());
        assert!(Annotations::collect_at(&sh, pause, Some("nope"), 0).is_err());
    }
}
