//! Criterion benches of the WebSocket book over the decode corpus (the simulator's feed,
//! `fixtures/corpus/zstd-dict`, 500 messages; `ODDSFEED_BENCH_CORPUS=DIR` uses `DIR/zstd-dict`).
//!
//! Groups:
//! - `apply`: `WsBook::apply` on the corpus's decoded messages, into a book that already holds
//!   them (the steady state: every outcome is an update); throughput in odds outcomes.
//! - `pipeline`: the client's `FrameDecoder` alone, then decode + apply, per pass over the
//!   corpus; throughput in frames, so the two lines compare directly.
//! - `query`: `best_price` and `tradable` for every (fixture, market, outcome) of the corpus.
//!
//! Before the groups it prints the resident memory of a book of 100 000 outcomes (synthetic
//! messages in the simulator's shape, 4 outcomes each, 100 fixtures × 10 bookmakers), measured
//! as the growth of `VmRSS` while the book is built (the messages are dropped as they go).
//!
//! `cargo bench -p oddsfeed-book --bench book` runs them all.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oddsfeed_bench::{Corpus, fixture_corpus_dir};
use oddsfeed_book::ws::WsBook;
use oddsfeed_model::ReceiveType;
use oddsfeed_model::ws::{DataMessage, Payload, WsMessage, parse_ws_text};
use oddsfeed_session::ws::{FrameDecoder, FrameKind};

fn corpus() -> Corpus {
    let dir = fixture_corpus_dir(ReceiveType::ZstdDict);
    Corpus::load(&dir, ReceiveType::ZstdDict)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
}

fn decoder(corpus: &Corpus) -> FrameDecoder {
    let mut decoder = FrameDecoder::new(4 << 20, 64 << 20).with_mode(Some(ReceiveType::ZstdDict));
    *decoder.dicts_mut() = corpus.dict_store().unwrap_or_else(|e| panic!("{e}"));
    decoder
}

fn decoded(corpus: &Corpus) -> Vec<DataMessage> {
    let mut decoder = decoder(corpus);
    let mut out = Vec::new();
    for frame in corpus.frames() {
        decoder.decode(FrameKind::Binary, frame, &mut out);
    }
    out.into_iter()
        .filter_map(|m| match m {
            Ok(WsMessage::Data(d)) => Some(d),
            _ => None,
        })
        .collect()
}

fn outcomes(messages: &[DataMessage]) -> u64 {
    messages
        .iter()
        .map(|m| match &m.payload {
            Payload::Odds(p) => p.outcomes().count() as u64,
            _ => 0,
        })
        .sum()
}

fn apply(c: &mut Criterion) {
    let messages = decoded(&corpus());
    let mut book = WsBook::new();
    let now = Instant::now();
    for m in &messages {
        book.apply(m, now);
    }
    let mut group = c.benchmark_group("apply");
    group.throughput(Throughput::Elements(outcomes(&messages)));
    group.bench_function("ws_book_apply", |b| {
        b.iter(|| {
            for m in &messages {
                book.apply(black_box(m), now);
            }
        });
    });
    let mut changes = Vec::new();
    group.bench_function("ws_book_apply_with_changes", |b| {
        b.iter(|| {
            for m in &messages {
                book.apply_with_changes(black_box(m), now, &mut changes);
            }
            changes.clear();
        });
    });
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let corpus = corpus();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(corpus.len() as u64));
    let mut decoder_alone = decoder(&corpus);
    let mut out = Vec::with_capacity(4);
    group.bench_function("decode", |b| {
        b.iter(|| {
            for frame in corpus.frames() {
                decoder_alone.decode(FrameKind::Binary, frame, &mut out);
                black_box(&out);
                out.clear();
            }
        });
    });
    let mut decoder_book = decoder(&corpus);
    let mut book = WsBook::new();
    let now = Instant::now();
    group.bench_function("decode_apply", |b| {
        b.iter(|| {
            for frame in corpus.frames() {
                decoder_book.decode(FrameKind::Binary, frame, &mut out);
                for message in &out {
                    if let Ok(WsMessage::Data(data)) = message {
                        book.apply(data, now);
                    }
                }
                out.clear();
            }
        });
    });
    group.finish();
}

fn query(c: &mut Criterion) {
    let messages = decoded(&corpus());
    let mut book = WsBook::new();
    let now = Instant::now();
    let mut keys = Vec::new();
    for m in &messages {
        book.apply(m, now);
        if let Payload::Odds(p) = &m.payload {
            for (_, o) in p.outcomes() {
                keys.push((p.fixture_id.clone(), o.market_id, o.outcome_id, o.player_id));
            }
        }
    }
    keys.sort();
    keys.dedup();
    let mut group = c.benchmark_group("query");
    group.throughput(Throughput::Elements(keys.len() as u64));
    group.bench_function("best_price", |b| {
        b.iter(|| {
            for (f, m, o, p) in &keys {
                black_box(book.best_price(f, *m, *o, *p));
            }
        });
    });
    group.bench_function("tradable", |b| {
        b.iter(|| {
            for (f, m, _, _) in &keys {
                let _ = black_box(book.tradable(f, *m));
            }
        });
    });
    group.finish();
}

/// Resident set size of this process, in KiB.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One synthetic odds message in the simulator's shape.
fn odds_line(fixture: usize, bookmaker: usize, first_outcome: usize) -> String {
    let fixture_id = format!("id{:016}", 1_000_000_000_000_000 + fixture);
    let bk = format!("bookmaker{bookmaker}");
    let mut odds = serde_json::Map::new();
    for outcome in first_outcome..first_outcome + 4 {
        let market = 100 + outcome / 2;
        odds.insert(
            format!("{fixture_id}:{bk}:{outcome}:0"),
            serde_json::json!({"bookmaker": bk, "outcomeId": outcome, "playerId": 0,
                "marketId": market, "price": 2.5, "priceFractional": "3/2", "priceAmerican": 150,
                "active": true, "changedAt": 1_766_399_998_556_u64, "marketActive": true,
                "mainLine": true, "limit": null, "betslip": null, "meta": null,
                "bookmakerMarketId": format!("m{market}"), "bookmakerOutcomeId": "over",
                "bookmakerChangedAt": 1_766_399_998_056_u64}),
        );
    }
    serde_json::json!({"channel": "odds", "type": "UPDATE", "ts": 1, "entryId": "1-0",
        "payload": {"fixtureId": fixture_id, "odds": {bk: odds}}})
    .to_string()
}

fn memory_note() {
    let before = rss_kib();
    let mut book = WsBook::new();
    let now = Instant::now();
    for fixture in 0..100 {
        for bookmaker in 0..10 {
            for first in (0..100).step_by(4) {
                for m in parse_ws_text(&odds_line(fixture, bookmaker, first)) {
                    if let Ok(WsMessage::Data(d)) = m {
                        book.apply(&d, now);
                    }
                }
            }
        }
    }
    let after = rss_kib();
    let count = book.outcome_count();
    if let (Some(before), Some(after)) = (before, after) {
        println!(
            "memory: {count} outcomes, VmRSS grew by {} KiB ({:.0} bytes per outcome)",
            after.saturating_sub(before),
            (after.saturating_sub(before) * 1024) as f64 / count as f64
        );
    }
    black_box(&book);
}

fn benches(c: &mut Criterion) {
    memory_note();
    apply(c);
    pipeline(c);
    query(c);
}

criterion_group! {
    name = book;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = benches
}
criterion_main!(book);
