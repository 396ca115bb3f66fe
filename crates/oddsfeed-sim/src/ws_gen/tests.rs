use std::collections::BTreeMap;

use serde_json::Value;

use super::*;

const BASE_MS: u64 = 1_766_400_000_000;

fn run(seed: u64, n: usize) -> Vec<GeneratedMessage> {
    let mut generator = WsGenerator::new(seed);
    (0..n as u64)
        .map(|i| generator.next(BASE_MS + i * 7))
        .collect()
}

fn parse(msg: &GeneratedMessage) -> Value {
    serde_json::from_str(&msg.json).unwrap_or_else(|e| panic!("{e}: {}", msg.json))
}

#[test]
fn same_seed_and_clock_give_identical_bytes() {
    let a = run(42, 3000);
    let b = run(42, 3000);
    assert_eq!(a, b);
    let c = run(43, 3000);
    assert_ne!(a, c);
}

#[test]
fn clock_sequence_is_part_of_the_input() {
    let mut a = WsGenerator::new(5);
    let mut b = WsGenerator::new(5);
    let first_a = a.next(BASE_MS);
    let first_b = b.next(BASE_MS + 1);
    assert_ne!(first_a.json, first_b.json);
    assert_eq!(first_b.ts, BASE_MS + 1);
}

#[test]
fn envelope_is_compact_with_channel_first() {
    for msg in run(1, 2000) {
        let prefix = format!(
            "{{\"channel\":\"{}\",\"type\":\"UPDATE\",\"payload\":{{",
            msg.channel
        );
        assert!(msg.json.starts_with(&prefix), "{}", msg.json);
        let suffix = format!(
            ",\"ts\":{},\"entryId\":\"{}\"}}",
            msg.ts,
            msg.entry_id_string()
        );
        assert!(msg.json.ends_with(&suffix), "{}", msg.json);
        assert!(!msg.json.contains('\n'));
        assert_eq!(msg.ts, msg.entry_id.0);

        let v = parse(&msg);
        let keys: Vec<&str> = v
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(keys, ["channel", "type", "payload", "ts", "entryId"]);
        // Compact: re-serializing (key order preserved) gives the same text,
        // up to number spelling, which the generator keeps canonical.
        assert_eq!(
            serde_json::to_string(&v).ok().as_deref(),
            Some(msg.json.as_str())
        );
    }
}

#[test]
fn entry_ids_strictly_increase_per_channel_even_when_time_goes_back() {
    let mut generator = WsGenerator::new(9);
    let mut last: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut gaps = 0;
    for i in 0..20_000u64 {
        // A clock that jumps back by a second every 1000 messages.
        let now = BASE_MS + i * 3 - (i / 1000 % 2) * 1000;
        let msg = generator.next(now);
        assert!(msg.ts >= now);
        if let Some(prev) = last.insert(msg.channel, msg.entry_id) {
            assert!(msg.entry_id > prev, "{:?} after {prev:?}", msg.entry_id);
            if msg.entry_id.1 > prev.1 + 1 {
                gaps += 1;
            }
        }
    }
    assert_eq!(last.len(), 5);
    assert!(gaps > 100, "gaps are normal and should occur: {gaps}");
}

#[test]
fn size_mix_matches_the_feed() {
    let msgs = run(2024, 20_000);
    let total: usize = msgs.iter().map(|m| m.json.len()).sum();
    let odds: usize = msgs
        .iter()
        .filter(|m| m.channel == "odds")
        .map(|m| m.json.len())
        .sum();
    let mean = total as f64 / msgs.len() as f64;
    let odds_share = odds as f64 / total as f64;
    assert!((1000.0..2000.0).contains(&mean), "mean {mean}");
    assert!(odds_share > 0.8, "odds share {odds_share}");
    let big = msgs.iter().filter(|m| m.json.len() >= 100 << 10).count();
    assert!(big >= 1, "no snapshot in 20k messages");
    assert!(big < 40, "{big} snapshots is too many");
    let mut per_channel: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &msgs {
        *per_channel.entry(m.channel).or_default() += 1;
    }
    assert_eq!(per_channel.len(), 5);
    assert!(per_channel["odds"] > 14_000, "{per_channel:?}");
    assert!(per_channel["clocks"] > 1000, "{per_channel:?}");
}

