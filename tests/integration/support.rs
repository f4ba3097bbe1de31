//! Shared helpers: a config in a temp dir, the binary, an SMTP sink, feeds.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::AsyncBufReadExt;

pub const BIN: &str = env!("CARGO_BIN_EXE_newswatch");
/// Generous: CI machines are shared and slow; waits end as soon as the condition holds.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A port that was free a moment ago (nothing listens on it now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` until it returns `Some`, or panics naming `what` at the deadline.
pub async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A real SMTP server (Python's aiosmtpd) that stores what it accepts.
pub struct SmtpSink {
    child: Child,
    dir: TempDir,
    pub port: u16,
}

impl SmtpSink {
    /// Starts on a port of the server's choosing (no race with other tests).
    pub fn start_any() -> SmtpSink {
        Self::start_with(0, &[])
    }

    /// Starts on a given port (to bring back a server that was down).
    pub fn start(port: u16) -> SmtpSink {
        Self::start_with(port, &[])
    }

    pub fn start_with(port: u16, extra: &[&str]) -> SmtpSink {
        let dir = tempfile::tempdir().unwrap();
        let (child, port) = spawn_sink("smtp_sink.py", port, dir.path(), extra);
        SmtpSink { child, dir, port }
    }

    /// The envelope recipients of each accepted message, oldest first.
    pub fn recipients(&self) -> Vec<Vec<String>> {
        self.files("rcpt")
            .iter()
            .map(|f| f.lines().map(str::to_string).collect())
            .collect()
    }

    fn files(&self, extension: &str) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == extension))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect()
    }

    /// Messages accepted so far, oldest first.
    pub fn messages(&self) -> Vec<String> {
        self.files("eml")
    }

    /// The login names of each AUTH (with `--auth`), oldest first.
    pub fn logins(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("logins"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts one of the Python servers in tests/support and reads the port it
/// reports ("READY <port>"); it stops when the returned child's stdin closes.
fn spawn_sink(script: &str, port: u16, dir: &Path, extra: &[&str]) -> (Child, u16) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(script);
    let mut child = Command::new("python3")
        .arg(&script)
        .args(["--port", &port.to_string(), "--dir"])
        .arg(dir)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(DEADLINE)
        .unwrap_or_else(|_| panic!("{} did not start", script.display()));
    let port = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "{} failed to start (are aiosmtpd and standardwebhooks installed? .ci/run installs them): {line:?}",
                script.display()
            )
        });
    (child, port)
}

/// The JSON lines a test server appended to `path` (none if it wrote none).
fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A real HTTP server receiving webhooks (tests/support/webhook_sink.py):
/// scripted replies, signatures checked by the `standardwebhooks` package.
pub struct WebhookSink {
    child: Child,
    dir: TempDir,
    pub port: u16,
}

