//! Story clustering at scale: one million synthetic articles over a 48-hour
//! window (one every 0.17 s), a third of them reports of an event another
//! article reported before (reworded), the rest events of their own; words
//! drawn from a Zipf-distributed vocabulary of 60,000, names from 20,000.
//! Printed beside the targets: the cost of clustering one article (median
//! and p99 over the last 100,000, with the window full) and the memory the
//! window holds.
//!
//! `cargo bench --bench stories` (or `-- --articles 200000`). Linux only
//! (reads /proc for memory).

#[path = "common.rs"]
mod common;

use chrono::{DateTime, Utc};
use common::{option, rss};
use newswatch::model::article::Article;
use newswatch::stories::{Clusterer, Features};
use std::time::{Duration, Instant};

// The daemon's allocator (src/main.rs), so the figures are the daemon's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A small deterministic generator (xorshift), so runs compare.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A Zipf-like rank in 0..n (inverse power law by rejection-free
    /// approximation: rank = n^u - 1).
    fn zipf(&mut self, n: u64) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((n as f64).powf(u) - 1.0) as u64
    }
}

fn word(rank: u64) -> String {
    format!("w{rank}x")
}

fn name(rank: u64) -> String {
    format!("Name{rank}")
}

/// An event: its names and its own words.
struct Event {
    names: Vec<u64>,
    words: Vec<u64>,
}

fn article(rng: &mut Rng, event: &Event, n: usize, published: DateTime<Utc>) -> Article {
    let mut title = Vec::new();
    for _ in 0..3 {
        title.push(word(
            event.words[rng.below(event.words.len() as u64) as usize],
        ));
    }
    title.push(name(event.names[0]));
    for _ in 0..3 {
        title.push(word(rng.zipf(60_000)));
    }
    let mut lead = vec!["The".to_string()];
    for i in 0..60 {
        let w = match i % 5 {
            0 => name(event.names[rng.below(event.names.len() as u64) as usize]),
            1 | 2 => word(event.words[rng.below(event.words.len() as u64) as usize]),
            _ => word(rng.zipf(60_000)),
        };
        lead.push(w);
    }
    Article {
        key: format!("guid:{n}"),
        guid: Some(n.to_string()),
        title: title.join(" "),
        link: None,
        published: Some(published),
        authors: Vec::new(),
        categories: Vec::new(),
        summary: lead.join(" ") + ".",
        content: String::new(),
    }
}

fn main() {
    let total: usize = option("--articles").unwrap_or(1_000_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let window = Duration::from_secs(48 * 3600);
    let step = chrono::Duration::milliseconds((window.as_millis() as usize / total) as i64)
        .max(chrono::Duration::milliseconds(1));
    let start = DateTime::from_timestamp(1_770_000_000, 0).unwrap();
    let mut clusterer = Clusterer::new(window);
    let mut events: Vec<Event> = Vec::new();
    let mut costs = Vec::with_capacity(100_000);
    let rss_before = rss(std::process::id());
    for n in 0..total {
        let at = start + step * n as i32;
        // A third report an event seen before (recent ones more often).
        let event = if !events.is_empty() && rng.below(3) == 0 {
            let back = rng.zipf(events.len().min(5_000) as u64) as usize;
            events.len() - 1 - back.min(events.len() - 1)
        } else {
            let names = (0..3).map(|_| rng.zipf(20_000)).collect();
            let words = (0..8).map(|_| 1_000 + rng.below(59_000)).collect();
            events.push(Event { names, words });
            events.len() - 1
        };
        let a = article(&mut rng, &events[event], n, at);
        let timed = n >= total.saturating_sub(100_000);
        let began = Instant::now();
        let features = Features::of(&a);
        clusterer.assign(features, at);
        if timed {
            costs.push(began.elapsed());
        }
    }
    let held = rss(std::process::id()).saturating_sub(rss_before);
    costs.sort_unstable();
    let at = |q: f64| costs[((costs.len() as f64 * q) as usize).min(costs.len() - 1)];
    println!(
        "stories: {total} articles over 48 h, {} stories in the window at the end",
        clusterer.len()
    );
    println!();
    println!("| per article (features + assign), last 100k | memory held by the window |");
    println!("|---|---|");
    println!(
        "| median {:.1} µs, p99 {:.1} µs (target ≤ 20 µs) | {:.0} MB |",
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        held as f64 / 1e6
    );
}