const OUTCOME_FIELDS: [&str; 17] = [
    "bookmaker",
    "outcomeId",
    "playerId",
    "marketId",
    "price",
    "priceFractional",
    "priceAmerican",
    "active",
    "changedAt",
    "marketActive",
    "mainLine",
    "limit",
    "betslip",
    "meta",
    "bookmakerMarketId",
    "bookmakerOutcomeId",
    "bookmakerChangedAt",
];

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn odds_payload_nests_bookmaker_then_odds_id() {
    let mut seen_player = false;
    for msg in run(3, 3000).iter().filter(|m| m.channel == "odds") {
        let v = parse(msg);
        let payload = &v["payload"];
        assert_eq!(keys(payload), ["fixtureId", "odds"]);
        let fixture = payload["fixtureId"].as_str().unwrap_or_default();
        assert!(
            fixture.starts_with("id1") && fixture.len() == 18,
            "{fixture}"
        );
        let books = payload["odds"].as_object().expect("odds object");
        assert!(!books.is_empty());
        for (bk, outcomes) in books {
            let outcomes = outcomes.as_object().expect("bookmaker object");
            assert!(!outcomes.is_empty());
            for (odds_id, o) in outcomes {
                assert_eq!(keys(o), OUTCOME_FIELDS, "{odds_id}");
                let expect = format!("{fixture}:{bk}:{}:{}", o["outcomeId"], o["playerId"]);
                assert_eq!(odds_id, &expect);
                assert_eq!(o["bookmaker"].as_str(), Some(bk.as_str()));
                let price = o["price"].as_f64().expect("price is a number");
                assert!(o["price"].is_f64());
                assert!((1.0..=16.0).contains(&price), "{price}");
                let frac = o["priceFractional"].as_str().unwrap_or_default();
                let (num, den) = frac.split_once('/').expect("a/b");
                let num: f64 = num.parse().expect("numerator");
                let den: f64 = den.parse().expect("denominator");
                assert!((num / den + 1.0 - price).abs() < 1e-9, "{frac} vs {price}");
                assert!(o["priceAmerican"].is_i64());
                assert!(o["changedAt"].as_u64().unwrap_or(0) <= msg.ts);
                seen_player |= o["playerId"].as_u64() != Some(0);
            }
        }
    }
    assert!(seen_player, "player markets carry a playerId");
}

#[test]
fn vocabularies_are_consistent() {
    for sport in vocab::SPORTS {
        for market in sport.markets {
            assert_eq!(
                market.outcomes.len(),
                market.outcome_slugs.len(),
                "{}",
                market.id
            );
        }
        for t in sport.tournaments {
            assert!(t.participants.len() >= 2, "{}", t.name);
            let mut names: Vec<&str> = t.participants.iter().map(|p| p.0).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), t.participants.len(), "{}", t.name);
        }
    }
    let mut books = BOOKMAKERS.to_vec();
    books.sort_unstable();
    books.dedup();
    assert_eq!(books.len(), BOOKMAKERS.len());
}

#[test]
fn price_conversions() {
    assert_eq!(fractional(245), (29, 20));
    assert_eq!(fractional(350), (5, 2));
    assert_eq!(fractional(200), (1, 1));
    assert_eq!(american(245), 145);
    assert_eq!(american(200), 100);
    assert_eq!(american(150), -200);
    assert_eq!(american(125), -400);
}

#[test]
fn other_payload_shapes() {
    let mut shapes: BTreeMap<&str, usize> = BTreeMap::new();
    for msg in run(4, 4000).iter().filter(|m| m.channel != "odds") {
        let v = parse(msg);
        let p = &v["payload"];
        assert!(p["fixtureId"].is_string());
        match msg.channel {
            "fixtures" => {
                assert_eq!(keys(&p["status"]), ["live", "statusId", "statusName"]);
                assert!(p["sport"]["sportId"].is_u64());
                assert!(p["tournament"]["tournamentName"].is_string());
                assert!(p["season"]["seasonName"].is_string());
                assert!(p["venue"]["venueName"].is_string());
                assert!(p["participants"]["participant2Name"].is_string());
                // startTime is in seconds: within days of the virtual clock.
                let start = p["startTime"].as_i64().unwrap_or(0);
                let now_s = (BASE_MS / 1000) as i64;
                assert!(
                    (now_s - 4 * 86_400..now_s + 4 * 86_400).contains(&start),
                    "{start}"
                );
            }
            "bookmakers" => {
                let books = p["bookmakers"].as_object().expect("bookmakers");
                for (bk, b) in books {
                    assert_eq!(
                        keys(b),
                        [
                            "bookmaker",
                            "hasOdds",
                            "staleOdds",
                            "suspended",
                            "updatedAt"
                        ]
                    );
                    assert_eq!(b["bookmaker"].as_str(), Some(bk.as_str()));
                    assert!(b["staleOdds"].is_boolean());
                }
            }
            "scores" => {
                let scores = p["scores"].as_object().expect("scores");
                assert!(scores.contains_key("result"));
                for (period, s) in scores {
                    assert_eq!(
                        keys(s),
                        [
                            "period",
                            "participant1Score",
                            "participant2Score",
                            "updatedAt"
                        ]
                    );
                    assert_eq!(s["period"].as_str(), Some(period.as_str()));
                    let at = s["updatedAt"].as_str().unwrap_or_default();
                    assert!(
                        at.starts_with("2025-12-22T") && at.ends_with("+00:00"),
                        "{at}"
                    );
                }
            }
            "clocks" => {
                assert_eq!(
                    keys(&p["clock"]),
                    [
                        "currentPeriod",
                        "currentTime",
                        "remainingTime",
                        "remainingTimeInPeriod",
                        "stopped"
                    ]
                );
            }
            other => panic!("unexpected channel {other}"),
        }
        *shapes.entry(msg.channel).or_default() += 1;
    }
    assert_eq!(shapes.len(), 4);
}

