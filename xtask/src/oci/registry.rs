//! `cargo xtask push`: every arch's image and the index over them to an OCI registry,
//! over the distribution API (opencontainers/distribution-spec): HEAD each blob and
//! upload only the missing ones (POST, then one PUT with the digest), PUT each
//! manifest by digest, then the index under the tag.
//!
//! Plain HTTP for localhost and 127.0.0.0/8 (as Docker treats them), HTTPS otherwise.
//! Credentials come from the Docker config file (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`, `auths.<registry>.auth`), used for HTTP Basic or to fetch
//! a Bearer token, whichever the registry's challenge asks for.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, Result, bail};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde_json::Value;
use ureq::http::{self, HeaderMap, Method};
use url::Url;

use crate::oci::image::Blob;

/// `registry/name[:tag]`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// host or host:port, as in the Docker config's `auths` keys.
    pub registry: String,
    pub name: String,
    pub tag: String,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Self> {
        let usage = || format!("`{text}` is not REGISTRY/NAME[:TAG] (e.g. 127.0.0.1:5000/hello:latest)");
        let (registry, rest) = text.split_once('/').with_context(usage)?;
        let is_host = registry.contains('.') || registry.contains(':') || registry == "localhost";
        if !is_host || rest.is_empty() {
            bail!("{}: name the registry host first", usage());
        }
        let (name, tag) = crate::oci::image::split_tag(rest);
        let valid_name = name.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        });
        let valid_tag = !tag.is_empty()
            && tag.len() <= 128
            && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !valid_name || !valid_tag {
            bail!("{}: names are lowercase letters, digits and . _ - between slashes", usage());
        }
        Ok(Reference { registry: registry.to_string(), name: name.to_string(), tag: tag.to_string() })
    }

    /// Plain HTTP only on this machine's loopback, as Docker does without configuration.
    fn scheme(&self) -> &'static str {
        let host = self.registry.rsplit_once(':').map_or(self.registry.as_str(), |(h, _)| h);
        if host == "localhost" || host.starts_with("127.") || host == "[::1]" { "http" } else { "https" }
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}:{}", self.registry, self.name, self.tag)
    }
}

/// What a registry answered.
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The distribution API's error codes and messages, if the body has them.
    fn errors(&self) -> String {
        let parsed: Option<Value> = serde_json::from_str(&self.body).ok();
        let errors = parsed.as_ref().and_then(|v| v["errors"].as_array()).cloned().unwrap_or_default();
        let texts: Vec<String> = errors
            .iter()
            .map(|e| format!("{} ({})", e["code"].as_str().unwrap_or("?"), e["message"].as_str().unwrap_or("")))
            .collect();
        if texts.is_empty() { self.body.trim().chars().take(200).collect() } else { texts.join(", ") }
    }
}

/// A session with one repository of one registry.
pub struct Registry {
    agent: ureq::Agent,
    base: Url,
    reference: Reference,
    /// `user:password` from the Docker config, if it has an entry for this registry.
    credentials: Option<(String, PathBuf)>,
    /// The Authorization header that worked (Basic, or a Bearer token).
    authorization: Option<String>,
}

/// Blobs uploaded and blobs the registry already had.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub uploaded: usize,
    pub present: usize,
}

