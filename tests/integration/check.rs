//! `newswatch check`: every error, each with file:line:col.

use crate::support::*;
use std::path::Path;

#[tokio::test]
async fn three_errors_in_two_files_are_all_reported_with_positions() {
    let config = r#"state_dir = "state"
rules = ["rules.d/*.toml"]

[defaults]
interval = "15 parsecs"

[destination.desk]
kind = "pigeon"
"#;
    let rules = r#"[[rule]]
name = "isis"
query = 'ISIS OR'
notify = ["desk"]
"#;
    let env = Env::new(config, rules);
    let run = run(env.command(&["check"])).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let dir = env.dir.path().display().to_string();
    let lines: Vec<String> = run.stderr.lines().map(|l| l.replace(&dir, "DIR")).collect();
    assert_eq!(
        lines,
        [
            "DIR/newswatch.toml:5:12: invalid duration \"15 parsecs\": unknown time unit \"parsecs\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations) (e.g. \"90s\", \"15m\", \"1h\")",
            "    interval = \"15 parsecs\"",
            "               ^^^^^^^^^^^^",
            "DIR/newswatch.toml:8:8: destination \"desk\": unknown kind \"pigeon\" (expected email, maildir, webhook, slack, discord, teams or ntfy)",
            "    kind = \"pigeon\"",
            "           ^^^^^^^^",
            "DIR/rules.d/rules.toml:3:17: in query: expected a term at end of query",
            "    query = 'ISIS OR'",
            "                    ^",
            "3 error(s)",
        ]
    );
}