#[test]
fn fixtures_payload_key_order() {
    let msg = run(4, 4000)
        .into_iter()
        .find(|m| m.channel == "fixtures")
        .expect("a fixtures message");
    let v = parse(&msg);
    let k = keys(&v["payload"]);
    assert_eq!(
        k.get(..10),
        Some(
            &[
                "fixtureId",
                "status",
                "sport",
                "tournament",
                "season",
                "venue",
                "participants",
                "startTime",
                "trueStartTime",
                "trueEndTime",
            ][..]
        )
    );
}

#[test]
fn fixture_states_are_coherent() {
    let (mut live, mut upcoming) = (0, 0);
    for msg in run(6, 6000).iter().filter(|m| m.channel == "fixtures") {
        let v = parse(msg);
        let p = &v["payload"];
        let start_ms = p["startTime"].as_u64().expect("startTime") * 1000;
        assert_ne!(
            p["participants"]["participant1Name"],
            p["participants"]["participant2Name"]
        );
        if p["status"]["live"] == Value::Bool(true) {
            live += 1;
            assert!(
                start_ms <= msg.ts,
                "live fixture starting later: {}",
                msg.json
            );
            assert!(p["trueStartTime"].is_string(), "{}", msg.json);
            assert!(p["scores"]["result"].is_object(), "{}", msg.json);
            assert!(p["clock"].is_object(), "{}", msg.json);
        } else if p["status"]["statusId"] == 0 {
            upcoming += 1;
            assert!(
                start_ms > msg.ts,
                "upcoming fixture in the past: {}",
                msg.json
            );
            assert!(p["trueStartTime"].is_null());
            assert!(p.get("scores").is_none());
        }
    }
    assert!(
        live > 20 && upcoming > 20,
        "live {live}, upcoming {upcoming}"
    );
}

#[test]
fn with_channels_restricts_and_rejects_empty_sets() {
    let mut generator = WsGenerator::new(1)
        .with_channels(&["scores", "nonsense", "clocks"])
        .expect("two known channels");
    assert_eq!(generator.channels(), ["scores", "clocks"]);
    for i in 0..500 {
        let msg = generator.next(BASE_MS + i);
        assert!(
            matches!(msg.channel, "scores" | "clocks"),
            "{}",
            msg.channel
        );
    }
    match WsGenerator::new(1).with_channels(&["stats"]) {
        Err(SimError::NoChannels { requested }) => assert_eq!(requested, ["stats"]),
        other => panic!("expected NoChannels, got {other:?}"),
    }
}

#[test]
fn odds_only_generator_makes_snapshots_too() {
    let mut generator = WsGenerator::new(11).with_channels(&["odds"]).expect("odds");
    let sizes: Vec<usize> = (0..6000)
        .map(|i| generator.next(BASE_MS + i).json.len())
        .collect();
    assert!(sizes.iter().any(|&s| s >= 100 << 10));
}

/// Rough throughput, printed only (`cargo test -p oddsfeed-sim --release --
/// --ignored --nocapture generator_throughput`).
#[test]
#[ignore = "prints a measurement; run by hand"]
fn generator_throughput() {
    let mut generator = WsGenerator::new(1);
    let n = 200_000u64;
    let start = std::time::Instant::now();
    let mut bytes = 0;
    for i in 0..n {
        bytes += generator.next(BASE_MS + i).json.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{:.0} msg/s, {:.1} MB/s, mean {} B",
        n as f64 / secs,
        bytes as f64 / secs / 1e6,
        bytes as u64 / n
    );
}
