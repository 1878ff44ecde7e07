//! The integration-test harness: the pinned local AWS emulator (moto, server
//! mode) on a free loopback port for each test, a scratch project directory,
//! and the real `maint` binary pointed at both.
//!
//! The emulator is installed by `scripts/setup-emulator` (which `scripts/test`
//! runs); the harness starts and stops it itself.

#![allow(dead_code)]

pub mod faults;

use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub const ACCESS_KEY: &str = "AKIAMAINTTESTING0001";
pub const SECRET_KEY: &str = "maint-test-secret";

pub struct Emulator {
    child: Child,
    pub url: String,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("MAINT_EMULATOR_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/emulator-venv"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "the local AWS emulator is not installed at {}: run scripts/setup-emulator (scripts/test does it for you)",
        venv.display()
    );
    python
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// STS GetCallerIdentity as the request log shows it.
pub const IDENTITY: &str = "POST / GetCallerIdentity";

impl Emulator {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// The emulator with extra environment, e.g. `MAINT_TESTFUNCTION_NJS`
    /// (the engine its TestFunction runs; its edge keeps njs).
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        for _ in 0..3 {
            if let Some(emulator) = Self::start_on(free_port(), env) {
                return emulator;
            }
            // Lost the port to another process: try another.
        }
        panic!("the emulator did not start on a free port");
    }

    /// The emulator on `port`, or `None` when it could not have it.
    fn start_on(port: u16, env: &[(&str, &str)]) -> Option<Self> {
        let dir = TempDir::new().expect("temp dir");
        let log = dir.path().join("requests.log");
        std::fs::write(&log, "").expect("request log");
        let child = Command::new(venv_python())
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("emulator/server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MAINT_EMULATOR_REQUEST_LOG", &log)
            .env("MAINT_EMULATOR_REQUEST_TIMES", log.with_extension("times"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let mut emulator = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            log,
            _dir: dir,
        };
        emulator.wait_ready().then_some(emulator)
    }

    /// Whether the emulator this harness started answers on its port. The
    /// port was free when picked, but another test's emulator may have
    /// taken it since: an answer from that one (another process id) means
    /// this one lost the port, never that it is ready.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        let ours = self.child.id().to_string();
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Some((200, _, body)) = http(self.port, "GET", "/maint-api/pid", "") {
                if body.trim() == ours {
                    return true;
                }
                let _ = self.child.kill();
                let _ = self.child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// When each API request arrived (seconds since the epoch) and its
    /// `METHOD /path`, since the emulator started.
    pub fn request_times(&self) -> Vec<(f64, String)> {
        std::fs::read_to_string(self.log.with_extension("times"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (at, request) = line.split_once(' ')?;
                Some((at.parse().ok()?, request.to_string()))
            })
            .collect()
    }

    /// Every request the emulator received, as `METHOD /path?query`.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .expect("request log")
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The requests that could change something: anything but GET and HEAD,
    /// and but the query protocol's reads (`POST / GetRole`, and STS
    /// GetCallerIdentity, which every changing command asks which account it
    /// acts in).
    pub fn writes(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| {
                let read = r.starts_with("GET ")
                    || r.starts_with("HEAD ")
                    || r.strip_prefix("POST / ").is_some_and(|action| {
                        action.starts_with("Get") || action.starts_with("List")
                    });
                !read
            })
            .collect()
    }

    /// ListDistributions and ListOriginAccessControls: the account-wide
    /// listings that the page's record (and the distribution's OAC id)
    /// spare maint.
    pub fn listings(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| {
                let path = r.split(['?', ' ']).nth(1).unwrap_or_default();
                r.starts_with("GET ")
                    && (path == "/2020-05-31/distribution"
                        || path == "/2020-05-31/origin-access-control")
            })
            .collect()
    }