impl WebhookSink {
    /// `script`: replies for the first requests, e.g. `"500,429:2"`; then 200.
    pub fn start(script: &str, secret: Option<&str>) -> WebhookSink {
        let dir = tempfile::tempdir().unwrap();
        let mut extra = vec!["--script", script];
        if let Some(secret) = secret {
            extra.extend(["--secret", secret]);
        }
        let (child, port) = spawn_sink("webhook_sink.py", 0, dir.path(), &extra);
        WebhookSink { child, dir, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        json_lines(&self.dir.path().join("requests.jsonl"))
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config directory: `newswatch.toml` plus `rules.d/rules.toml`.
pub struct Env {
    pub dir: TempDir,
}

impl Env {
    pub fn new(config: &str, rules: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("rules.d")).unwrap();
        std::fs::write(dir.path().join("newswatch.toml"), config).unwrap();
        std::fs::write(dir.path().join("rules.d/rules.toml"), rules).unwrap();
        Env { dir }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("newswatch.toml")
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("-c").arg(self.config_path()).args(args);
        cmd.env("NEWSWATCH_LOG", "info").kill_on_drop(true);
        cmd
    }

    /// Runs `newswatch once` to completion.
    pub async fn once(&self) -> Run {
        run(self.command(&["once"])).await
    }

    /// Starts `newswatch run` in the background.
    pub fn start_daemon(&self) -> Daemon {
        self.start_daemon_with(&[])
    }

    /// Starts `newswatch run` with extra environment variables.
    pub fn start_daemon_with(&self, env: &[(&str, &Path)]) -> Daemon {
        let mut cmd = self.command(&["run"]);
        for (key, value) in env {
            cmd.env(key, value);
        }
        Daemon::spawn(cmd)
    }
}

impl Daemon {
    /// Starts a `newswatch run` command, collecting its log (stderr).
    pub fn spawn(mut cmd: tokio::process::Command) -> Daemon {
        let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        let reader = tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Daemon { child, log, reader }
    }
}

/// What a finished command printed.
pub struct Run {
    pub status: std::process::ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

pub async fn run(mut cmd: tokio::process::Command) -> Run {
    let output: Output = tokio::time::timeout(DEADLINE, cmd.output())
        .await
        .expect("command timed out")
        .unwrap();
    Run {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

pub struct Daemon {
    child: tokio::process::Child,
    log: Arc<Mutex<String>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Daemon {
    /// SIGKILL: no shutdown at all, as in a crash or power loss.
    pub async fn kill(mut self) -> String {
        self.child.start_kill().unwrap();
        tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .expect("killed daemon exits")
            .unwrap();
        let _ = tokio::time::timeout(DEADLINE, &mut self.reader).await;
        self.log()
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("daemon is running")
    }

    /// Waits until the log holds `needle` at least `times` times.
    pub async fn wait_log(&self, needle: &str, times: usize) {
        wait_for(&format!("{times}× {needle:?} in the daemon log"), || {
            (self.log().matches(needle).count() >= times).then_some(())
        })
        .await;
    }

    /// Sends a signal, e.g. "HUP", to the daemon.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("daemon is running");
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub async fn stop(mut self) -> String {
        self.signal("TERM");
        let status = tokio::time::timeout(DEADLINE, self.child.wait())
            .await
            .expect("daemon did not stop after SIGTERM")
            .unwrap();
        // The reader ends at EOF, once the daemon's stderr is closed.
        tokio::time::timeout(DEADLINE, &mut self.reader)
            .await
            .expect("log reader did not finish")
            .unwrap();
        assert!(
            status.success(),
            "daemon exited with {status}: {}",
            self.log()
        );
        self.log()
    }
}

/// One RSS item for [`rss`].
pub struct Item<'a> {
    pub guid: &'a str,
    pub title: &'a str,
    pub body: &'a str,
}

pub fn rss(items: &[Item]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Test wire</title><link>http://news.test/</link><description>test</description>\n",
    );
    for item in items {
        xml.push_str(&format!(
            "<item><title>{}</title><link>http://news.test/{}</link><guid isPermaLink=\"false\">{}</guid>\
             <pubDate>Tue, 24 Mar 2026 10:00:00 +0000</pubDate><description><![CDATA[{}]]></description></item>\n",
            item.title, item.guid, item.guid, item.body
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml
}

/// A config with an SMTP destination `desk` and the given `[[feed]]` blocks.
pub fn config(smtp_port: u16, feeds: &str) -> String {
    format!(
        r#"
state_dir = "state"
rules = ["rules.d/*.toml"]

[defaults]
interval = "1s"
timeout = "10s"

[delivery]
retry_initial = "1s"
retry_max = "2s"

[destination.desk]
kind = "email"
smtp = "smtp://127.0.0.1:{smtp_port}"
from = "newswatch <newswatch@test.example>"
to = ["desk@test.example"]
timeout = "10s"

{feeds}
"#
    )
}

pub const RULES: &str = r#"
[[rule]]
name = "brussels"
query = '(Brussels OR Zaventem) (explosion OR explosions OR attack)'
notify = ["desk"]

[[rule]]
name = "al-shabab"
query = '"Al-Shabab" OR "al Shabaab"'
notify = ["desk"]
"#;

/// The decoded body of a mail as the SMTP server received it.
pub fn mail_body(mail: &str) -> String {
    let body = mail
        .split_once("\r\n\r\n")
        .or_else(|| mail.split_once("\n\n"))
        .unwrap()
        .1;
    let decoded = quoted_printable::decode(body, quoted_printable::ParseMode::Robust).unwrap();
    String::from_utf8(decoded).unwrap()
}

/// The decoded plain-text and HTML parts of a multipart/alternative mail.
pub fn mail_parts(mail: &str) -> (String, String) {
    let parsed = mailparse::parse_mail(mail.as_bytes()).unwrap();
    let mut text = String::new();
    let mut html = String::new();
    for part in &parsed.subparts {
        match part.ctype.mimetype.as_str() {
            "text/plain" => text = part.get_body().unwrap(),
            "text/html" => html = part.get_body().unwrap(),
            _ => {}
        }
    }
    (text, html)
}

/// A header of a mail, unfolded.
pub fn mail_header(mail: &str, name: &str) -> Option<String> {
    let head = mail.split_once("\r\n\r\n").map_or(mail, |(h, _)| h);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
}

/// The log line reporting feed `name`'s failure.
pub fn failure_line<'a>(log: &'a str, name: &str) -> &'a str {
    log.lines()
        .find(|l| l.contains("Feed failed") && l.contains(&format!("feed={name} ")))
        .unwrap_or_else(|| panic!("no failure logged for {name}:\n{log}"))
}

/// A real WebSub hub (Flask-WebSub from PyPI; tests/support/websub_hub.py),
/// recording each request made to it.
pub struct WebSubHub {
    child: Child,
    dir: TempDir,
    pub port: u16,
}

impl WebSubHub {
    pub fn start() -> WebSubHub {
        let dir = tempfile::tempdir().unwrap();
        let (child, port) = spawn_sink("websub_hub.py", 0, dir.path(), &[]);
        WebSubHub { child, dir, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hub", self.port)
    }

    /// The form of every request made to the hub so far, oldest first.
    pub fn requests(&self) -> Vec<serde_json::Value> {
        json_lines(&self.dir.path().join("requests.jsonl"))
    }

    /// The requests with this `hub.mode`.
    pub fn requests_for(&self, mode: &str) -> Vec<serde_json::Value> {
        let mut requests = self.requests();
        requests.retain(|r| r["hub.mode"] == mode);
        requests
    }
}

impl Drop for WebSubHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
