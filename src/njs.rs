//! Runs the window function on njs, the engine CloudFront Functions are
//! built on, for `maint preview`, and is the one place maint starts a
//! process: one child per request, bounded in time, with a stand-in for the
//! `cloudfront` module whose store holds the given entries (a missing key
//! rejects, as on CloudFront).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// The stand-in `cloudfront` module (the same file the function's tests and
/// the emulator's TestFunction use).
const STAND_IN: &str = include_str!("../templates/cloudfront-module.js");
const RUN_TIMEOUT: Duration = Duration::from_secs(10);

/// What the function answered: its response, or the request it let through.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Response(serde_json::Value),
    Request(serde_json::Value),
}

/// Runs `code`'s handler on `event` with the store's `entries`.
pub fn run(
    code: &str,
    event: &serde_json::Value,
    entries: &BTreeMap<String, String>,
) -> Result<Answer> {
    let json = match output(code, &event.to_string(), Some(entries))? {
        Ok(json) => json,
        Err(error) => bail!("the window function failed on njs: {error}"),
    };
    let value: serde_json::Value = serde_json::from_str(&json)?;
    Ok(match (value.get("response"), value.get("request")) {
        (Some(r), _) => Answer::Response(r.clone()),
        (None, Some(r)) => Answer::Request(r.clone()),
        _ => bail!("njs answered neither a response nor a request: {json}"),
    })
}

/// What the handler gave for the event (JSON text), in the shape of
/// TestFunction's FunctionOutput (`{"response": ...}` or `{"request": ...}`),
/// or the engine's error (`Err` inside). `entries: None` is a function with
/// no store associated: `cf.kvs()` throws, as on CloudFront. The one njs
/// runner of maint and its Rust tests.
pub fn output(
    code: &str,
    event: &str,
    entries: Option<&BTreeMap<String, String>>,
) -> Result<Result<String, String>> {
    let dir = tempfile_dir()?;
    std::fs::write(dir.join("cloudfront"), STAND_IN)?;
    let driver = format!(
        "\n;(function () {{\n  globalThis.__maint = {{ entries: {}, reads: [], down: {} }};\n  var ev = {};\n  handler(ev).then(function (res) {{\n    console.log('MAINT_OUTPUT ' + JSON.stringify(res === ev.request ? {{ request: res }} : {{ response: res }}));\n  }}, function (e) {{ console.log('MAINT_ERROR ' + String(e)); }});\n}})();\n",
        serde_json::to_string(&entries.cloned().unwrap_or_default())?,
        entries.is_none(),
        event
    );
    let file = dir.join("function.js");
    std::fs::write(&file, format!("{code}{driver}"))?;
    let njs = std::env::var("MAINT_NJS").unwrap_or_else(|_| "njs".to_string());
    let mut child = std::process::Command::new(&njs)
        .arg("-p")
        .arg(&dir)
        .arg(&file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| {
            format!("cannot run {njs}: previewing a window needs njs, the engine CloudFront Functions are built on (Debian: apt-get install njs)")
        })?;
    let started = Instant::now();
    while child.try_wait()?.is_none() {
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            bail!(
                "the window function did not finish within {} s on njs",
                RUN_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let out = child.wait_with_output()?;
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if let Some(json) = stdout.lines().find_map(|l| l.strip_prefix("MAINT_OUTPUT ")) {
        return Ok(Ok(json.to_string()));
    }
    Ok(Err(stdout
        .lines()
        .find_map(|l| l.strip_prefix("MAINT_ERROR "))
        .map_or_else(
            || String::from_utf8_lossy(&out.stderr).trim().to_string(),
            str::to_string,
        )))
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "maint-njs-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