    /// The requests other than the account check.
    pub fn aws_calls(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r != IDENTITY)
            .collect()
    }

    pub fn clear_requests(&self) {
        std::fs::write(&self.log, "").expect("clear request log");
    }

    /// Makes the next `method` request whose path matches `path_regex` take
    /// effect and then answer 500, as when the answer is lost on its way back
    /// (the SDK then retries a call that already succeeded).
    pub fn lose_next_answer(&self, method: &str, path_regex: &str) {
        http(
            self.port,
            "POST",
            "/maint-api/lose-answer",
            &format!("{method} {path_regex}"),
        )
        .expect("tell the emulator to lose an answer");
    }

    /// Makes the next `method` request matching `path_regex` wait (up to
    /// 30 s) until a `until_method` request matching `until_regex` arrives
    /// while it waits and has been served: `holds()` then says `released`
    /// (the second took effect first), else `timed out`.
    pub fn hold_until(
        &self,
        method: &str,
        path_regex: &str,
        until_method: &str,
        until_regex: &str,
    ) {
        http(
            self.port,
            "POST",
            "/maint-api/hold",
            &format!("{method} {path_regex} {until_method} {until_regex}"),
        )
        .expect("tell the emulator what to hold");
    }

    /// Makes the next request matching either (method, regex) wait (up to
    /// 30 s) for one matching the other: `holds()` then says `met` only if
    /// both were in flight at once, in whichever order they arrived.
    pub fn pair(&self, method: &str, path_regex: &str, other_method: &str, other_regex: &str) {
        http(
            self.port,
            "POST",
            "/maint-api/pair",
            &format!("{method} {path_regex} {other_method} {other_regex}"),
        )
        .expect("tell the emulator what to pair");
    }

    /// How each hold or pair ended, in order: `released`, `met` or `timed out`.
    pub fn holds(&self) -> Vec<String> {
        let (_, _, body) =
            http(self.port, "GET", "/maint-api/holds", "").expect("ask the emulator its holds");
        body.lines().map(str::to_string).collect()
    }

    /// Makes the `k`-th API request from now on take effect, then SIGKILLs
    /// the process whose id `pid_file` holds before it hears the answer.
    pub fn kill_after(&self, k: usize, pid_file: &Path) {
        http(
            self.port,
            "POST",
            "/maint-api/kill-after",
            &format!("{k} {}", pid_file.display()),
        )
        .expect("tell the emulator when to kill");
    }

    /// Makes the invalidations created from now on stay InProgress for
    /// `seconds` before they are Completed.
    pub fn slow_invalidations(&self, seconds: f64) {
        http(
            self.port,
            "POST",
            "/maint-api/invalidation-seconds",
            &seconds.to_string(),
        )
        .expect("tell the emulator how long invalidations take");
    }

    /// Makes CloudFront distributions stay InProgress for `reads` status reads.
    pub fn slow_deployments(&self, reads: u32) {
        let body = format!(
            r#"{{"model_name": "cloudfront::distribution", "transition": {{"progression": "manual", "times": {reads}}}}}"#
        );
        http(
            self.port,
            "POST",
            "/moto-api/state-manager/set-transition",
            &body,
        )
        .expect("set the emulator's transition");
    }

    pub async fn sdk_config(&self, region: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .endpoint_url(&self.url)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "test",
            ))
            .load()
            .await
    }

    pub async fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let config = self.sdk_config(region).await;
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        )
    }

    /// Rewrites an object's user metadata in place (CopyObject onto
    /// itself), as anyone with s3:PutObject, or an older maint, may have.
    pub async fn rewrite_metadata(
        &self,
        region: &str,
        bucket: &str,
        key: &str,
        change: impl FnOnce(&mut std::collections::HashMap<String, String>),
    ) {
        let s3 = self.s3(region).await;
        let head = s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let mut metadata = head.metadata().cloned().unwrap_or_default();
        change(&mut metadata);
        s3.copy_object()
            .bucket(bucket)
            .key(key)
            .copy_source(format!("{bucket}/{key}"))
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
            .set_metadata(Some(metadata))
            .set_content_type(head.content_type().map(str::to_string))
            .set_cache_control(head.cache_control().map(str::to_string))
            .send()
            .await
            .unwrap();
    }

    pub async fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        aws_sdk_cloudfront::Client::new(&self.sdk_config("us-east-1").await)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.0 exchange on loopback; `None` when nothing answers.
pub fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String, String)> {
    http_with(port, method, path, &[], body)
}

/// One HTTP/1.0 request with extra header lines; the status, the head and
/// the body.
pub fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> Option<(u16, String, String)> {
    use std::io::Write as _;
    let mut extra: String = headers.iter().fold(String::new(), |mut all, h| {
        all.push_str(h);
        all.push_str("\r\n");
        all
    });
    if !headers
        .iter()
        .any(|h| h.to_ascii_lowercase().starts_with("host:"))
    {
        extra.push_str("Host: 127.0.0.1\r\n");
    }
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head.to_string(), body.to_string()))
}

