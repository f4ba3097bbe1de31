//! Secrets never reach the logs: an SMTP password, a webhook secret, and a
//! feed URL's credentials and token, with debug logs of every crate, in both
//! log formats, for `once` and `run`, while the mail server and the webhook
//! fail (failures are where URLs and servers' answers get logged).

use crate::support::*;
use wiremock::matchers::{basic_auth, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SMTP_PASSWORD: &str = "smtp-Pa55-zq81";
const WEBHOOK_SECRET: &str = "whsec_c2VjcmV0LXdlYmhvb2sta2V5LTQ5MTctYWJjZGVmZ2hpag==";
const FEED_PASSWORD: &str = "feed-pw-7731x";
const FEED_TOKEN: &str = "tok-99a1b2c3d4";

const ATTACK: Item = Item {
    guid: "s-1",
    title: "Explosion reported near Brussels station",
    body: "Police in Brussels closed the area after an explosion.",
};

fn secrets_config(smtp_port: u16, webhook: &str, feed: &str) -> String {
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
username = "alerts"
password_env = "NW_TEST_SMTP_PASSWORD"
from = "newswatch <newswatch@test.example>"
to = ["desk@test.example"]

[destination.hook]
kind = "webhook"
url = "{webhook}"
secret_env = "NW_TEST_WEBHOOK_SECRET"

[[feed]]
name = "wire"
url = "{feed}"
first_poll = "alert"
"#
    )
}

const RULES: &str = r#"
[[rule]]
name = "brussels"
query = 'Brussels explosion'
notify = ["desk", "hook"]
"#;

fn assert_no_secret(what: &str, output: &str) {
    for secret in [SMTP_PASSWORD, WEBHOOK_SECRET, FEED_PASSWORD, FEED_TOKEN] {
        assert!(
            !output.contains(secret),
            "{what} shows {secret:?}:\n{output}"
        );
    }
    // The webhook secret's key, base64 as written and decoded.
    assert!(
        !output.contains("c2VjcmV0LXdlYmhvb2sta2V5LTQ5MTc"),
        "{what}"
    );
    assert!(!output.contains("secret-webhook-key-4917"), "{what}");
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    // Every delivery fails: the mail server after accepting the login, the
    // webhook with a 500.
    let smtp = SmtpSink::start_with(0, &["--auth", "--temp-fail", "1000"]);
    let hook = WebhookSink::start("500,500,500,500,500,500,500,500,500,500", None);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/wire.xml"))
        .and(query_param("token", FEED_TOKEN))
        .and(basic_auth("reader", FEED_PASSWORD))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(rss(&[ATTACK]), "application/rss+xml"),
        )
        .mount(&server)
        .await;
    let address = server.address();
    let feed = format!("http://reader:{FEED_PASSWORD}@{address}/wire.xml?token={FEED_TOKEN}");
    let config = secrets_config(smtp.port, &hook.url("/hook"), &feed);
    let with_secrets = |mut cmd: tokio::process::Command| {
        cmd.env("NW_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
            .env("NW_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("NEWSWATCH_LOG", "debug");
        cmd
    };

    for format in ["human", "json"] {
        // A fresh store each time: the alert is new, and fails at once.
        let env = Env::new(&config, RULES);
        let once = run(with_secrets(env.command(&["--log-format", format, "once"]))).await;
        assert!(once.status.success(), "{}", once.stderr);
        // The failures did happen, and were logged.
        assert!(
            once.stderr.contains("Alert delivery failed"),
            "{}",
            once.stderr
        );
        assert_no_secret(
            &format!("once --log-format {format}"),
            &(once.stdout + &once.stderr),
        );
    }
    // The secrets were really used: the feed was fetched with its
    // credentials and token, the mail server got the login.
    assert!(!server.received_requests().await.unwrap().is_empty());
    assert!(
        smtp.logins().iter().any(|l| l == "alerts"),
        "{:?}",
        smtp.logins()
    );
    assert!(!hook.requests().is_empty());

    let env = Env::new(&config, RULES);
    for format in ["human", "json"] {
        let daemon = Daemon::spawn(with_secrets(env.command(&["--log-format", format, "run"])));
        // Polls every second; each alert is retried after a second or two.
        daemon.wait_log("Feed fetched", 2).await;
        daemon.wait_log("Alert delivery failed", 2).await;
        let log = daemon.stop().await;
        assert_no_secret(&format!("run --log-format {format}"), &log);
    }
    // And the commands that show state.
    for args in [
        &["outbox", "list"][..],
        &["feeds", "--format", "json"],
        &["check"],
    ] {
        let out = run(with_secrets(env.command(args))).await;
        assert_no_secret(&args.join(" "), &(out.stdout + &out.stderr));
    }
}