#[tokio::test]
async fn shipped_example_config_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/newswatch.toml");
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("-c").arg(&example).arg("check");
    let run = run(cmd).await;
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("OK: 2 feeds, 3 rules in 1 files, 1 destinations"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn unknown_key_is_an_error_and_config_flag_works_after_the_verb() {
    let env = Env::new("state_dir = \"s\"\nfeeds = []\n", "");
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.arg("check").arg("--config").arg(env.config_path());
    let run = run(cmd).await;
    assert_eq!(run.status.code(), Some(1));
    assert!(
        run.stderr
            .contains("newswatch.toml:2:1: unknown field `feeds`"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn broken_delivery_settings_are_reported_with_positions() {
    let config = r#"state_dir = "state"
rules = ["rules.d/*.toml"]

[destination.hook]
kind = "webhook"
url = "ftp://hooks.test/x"
secret_env = "NEWSWATCH_TEST_SECRET"
rate_limit = "fast"
timezone = "Mars/Olympus"
quiet_hours = "22:00"
concurrency = 0

[destination.chat]
kind = "slack"

[destination.mail]
kind = "maildir"
templates = "templates"
"#;
    let rules = r#"[[rule]]
name = "morning"
query = "Brussels"
notify = ["hook"]
mode = "digest"

[[rule]]
name = "hourly"
query = "Brussels"
notify = ["hook"]
every = "10s"

[[rule]]
name = "daily"
query = "Brussels"
notify = ["hook"]
digest = "weekly 08:00"
"#;
    let env = Env::new(config, rules);
    std::fs::create_dir(env.dir.path().join("templates")).unwrap();
    std::fs::write(
        env.dir.path().join("templates/alert.html"),
        "<p>{{ title }</p>\n",
    )
    .unwrap();
    let mut cmd = env.command(&["check"]);
    cmd.env("NEWSWATCH_TEST_SECRET", "not-a-secret");
    let run = run(cmd).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let dir = env.dir.path().display().to_string();
    let located: Vec<String> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with(&dir))
        .map(|l| l.replace(&dir, "DIR"))
        .collect();
    assert_eq!(
        located,
        [
            "DIR/newswatch.toml:14:8: destination \"chat\": slack needs `url`",
            "DIR/newswatch.toml:7:14: a webhook secret must start with `whsec_` followed by base64",
            "DIR/newswatch.toml:6:7: unsupported URL scheme \"ftp\" (use http or https)",
            "DIR/newswatch.toml:9:12: unknown time zone \"Mars/Olympus\": failed to find time zone `Mars/Olympus` in time zone database",
            "DIR/newswatch.toml:10:15: quiet_hours \"22:00\" must look like \"22:00-07:00\"",
            "DIR/newswatch.toml:11:15: concurrency must be between 1 and 64",
            "DIR/newswatch.toml:8:14: invalid rate_limit \"fast\" (e.g. \"1/s\", \"30/min\", \"none\")",
            "DIR/newswatch.toml:18:13: template DIR/templates/alert.html: line 1: unexpected `}`, expected end of variable block",
            "DIR/rules.d/rules.toml:2:8: mode = \"digest\" needs `digest = \"daily 08:00\"` or `every = \"1h\"`",
            "DIR/rules.d/rules.toml:11:9: digest period must be between 1m and 366days",
            "DIR/rules.d/rules.toml:17:10: digest schedule \"weekly 08:00\" must look like \"daily 08:00\"",
        ]
    );
}

#[tokio::test]
async fn rules_evaluated_for_every_article_are_pointed_out() {
    let config = "state_dir = \"state\"\nrules = [\"rules.d/*.toml\"]\n\n[destination.desk]\nkind = \"maildir\"\n";
    let rules = r#"[[rule]]
name = "fine"
query = "Zaventem explosion"
notify = ["desk"]

[[rule]]
name = "everyday"
query = "the AND said"
notify = ["desk"]

[[rule]]
name = "stem"
query = "Zaventem OR mini*"
notify = ["desk"]
"#;
    let env = Env::new(config, rules);
    let run = run(env.command(&["check"])).await;
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("warning: rule \"everyday\" is anchored on everyday words (the)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "warning: rule \"stem\" is anchored on everyday words (mini*, which matches \"minister\")"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("\"fine\""), "{}", run.stderr);
}

#[tokio::test]
async fn mistakes_that_leave_a_rule_useless_are_warnings_with_positions() {
    let config = r#"state_dir = "state"
rules = ["rules.d/*.toml"]

[[feed]]
name = "world-wire"
url = "https://news.test/world.xml"
tags = ["world"]

[destination.desk]
kind = "maildir"
"#;
    let rules = r#"[aliases]
brussels = ["Brussels", "Zaventem"]
unused = ["Molenbeek"]

[[rule]]
name = "silent"
query = "@brussels"

[[rule]]
name = "nowhere"
query = "Brussels"
notify = ["desk"]
feeds = ["world", "wrold-*"]
"#;
    let env = Env::new(config, rules);
    let run_check = run(env.command(&["check"])).await;
    assert_eq!(run_check.status.code(), Some(0), "{}", run_check.stderr);
    assert!(
        run_check
            .stdout
            .contains("2 rules in 1 files, 1 destinations, 3 warning(s)"),
        "{}",
        run_check.stdout
    );
    let dir = env.dir.path().display().to_string();
    let located: Vec<String> = run_check
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .map(|l| l.replace(&dir, "DIR"))
        .collect();
    assert_eq!(
        located,
        [
            "warning: DIR/rules.d/rules.toml:6:8: rule \"silent\" has no `notify`, so it never alerts",
            "warning: DIR/rules.d/rules.toml:13:19: rule \"nowhere\": feeds pattern \"wrold-*\" matches no feed name or tag, so the rule never matches",
            "warning: DIR/rules.d/rules.toml:3:1: alias @unused is declared but no rule uses it",
        ]
    );
    let strict = run(env.command(&["check", "--strict"])).await;
    assert_eq!(strict.status.code(), Some(1), "{}", strict.stderr);
}

#[tokio::test]
async fn a_rule_file_that_is_not_utf8_is_located() {
    let config = "state_dir = \"state\"\nrules = [\"rules.d/*.toml\"]\n\n[destination.desk]\nkind = \"maildir\"\n";
    let env = Env::new(config, "");
    std::fs::write(
        env.dir.path().join("rules.d/rules.toml"),
        b"[[rule]]\nname = \"li\xe8ge\"\nquery = \"Li\xe8ge\"\nnotify = [\"desk\"]\n",
    )
    .unwrap();
    let run = run(env.command(&["check"])).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    let dir = env.dir.path().display().to_string();
    assert_eq!(
        run.stderr.lines().next().unwrap().replace(&dir, "DIR"),
        "DIR/rules.d/rules.toml:2:11: not UTF-8: byte 0xE8 (save the file as UTF-8)"
    );
}

#[tokio::test]
async fn an_error_in_a_long_query_quotes_a_window_of_its_line() {
    let config = "state_dir = \"state\"\nrules = [\"rules.d/*.toml\"]\n\n[destination.desk]\nkind = \"maildir\"\n";
    let terms: Vec<String> = (0..50_000).map(|i| format!("name{i}")).collect();
    let rules = format!(
        "[[rule]]\nname = \"long\"\nquery = '{} OR'\nnotify = [\"desk\"]\n",
        terms.join(" OR ")
    );
    let env = Env::new(config, &rules);
    let run = run(env.command(&["check"])).await;
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr.len() < 1_000,
        "{} bytes: {}",
        run.stderr.len(),
        &run.stderr[..1_000]
    );
    assert!(
        run.stderr
            .contains("in query: expected a term at end of query"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("\n    …R name49997 OR name49998 OR name49999 OR'\n"),
        "{}",
        run.stderr
    );
}