/// A scratch project: a directory with a maint.yaml, and the binary run in it.
pub struct Project {
    pub dir: TempDir,
    endpoint: Option<String>,
}

impl Project {
    pub fn new(config: &str) -> Self {
        let dir = TempDir::new().expect("temp dir");
        std::fs::write(dir.path().join("maint.yaml"), config).expect("write maint.yaml");
        // Empty AWS config files: nothing from the machine running the tests leaks in.
        std::fs::write(dir.path().join("aws-config"), "").expect("write aws-config");
        std::fs::write(dir.path().join("aws-credentials"), "").expect("write aws-credentials");
        Self {
            dir,
            endpoint: None,
        }
    }

    /// Points the project at `url` (a fault-injecting proxy, say) instead.
    pub fn via(mut self, url: &str) -> Self {
        self.endpoint = Some(url.to_string());
        self
    }

    pub fn against(mut self, emulator: &Emulator) -> Self {
        self.endpoint = Some(emulator.url.clone());
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `maint ARGS` in the project, with isolated AWS settings.
    pub fn maint(&self, args: &[&str]) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.command(args))
    }

    /// `maint ARGS` as a plain std Command (to spawn it and kill it).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_maint"));
        cmd.current_dir(self.dir.path())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("AWS_CONFIG_FILE", self.dir.path().join("aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("NO_COLOR", "1");
        if let Some(url) = &self.endpoint {
            cmd.env("AWS_ENDPOINT_URL", url)
                .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
                .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        }
        cmd
    }
}

