//! Criterion benches, one group per decode layer, over the fixture corpora (500 messages of the
//! simulator's feed; set `ODDSFEED_BENCH_CORPUS=DIR` to use `DIR/<mode>/` instead, e.g. a corpus
//! from `cargo xtask corpus`). Every iteration handles the whole corpus, so "elements" are
//! frames (or messages) and criterion's throughput line reads as frames/s.
//!
//! Groups:
//! - `newline_split`: the IMG feed's framing (`oddsfeed_wire::LineDecoder`) over the corpus as
//!   NDJSON, pushed in 16 KiB reads, against a bare `split` on `\n`.
//! - `zstd`: dictId lookup alone, then decompression per mode through `oddsfeed_zstd`'s
//!   `Decompressor` (bounded, checked) and through raw `zstd-safe` (the floor).
//! - `parse`: the typed message with simd-json (`FastParser`) vs serde_json (`parse_ws_json`),
//!   and raw parses (simd-json tape, simd-json `BorrowedValue`, `serde_json::Value`).
//! - `pipeline`: the client's `FrameDecoder` for each receive type, and the ceiling
//!   (raw decompression + tape) beside it.
//!
//! `cargo bench -p oddsfeed-bench -- parse` runs one group.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use oddsfeed_bench::stages::{Ceiling, Pipeline, RawDecompress, json_messages};
use oddsfeed_bench::{Corpus, fixture_corpus_dir};
use oddsfeed_model::ReceiveType;
use oddsfeed_model::ws::{FastParser, parse_ws_json};
use oddsfeed_wire::LineDecoder;
use oddsfeed_zstd::{Decompressor, frame_dict_id};

fn load(mode: ReceiveType) -> Corpus {
    let dir = fixture_corpus_dir(mode);
    Corpus::load(&dir, mode).unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
}

fn messages(corpus: &Corpus) -> Vec<Vec<u8>> {
    json_messages(corpus).unwrap_or_else(|e| panic!("{e}"))
}

fn elements(corpus: &Corpus) -> Throughput {
    Throughput::Elements(corpus.len() as u64)
}

fn newline_split(c: &mut Criterion) {
    let corpus = load(ReceiveType::Json);
    let mut ndjson = Vec::new();
    for message in corpus.frames() {
        ndjson.extend_from_slice(message);
        ndjson.push(b'\n');
    }
    let mut group = c.benchmark_group("newline_split");
    group.throughput(Throughput::Bytes(ndjson.len() as u64));
    group.bench_function("line_decoder_16k_reads", |b| {
        b.iter(|| {
            let mut decoder = LineDecoder::new(oddsfeed_wire::DEFAULT_MAX_LINE);
            let mut lines = 0usize;
            for chunk in ndjson.chunks(16 << 10) {
                for line in decoder.decode(chunk) {
                    lines += black_box(line).map_or(0, |l| usize::from(!l.is_empty()));
                }
            }
            assert_eq!(lines, corpus.len());
        });
    });
    group.bench_function("slice_split_baseline", |b| {
        b.iter(|| {
            let lines = ndjson
                .split(|&byte| byte == b'\n')
                .filter(|line| !black_box(line).is_empty())
                .count();
            assert_eq!(lines, corpus.len());
        });
    });
    group.finish();
}

