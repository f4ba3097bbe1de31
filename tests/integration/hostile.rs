//! Hostile or broken servers: the fetch fails with a clear error, bounded in
//! memory and time, and the next feed is polled as usual.

use crate::support::*;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::time::Duration;
use wiremock::matchers::{header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn feed(name: &str, url: &str) -> String {
    format!("[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n")
}

#[tokio::test]
async fn gzip_bomb_redirect_loop_and_stalled_server_fail_cleanly() {
    let server = MockServer::start().await;

    // 64 MiB of zeros compressed to ~64 KiB; the cap below is 1 MB.
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 1_000_000);
    Mock::given(path("/bomb.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Encoding", "gzip")
                .set_body_raw(bomb, "application/rss+xml"),
        )
        .mount(&server)
        .await;
    Mock::given(path("/loop.xml"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/loop.xml"))
        .mount(&server)
        .await;
    // 127.0.0.1 sending us on to "localhost": another host, and a private one.
    let port = server.address().port();
    Mock::given(path("/sneaky.xml"))
        .respond_with(
            ResponseTemplate::new(301)
                .insert_header("Location", format!("http://localhost:{port}/good.xml")),
        )
        .mount(&server)
        .await;
    Mock::given(path("/slow.xml"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(rss(&[]))
                .set_delay(Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    // The good feed is only served to a client that names itself.
    Mock::given(method("GET"))
        .and(path("/good.xml"))
        .and(header_regex("User-Agent", r"^newswatch/\d+\.\d+\.\d+ "))
        .respond_with(ResponseTemplate::new(200).set_body_raw(rss(&[]), "application/rss+xml"))
        .expect(1)
        .mount(&server)
        .await;

    let uri = server.uri();
    let feeds = [
        feed("bomb", &format!("{uri}/bomb.xml")),
        feed("loop", &format!("{uri}/loop.xml")),
        feed("slow", &format!("{uri}/slow.xml")),
        feed("good", &format!("{uri}/good.xml")),
        feed("sneaky", &format!("{uri}/sneaky.xml")),
    ]
    .concat();
    let config = config(free_port(), &feeds).replace(
        "timeout = \"10s\"\n\n[delivery]",
        "timeout = \"5s\"\nmax_body_bytes = 1000000\n\n[delivery]",
    );
    let env = Env::new(&config, RULES);

    let run = env.once().await;
    assert!(run.status.success(), "{}", run.stderr);
    assert!(
        run.stderr.contains("feeds_ok=1 feeds_failed=4"),
        "{}",
        run.stderr
    );
    let log = &run.stderr;
    assert!(
        failure_line(log, "bomb").contains("response body exceeds the limit of 1000000 bytes"),
        "{log}"
    );
    assert!(
        failure_line(log, "loop").contains("too many redirects"),
        "{log}"
    );
    assert!(
        failure_line(log, "slow").contains("timed out after 5s"),
        "{log}"
    );
    let sneaky = failure_line(log, "sneaky");
    assert!(
        sneaky.contains("redirect to private address localhost refused"),
        "{sneaky}"
    );
    server.verify().await;
}
