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
    // A name that resolves to loopback is refused where it is resolved: the
    // good feed is asked for once (by its own feed), never through it.
    let sneaky = failure_line(log, "sneaky");
    assert!(
        sneaky.contains("localhost resolves to") && sneaky.contains("refused"),
        "{sneaky}"
    );
    server.verify().await;
}

/// A server on another loopback address (127.0.0.2 or [::1]) counting the
/// requests it gets.
async fn server_on(address: &str) -> MockServer {
    let listener = std::net::TcpListener::bind(address).unwrap();
    let server = MockServer::builder().listener(listener).start().await;
    Mock::given(path("/feed.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(rss(&[]), "application/rss+xml"))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn redirects_to_loopback_in_any_spelling_connect_nowhere_unless_allowed() {
    let inner = server_on("127.0.0.2:0").await;
    let inner_v6 = server_on("[::1]:0").await;
    // The feed's own address on another port, and an origin the config lists.
    let other_port = server_on("127.0.0.1:0").await;
    let listed = server_on("127.0.0.1:0").await;
    let (port, port_v6) = (inner.address().port(), inner_v6.address().port());
    let outer = MockServer::start().await;
    let targets = [
        ("plain", format!("http://127.0.0.2:{port}/feed.xml")),
        ("hex", format!("http://0x7f000002:{port}/feed.xml")),
        ("decimal", format!("http://2130706434:{port}/feed.xml")),
        ("v6", format!("http://[::1]:{port_v6}/feed.xml")),
        ("port", format!("{}/feed.xml", other_port.uri())),
    ];
    let mut feeds = feed("listed", &format!("{}/feed.xml", listed.uri()));
    Mock::given(path("/to-listed.xml"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/feed.xml", listed.uri())),
        )
        .mount(&outer)
        .await;
    feeds.push_str(&feed(
        "to-listed",
        &format!("{}/to-listed.xml", outer.uri()),
    ));
    for (name, target) in &targets {
        Mock::given(path(format!("/{name}.xml")))
            .respond_with(ResponseTemplate::new(302).insert_header("Location", target.as_str()))
            .mount(&outer)
            .await;
        feeds.push_str(&feed(name, &format!("{}/{name}.xml", outer.uri())));
    }
    let env = Env::new(&config(free_port(), &feeds), RULES);
    let run = env.once().await;
    // A redirect to an origin the config lists is followed.
    assert!(
        run.stderr.contains("feeds_ok=2 feeds_failed=5"),
        "{}",
        run.stderr
    );
    for (name, _) in &targets {
        let line = failure_line(&run.stderr, name);
        assert!(line.contains("refused: not a public address"), "{line}");
    }
    assert_eq!(inner.received_requests().await.unwrap().len(), 0);
    assert_eq!(inner_v6.received_requests().await.unwrap().len(), 0);
    assert_eq!(other_port.received_requests().await.unwrap().len(), 0);
    assert_eq!(listed.received_requests().await.unwrap().len(), 2);

    // Opened by the operator: followed, and the feed works.
    let allowed = config(free_port(), &feeds).replace(
        "timeout = \"10s\"\n\n[delivery]",
        "timeout = \"10s\"\nallow_networks = [\"127.0.0.2/32\", \"::1\"]\n\n[delivery]",
    );
    std::fs::write(env.config_path(), allowed).unwrap();
    let run = env.once().await;
    // 127.0.0.1 itself stays closed: only the other port's feed still fails.
    assert!(
        run.stderr.contains("feeds_ok=6 feeds_failed=1"),
        "{}",
        run.stderr
    );
    assert_eq!(inner.received_requests().await.unwrap().len(), 3);
    assert_eq!(inner_v6.received_requests().await.unwrap().len(), 1);
}