fn zstd(c: &mut Criterion) {
    let mut group = c.benchmark_group("zstd");
    let dict_corpus = load(ReceiveType::ZstdDict);
    group.throughput(elements(&dict_corpus));
    group.bench_function("dict_id_lookup", |b| {
        let store = dict_corpus.dict_store().unwrap_or_else(|e| panic!("{e}"));
        b.iter(|| {
            let mut found = 0usize;
            for frame in dict_corpus.frames() {
                let id = frame_dict_id(frame).unwrap_or(0);
                found += usize::from(id == 0 || store.contains(id));
            }
            assert_eq!(found, dict_corpus.len());
        });
    });
    for mode in [ReceiveType::Zstd, ReceiveType::ZstdDict] {
        let corpus = load(mode);
        let store = corpus.dict_store().unwrap_or_else(|e| panic!("{e}"));
        group.throughput(elements(&corpus));
        group.bench_with_input(
            BenchmarkId::new("decompress_checked", mode),
            &corpus,
            |b, corpus| {
                let mut decompressor = Decompressor::default();
                b.iter(|| {
                    for frame in corpus.frames() {
                        let out = decompressor
                            .decompress(frame, &store)
                            .unwrap_or_else(|e| panic!("{e}"));
                        black_box(out);
                    }
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("decompress_raw", mode),
            &corpus,
            |b, corpus| {
                let mut raw = RawDecompress::new(corpus).unwrap_or_else(|e| panic!("{e}"));
                b.iter(|| raw.pass(corpus).unwrap_or_else(|e| panic!("{e}")));
            },
        );
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let corpus = load(ReceiveType::Json);
    let messages = messages(&corpus);
    let mut group = c.benchmark_group("parse");
    group.throughput(elements(&corpus));
    group.bench_function("typed_simd_json", |b| {
        let mut parser = FastParser::new();
        let mut scratch = Vec::new();
        b.iter(|| {
            for message in &messages {
                scratch.clear();
                scratch.extend_from_slice(message);
                black_box(parser.parse(&mut scratch).unwrap_or_else(|e| panic!("{e}")));
            }
        });
    });
    group.bench_function("typed_serde_json", |b| {
        b.iter(|| {
            for message in &messages {
                black_box(parse_ws_json(message).unwrap_or_else(|e| panic!("{e}")));
            }
        });
    });
    group.bench_function("raw_simd_json_tape", |b| {
        let mut parser = oddsfeed_bench::stages::TapeParse::new();
        b.iter(|| parser.pass(&messages).unwrap_or_else(|e| panic!("{e}")));
    });
    group.bench_function("raw_simd_json_borrowed_value", |b| {
        let mut buffers = simd_json::Buffers::new(64 << 10);
        let mut scratch = Vec::new();
        b.iter(|| {
            for message in &messages {
                scratch.clear();
                scratch.extend_from_slice(message);
                let value = simd_json::to_borrowed_value_with_buffers(&mut scratch, &mut buffers)
                    .unwrap_or_else(|e| panic!("{e}"));
                black_box(value);
            }
        });
    });
    group.bench_function("raw_serde_json_value", |b| {
        b.iter(|| {
            for message in &messages {
                let value: serde_json::Value =
                    serde_json::from_slice(message).unwrap_or_else(|e| panic!("{e}"));
                black_box(value);
            }
        });
    });
    group.finish();
}

fn pipeline(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    for mode in ReceiveType::ALL {
        let corpus = load(mode);
        group.throughput(elements(&corpus));
        group.bench_with_input(
            BenchmarkId::new("frame_decoder", mode),
            &corpus,
            |b, corpus| {
                let mut pipeline = Pipeline::new(corpus).unwrap_or_else(|e| panic!("{e}"));
                b.iter(|| pipeline.pass(corpus).unwrap_or_else(|e| panic!("{e}")));
            },
        );
        if mode != ReceiveType::Binary {
            group.bench_with_input(BenchmarkId::new("ceiling", mode), &corpus, |b, corpus| {
                let mut ceiling = Ceiling::new(corpus).unwrap_or_else(|e| panic!("{e}"));
                b.iter(|| ceiling.pass(corpus).unwrap_or_else(|e| panic!("{e}")));
            });
        }
    }
    group.finish();
}

fn config() -> Criterion {
    // Short runs: the machine is shared and has two cores; the interleaved comparison with
    // medians and spread is `cargo xtask bench`.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = layers;
    config = config();
    targets = newline_split, zstd, parse, pipeline
}
criterion_main!(layers);