impl Project {
    /// `maint ARGS` on a pseudo-terminal (through util-linux `script`), with
    /// `input` typed at it: for the prompts maint shows only to a person.
    pub fn maint_in_terminal(&self, args: &[&str], input: &str) -> std::process::Output {
        use std::io::Write as _;
        let binary = assert_cmd::cargo::cargo_bin!("maint");
        let command = std::iter::once(binary.display().to_string())
            .chain(args.iter().map(|a| (*a).to_string()))
            .collect::<Vec<_>>()
            .join(" ");
        let template = self.maint(&[]);
        let mut script = Command::new("script");
        script.args(["-qec", &command, "/dev/null"]);
        script.current_dir(self.dir.path()).env_clear();
        for (key, value) in template.get_envs() {
            if let Some(value) = value {
                script.env(key, value);
            }
        }
        let mut child = script
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("util-linux `script` runs maint on a pseudo-terminal");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
}

pub fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A distribution the customer already runs: two behaviors on one origin.
pub async fn customer_distribution(cf: &aws_sdk_cloudfront::Client) -> String {
    distribution_with_origin(cf, "shop.example.com", 443).await
}

/// A customer's distribution whose origin is a local server on `port`
/// (the emulator's edge forwards to loopback origins only).
pub async fn distribution_for_origin(cf: &aws_sdk_cloudfront::Client, port: u16) -> String {
    distribution_with_origin(cf, "127.0.0.1", port).await
}

async fn distribution_with_origin(
    cf: &aws_sdk_cloudfront::Client,
    domain: &str,
    port: u16,
) -> String {
    use aws_sdk_cloudfront::types::{
        CacheBehavior, CacheBehaviors, CustomOriginConfig, DefaultCacheBehavior,
        DistributionConfig, Origin, OriginProtocolPolicy, Origins, ViewerProtocolPolicy,
    };
    let api = CacheBehavior::builder()
        .path_pattern("/api/*")
        .target_origin_id("web")
        .viewer_protocol_policy(ViewerProtocolPolicy::HttpsOnly)
        .cache_policy_id("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
        .build()
        .unwrap();
    let config = DistributionConfig::builder()
        // Unique, so a test can make several.
        .caller_reference(format!(
            "shop-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ))
        .comment("the shop")
        .enabled(true)
        .origins(
            Origins::builder()
                .quantity(1)
                .items(
                    Origin::builder()
                        .id("web")
                        .domain_name(domain)
                        .custom_origin_config(
                            CustomOriginConfig::builder()
                                .http_port(i32::from(port))
                                .https_port(443)
                                .origin_protocol_policy(OriginProtocolPolicy::HttpOnly)
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .default_cache_behavior(
            DefaultCacheBehavior::builder()
                .target_origin_id("web")
                .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                .cache_policy_id("658327ea-f89d-4fab-a63d-7e88639e58f6")
                .build()
                .unwrap(),
        )
        .cache_behaviors(
            CacheBehaviors::builder()
                .quantity(1)
                .items(api)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let out = cf
        .create_distribution()
        .distribution_config(config)
        .send()
        .await
        .unwrap();
    out.distribution().unwrap().id().to_string()
}

/// One run of the real binary, described in one chain, after just's `Test`:
/// the config and files, the arguments, and what must come out.
///
/// ```ignore
/// Test::new()
///     .config("environments: ...")
///     .args(&["provision"])
///     .no_aws_call()
///     .status(2)
///     .stderr("invalid bucket name")
///     .run();
/// ```
pub struct Test {
    config: String,
    files: Vec<(String, Vec<u8>)>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    status: i32,
    stdout: Vec<String>,
    stderr: Vec<String>,
    no_aws_call: bool,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    pub fn new() -> Self {
        Self {
            config: String::new(),
            files: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            status: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
            no_aws_call: false,
        }
    }

    pub fn config(mut self, text: &str) -> Self {
        self.config = text.to_string();
        self
    }

    pub fn file(mut self, name: &str, text: &str) -> Self {
        self.files
            .push((name.to_string(), text.as_bytes().to_vec()));
        self
    }

    /// A file with any bytes (not UTF-8, say).
    pub fn bytes(mut self, name: &str, bytes: &[u8]) -> Self {
        self.files.push((name.to_string(), bytes.to_vec()));
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| (*a).to_string()).collect();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// The exit code expected (0 unless said).
    pub fn status(mut self, code: i32) -> Self {
        self.status = code;
        self
    }

    /// Text stdout must hold.
    pub fn stdout(mut self, text: &str) -> Self {
        self.stdout.push(text.to_string());
        self
    }

    /// Text stderr must hold.
    pub fn stderr(mut self, text: &str) -> Self {
        self.stderr.push(text.to_string());
        self
    }

    /// Credentials and an endpoint are set, and the endpoint must get no
    /// connection at all: bad input stops before the first AWS call. A
    /// failure must also be one line, `maint: ...`.
    pub fn no_aws_call(mut self) -> Self {
        self.no_aws_call = true;
        self
    }

    pub fn run(self) -> std::process::Output {
        let project = Project::new(&self.config);
        for (name, text) in &self.files {
            std::fs::write(project.path(name), text).expect("write a test file");
        }
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let mut cmd = project.maint(&args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).expect("non-blocking");
        if self.no_aws_call {
            cmd.env(
                "AWS_ENDPOINT_URL",
                format!("http://{}", listener.local_addr().expect("address")),
            )
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "y");
        }
        let output = cmd
            .timeout(Duration::from_secs(60))
            .output()
            .expect("run maint");
        let (stdout, stderr) = (stdout_of(&output), stderr_of(&output));
        let shown = format!("maint {args:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        assert_eq!(output.status.code(), Some(self.status), "{shown}");
        for text in &self.stdout {
            assert!(
                stdout.contains(text.as_str()),
                "stdout lacks `{text}`:\n{shown}"
            );
        }
        for text in &self.stderr {
            assert!(
                stderr.contains(text.as_str()),
                "stderr lacks `{text}`:\n{shown}"
            );
        }
        if self.no_aws_call {
            assert!(
                listener.accept().is_err(),
                "maint called AWS although the input was bad:\n{shown}"
            );
            if self.status != 0 {
                assert!(stderr.starts_with("maint: "), "{shown}");
                assert_eq!(stderr.lines().count(), 1, "one message:\n{shown}");
            }
        }
        output
    }
}

/// The customer's site behind a window: a loopback HTTP server that answers
/// every request with 200 "the shop", and counts them.
pub struct LocalOrigin {
    pub port: u16,
    served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl LocalOrigin {
    pub fn start() -> Self {
        use std::io::Write as _;
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("address").port();
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = served.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 8192];
                let _ = stream.read(&mut buf);
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = "<p>the shop</p>";
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { port, served }
    }

    pub fn requests(&self) -> usize {
        self.served.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::Emulator;

    #[test]
    fn an_emulator_that_lost_its_port_is_never_taken_for_another() {
        // Two tests may pick the same free port; the second emulator then
        // cannot listen, and the first one answers on it. The harness must
        // see that the answer is not from the process it started.
        let first = Emulator::start();
        assert!(
            Emulator::start_on(first.port(), &[]).is_none(),
            "the harness took another test's emulator for its own"
        );
    }
}