impl Registry {
    /// Ask the registry's API root, authenticating if it asks: fails early, with the
    /// reason, when it cannot be reached or refuses us.
    pub fn connect(reference: &Reference) -> Result<Self> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .max_redirects(0)
            .build();
        let base = Url::parse(&format!("{}://{}/", reference.scheme(), reference.registry))
            .with_context(|| format!("`{}` is not a registry address", reference.registry))?;
        let mut registry = Registry {
            agent: config.into(),
            base,
            reference: reference.clone(),
            credentials: credentials(&reference.registry)?,
            authorization: None,
        };
        let answer = registry.send(Method::GET, "v2/", None)?;
        if answer.status != 200 {
            bail!("registry {} answered {} to GET /v2/: {}", reference.registry, answer.status, answer.errors());
        }
        Ok(registry)
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base.join(path).with_context(|| format!("bad registry path {path}"))
    }

    /// One request, authenticating once when the registry challenges it.
    fn send(&mut self, method: Method, path: &str, body: Option<(&[u8], &str)>) -> Result<Answer> {
        let url = self.url(path)?;
        let answer = self.send_once(&method, &url, body)?;
        if answer.status != 401 {
            return Ok(answer);
        }
        let challenge = answer.header("www-authenticate").unwrap_or("").to_string();
        self.authenticate(&challenge)?;
        let answer = self.send_once(&method, &url, body)?;
        if answer.status == 401 {
            bail!("{}", self.refused_credentials());
        }
        Ok(answer)
    }

    fn send_once(&self, method: &Method, url: &Url, body: Option<(&[u8], &str)>) -> Result<Answer> {
        let mut request = http::Request::builder().method(method.clone()).uri(url.as_str());
        if let Some(auth) = &self.authorization {
            request = request.header("Authorization", auth);
        }
        let result = match body {
            Some((bytes, media_type)) => self.agent.run(request.header("Content-Type", media_type).body(bytes)?),
            None if method == Method::POST || method == Method::PUT => {
                self.agent.run(request.header("Content-Length", "0").body(&[][..])?)
            }
            None => self.agent.run(request.body(())?),
        };
        let mut response = result.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach registry {} ({method} {url}): {e}; is it running, and is the address right?",
                self.reference.registry
            )
        })?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = if *method == Method::HEAD { String::new() } else { response.body_mut().read_to_string()? };
        Ok(Answer { status, headers, body })
    }

    /// Answer a `WWW-Authenticate` challenge: Basic with the configured credentials,
    /// or Bearer with a token fetched from the realm it names.
    fn authenticate(&mut self, challenge: &str) -> Result<()> {
        let Some((user_password, _)) = &self.credentials else {
            bail!(
                "registry {} wants credentials and {} has none for it: run `docker login {}`",
                self.reference.registry,
                config_path().display(),
                self.reference.registry
            );
        };
        let basic = format!("Basic {}", BASE64.encode(user_password));
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            self.authorization = Some(basic);
            return Ok(());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            bail!(
                "registry {} asks for `{challenge}` authentication, which push does not speak",
                self.reference.registry
            );
        }
        let params = challenge_params(params);
        let realm = params.iter().find(|(k, _)| k == "realm").map(|(_, v)| v.as_str()).with_context(|| {
            format!("registry {}'s Bearer challenge names no realm: {challenge}", self.reference.registry)
        })?;
        let mut token_url = Url::parse(realm).with_context(|| format!("bad token realm {realm}"))?;
        let scope = format!("repository:{}:pull,push", self.reference.name);
        {
            let mut query = token_url.query_pairs_mut();
            if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
                query.append_pair("service", service);
            }
            query.append_pair("scope", &scope);
        }
        let mut response = self
            .agent
            .run(http::Request::get(token_url.as_str()).header("Authorization", &basic).body(())?)
            .with_context(|| format!("cannot reach the token service {realm}"))?;
        match response.status().as_u16() {
            200 => {}
            401 | 403 => bail!("{}", self.refused_credentials()),
            s => bail!("the token service {realm} answered {s}"),
        }
        let body: Value = serde_json::from_str(&response.body_mut().read_to_string()?)
            .with_context(|| format!("the token service {realm} sent no JSON"))?;
        let token = body["token"]
            .as_str()
            .or(body["access_token"].as_str())
            .with_context(|| format!("the token service {realm} sent no token"))?;
        self.authorization = Some(format!("Bearer {token}"));
        Ok(())
    }

    fn refused_credentials(&self) -> String {
        let user = self.credentials.as_ref().map_or("", |(up, _)| up.split(':').next().unwrap_or(""));
        format!(
            "registry {} refused the credentials of `{user}` from {}: run `docker login {}` again",
            self.reference.registry,
            config_path().display(),
            self.reference.registry
        )
    }

    /// Upload `blob` unless the registry has it. True when it was uploaded.
    pub fn push_blob(&mut self, blob: &Blob) -> Result<bool> {
        let name = self.reference.name.clone();
        let path = format!("v2/{name}/blobs/{}", blob.digest);
        let head = self.send(Method::HEAD, &path, None)?;
        match head.status {
            200 => return Ok(false),
            404 => {}
            s => bail!("registry {} answered {s} to HEAD {path}", self.reference.registry),
        }
        let start = self.send(Method::POST, &format!("v2/{name}/blobs/uploads/"), None)?;
        if start.status != 202 {
            bail!(
                "registry {} refused to start an upload ({}): {}",
                self.reference.registry,
                start.status,
                start.errors()
            );
        }
        let location = start.header("location").context("the registry started an upload without a Location")?;
        let mut url = self.url(&format!("v2/{name}/blobs/uploads/"))?.join(location)?;
        url.query_pairs_mut().append_pair("digest", &blob.digest);
        // The upload URL is absolute now; `send` joins it onto the base unchanged.
        let put = self.send(Method::PUT, url.as_str(), Some((&blob.bytes, "application/octet-stream")))?;
        if put.status != 201 {
            bail!(
                "registry {} refused blob {} ({} bytes): {} {}",
                self.reference.registry,
                blob.digest,
                blob.bytes.len(),
                put.status,
                put.errors()
            );
        }
        check_digest(&put, &blob.digest)?;
        Ok(true)
    }

    /// PUT a manifest or index under `reference` (a digest or a tag).
    pub fn push_manifest(&mut self, blob: &Blob, media_type: &str, reference: &str) -> Result<()> {
        let path = format!("v2/{}/manifests/{reference}", self.reference.name);
        let put = self.send(Method::PUT, &path, Some((&blob.bytes, media_type)))?;
        if put.status != 201 {
            bail!("registry {} refused manifest {reference}: {} {}", self.reference.registry, put.status, put.errors());
        }
        check_digest(&put, &blob.digest)
    }
}

