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