/// The registry says which digest it stored: it must be the one we computed.
fn check_digest(answer: &Answer, want: &str) -> Result<()> {
    match answer.header("docker-content-digest") {
        Some(got) if got != want => bail!("digest mismatch: we sent {want}, the registry stored {got}"),
        _ => Ok(()),
    }
}

/// `realm="...",service="..."` as pairs.
fn challenge_params(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

fn config_path() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".docker/config.json"),
    }
}

/// `user:password` for `registry` from the Docker config file, with the file's path.
fn credentials(registry: &str) -> Result<Option<(String, PathBuf)>> {
    let path = config_path();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let config: Value = serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let Some(entry) = config["auths"].get(registry) else { return Ok(None) };
    let user_password = match (entry["auth"].as_str(), entry["username"].as_str(), entry["password"].as_str()) {
        (Some(auth), _, _) => BASE64
            .decode(auth.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|s| s.contains(':'))
            .with_context(|| format!("{}: auths.{registry}.auth is not base64 of user:password", path.display()))?,
        (None, Some(user), Some(password)) => format!("{user}:{password}"),
        _ => return Ok(None),
    };
    Ok(Some((user_password, path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = Reference::parse("127.0.0.1:5000/hello").unwrap();
        assert_eq!((r.registry.as_str(), r.name.as_str(), r.tag.as_str()), ("127.0.0.1:5000", "hello", "latest"));
        assert_eq!(r.scheme(), "http");
        let r = Reference::parse("ghcr.io/us/hello:v1").unwrap();
        assert_eq!((r.name.as_str(), r.tag.as_str(), r.scheme()), ("us/hello", "v1", "https"));
        for bad in ["hello", "hello:latest", "ghcr.io/", "ghcr.io/Hello", "ghcr.io/a//b", "ghcr.io/a:b@c"] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bearer_challenge_parameters() {
        let p = challenge_params(r#"realm="https://auth.example/token",service="registry.example""#);
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1], ("service".into(), "registry.example".into()));
    }
}
