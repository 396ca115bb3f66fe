#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from the checked-in fixtures.
#
#   fuzz/seed.sh            # writes fuzz/corpus/<target>/seed-*
#
# Each target reads its input in its own layout (see the header comment of
# fuzz/fuzz_targets/<target>.rs), so most seeds are a fixture with a few
# configuration bytes in front, or a little "program" of operations for the
# session targets. Idempotent: seeds have fixed names and are overwritten;
# whatever libFuzzer added to fuzz/corpus/ (git-ignored) is kept.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fixtures="$fuzz_dir/../fixtures"
corpus="$fuzz_dir/corpus"

if [[ ! -d "$fixtures/ws" || ! -d "$fixtures/img" || ! -d "$fixtures/frames" ]]; then
    echo "seed.sh: $fixtures is missing or incomplete (run: cargo xtask fixtures)" >&2
    exit 1
fi

# --- byte helpers ------------------------------------------------------------
byte() { printf "\\x$(printf %02x "$(($1 & 255))")"; }
le16() { byte "$1"; byte "$(($1 >> 8))"; }
le32() { le16 "$(($1 & 65535))"; le16 "$(($1 >> 16))"; }
size() { stat -c %s "$1"; }
# A u16-length-prefixed blob holding a file (the Ops::blob layout).
blob() { le16 "$(size "$1")"; cat "$1"; }

seed() { # seed TARGET NAME  (content on stdin)
    mkdir -p "$corpus/$1"
    cat > "$corpus/$1/seed-$2"
}

count=0
note() { count=$((count + 1)); }

# --- ws_frame, model_ws: whole messages as they are --------------------------
for f in "$fixtures"/ws/*.json; do
    n="ws-$(basename "$f" .json)"
    seed ws_frame "$n" < "$f"; note
    seed model_ws "$n" < "$f"; note
done
for mode in json binary zstd zstd-dict; do
    for f in "$fixtures/frames/$mode"/*.bin; do
        n="$mode-$(basename "$f" .bin)"
        seed ws_frame "$n" < "$f"; note
        [[ $mode == json || $mode == binary ]] && { seed model_ws "$n" < "$f"; note; }
    done
done

# Dense documents: one value per two bytes (JSON) or per byte (MessagePack), the shape
# that the node limit (too_complex) is about; small enough to keep the fuzzer fast.
{ printf '{"channel":"odds","payload":[0'; printf ',0%.0s' $(seq 1 16383); printf ']}'; } \
    | seed model_ws dense-json; note
{ printf '\x82\xa7channel\xa4odds\xa7payload\xdc\x40\x00'; head -c 16384 /dev/zero | tr '\0' '\300'; } \
    | seed model_ws dense-msgpack; note
# Dense documents: valid JSON within every size bound whose parse builds many values
# (a long flat array, deep nesting, many keys). Parsing cost, not size, is what they test.
dense_array() { printf '{"channel":"odds","type":"UPDATE","entryId":"1766399998562-7","payload":['; for _ in $(seq 1 2047); do printf '0,'; done; printf '0]}'; }
dense_nested() { printf '{"channel":"odds","type":"UPDATE","entryId":"1766399998562-8","payload":'; for _ in $(seq 1 60); do printf '['; done; for _ in $(seq 1 60); do printf ']'; done; printf '}'; }
dense_keys() { printf '{"channel":"odds","type":"UPDATE","entryId":"1766399998562-9","payload":{'; for i in $(seq 1 999); do printf '"k%d":[],' "$i"; done; printf '"k0":{}}}'; }
for d in array nested keys; do
    "dense_$d" | seed model_ws "dense-$d"; note
    { byte 8; "dense_$d"; } | seed frame_decoder "dense-$d"; note
done

# --- model_img: one line each ------------------------------------------------
for f in "$fixtures"/img/*.json; do
    seed model_img "$(basename "$f" .json)" < "$f"; note
done
# Dense IMG lines, the same three shapes as for model_ws: a 2,048-element array (in a
# market update), 60 levels of nesting, 1,000 keys.
img_head() { printf '{"mode":"push","type":"%s","publish_time":"2025-03-14 08:50:11.331473","is_recovery":false,"msg":' "$1"; }
{ img_head market_update; printf '{"id":"m1","status":"open","selections":['; for _ in $(seq 1 2047); do printf '0,'; done; printf '0]}}\n'; } \
    | seed model_img dense-array; note
{ img_head market; for _ in $(seq 1 60); do printf '['; done; for _ in $(seq 1 60); do printf ']'; done; printf '}\n'; } \
    | seed model_img dense-nested; note
{ img_head event; printf '{'; for i in $(seq 1 999); do printf '"k%d":[],' "$i"; done; printf '"k0":{}}}\n'; } \
    | seed model_img dense-keys; note

# --- line_decoder: [limit|cr] [4 chunk sizes] stream --------------------------
all_img_lines() { cat "$fixtures"/img/*.json; }
{ byte 127; byte 0; byte 6; byte 63; byte 255; all_img_lines; } | seed line_decoder img-127; note
{ byte 40; byte 2; byte 0; byte 17; byte 1; all_img_lines; } | seed line_decoder img-40; note
{ byte $((128 + 100)); byte 9; byte 3; byte 200; byte 0; all_img_lines | tr '\n' '\r'; } \
    | seed line_decoder img-cr-mode; note
{ byte 8; byte 0; byte 0; byte 0; byte 0; printf 'ok\r\n\n  \r\nway too long a line\nok\r'; } \
    | seed line_decoder small; note

# --- zstd_decompress: [op] input ------------------------------------------------
for mode in zstd zstd-dict; do
    for f in "$fixtures/frames/$mode"/*.bin; do
        n="$mode-$(basename "$f" .bin)"
        { byte 0; cat "$f"; } | seed zstd_decompress "decode-$n"; note
        { byte 1; cat "$f"; } | seed zstd_decompress "nodict-$n"; note
    done
done
for d in odds:740826216 fixtures:740826217 bookmakers:740826218; do
    name="${d%%:*}"; id="${d##*:}"
    { byte 2; le32 "$id"; byte 0; base64 -w0 "$fixtures/dicts/$name.dict"; } \
        | seed zstd_decompress "base64-$name"; note
    { byte 3; cat "$fixtures/dicts/$name.dict"; } | seed zstd_decompress "raw-$name"; note
done

# --- frame_decoder: [mode | text<<3 | dicts<<4] message --------------------------
for f in "$fixtures"/ws/*.json; do
    { byte 8; cat "$f"; } | seed frame_decoder "text-$(basename "$f" .json)"; note
done
mode_flags() { case "$1" in json) echo 9 ;; binary) echo 2 ;; zstd) echo 3 ;; zstd-dict) echo 20 ;; esac; }
for mode in json binary zstd zstd-dict; do
    for f in "$fixtures/frames/$mode"/*.bin; do
        { byte "$(mode_flags "$mode")"; cat "$f"; } \
            | seed frame_decoder "$mode-$(basename "$f" .bin)"; note
        { byte 16; cat "$f"; } | seed frame_decoder "sniff-$mode-$(basename "$f" .bin)"; note
    done
done

# --- session_ws: [flags] then operations (see fuzz_targets/session_ws.rs) ---------
# Op selectors: 0 connect, 1 text, 2 binary, 3 canned, 4 close, 5 abrupt close,
# 6 advance, 7 connect failed, 8 activity, 9 consumed, 10 timeout.
# Frames come from the target's canned list (op 3, connection, index), so the seeds
# stay small (a run is cheap) and at most MAX_OPS (16) operations long. Canned
# indices: 0 login_ok, 1 login_ok_downgraded, 2 dict (small), 3 error_login_failed,
# 4 resume_complete, 5 snapshot_required, 6 reconnect, 7 unknown_control, 8-13 text
# data (odds, fixtures, bookmakers, scores, clocks, unknown channel), 14-16 binary
# data, 17-19 zstd data, 20-24 zstd-dict data with the fixture dictionaries (never
# loaded here: unknown_dict), 25 json-in-binary data, 26 login_ok binary, 27 login_ok
# zstd, 28 login_ok zstd-dict with resume, 29-33 data compressed with the small
# dictionary of 2 (odds, scores, clocks, fixtures, odds with a content size).
canned() { byte 3; byte "$1"; byte "$2"; }    # canned CONN INDEX
W=$fixtures/ws
{
    byte 3                                     # zstd-dict, fresh start
    byte 0                                     # connect
    canned 0 0; canned 0 2                     # login_ok, dict odds (small)
    for i in 29 30 31 32 33; do canned 0 $i; done
    byte 9; byte 0; le32 399998562; byte 1     # consumed odds
    byte 6; le16 5000                          # 20 s pass: ping
    byte 8; byte 0                             # activity
} | seed session_ws zstd-dict-flow; note
{
    byte 3                                     # zstd-dict, fresh start
    byte 0
    canned 0 0; canned 0 2; canned 0 29        # login_ok, dict odds (small), odds
    canned 0 6                                 # reconnect
    byte 0                                     # second connection
    canned 1 0; canned 1 2; canned 1 29
    byte 4; byte 0; byte 1; byte 0             # close conn 0 with 1001, no reason
    byte 6; le16 20000                         # 80 s pass: dead
} | seed session_ws zstd-dict-reconnect-flow; note
{
    byte $((0 + 8))                            # json, resuming
    byte 0
    canned 0 1                                 # login_ok downgraded
    for i in 8 9 10 11 12 13 4 5 7; do canned 0 $i; done
    byte 1; byte 0; blob "$W/data_clocks.json" # a fuzzable text frame
    canned 0 17                                # binary in json mode
    byte 5; byte 0                             # abrupt close
} | seed session_ws json-resume-flow; note
{
    byte $((0 + 8))                            # json, resuming
    byte 0
    canned 0 1                                 # login_ok downgraded
    byte 5; byte 0                             # abrupt close
    byte 7                                     # connect failed
    byte 0
    canned 1 3                                 # login failed
    byte 4; byte 1; byte 4; byte 6; printf bad-ky                # close 1008 "bad-ky"
} | seed session_ws json-login-failed-flow; note
{
    byte 1                                     # binary mode
    byte 0
    canned 0 26                                # login_ok binary
    for i in 14 15 16 25; do canned 0 $i; done
    byte 2; byte 0; blob "$fixtures/frames/binary/data_scores.bin"   # a fuzzable binary frame
    byte 10
    byte 4; byte 0; byte 10; byte 0            # close 4003
} | seed session_ws binary-flow; note
{
    byte 6                                     # zstd mode, once
    byte 0
    canned 0 27                                # login_ok zstd
    for i in 17 18 19 20; do canned 0 $i; done
    byte 4; byte 0; byte 0; byte 0             # close 1000
} | seed session_ws zstd-once-flow; note
{
    byte $((3 + 8))                            # zstd-dict, resuming
    byte 0
    canned 0 28; canned 0 2                    # login_ok with resume, dict odds (small)
    canned 0 29; canned 0 4                    # replayed odds, resume_complete
    byte 9; byte 3; le32 418738000; byte 201   # consumed scores
    byte 6; le16 65535                         # a long silence
} | seed session_ws zstd-dict-resume-flow; note
{
    byte 3                                     # zstd-dict, fresh start
    byte 0
    canned 0 0; canned 0 2                     # login_ok, dict odds (small)
    for i in 20 21 22 23 24; do canned 0 $i; done   # fixture dictionaries: unknown_dict
} | seed session_ws zstd-dict-unknown-flow; note

# --- session_img: [flags] then operations (see fuzz_targets/session_img.rs) -------
# Op selectors: 0 connect, 1 bytes, 2 canned, 3 EOF, 4 transport error,
# 5 advance, 6 request, 7 standing request, 8 timeout. At most MAX_OPS (16) operations.
I=$fixtures/img
{
    byte 0
    byte 7; byte 0; byte 0; byte 0; byte 1                     # standing subscribe {}
    byte 0                                                     # connect
    byte 1; blob "$I/resp_session_initialized.json"
    for f in "$I"/push_*.json "$I"/resp_ok.json "$I"/unknown.json; do byte 1; blob "$f"; done
    byte 6; byte 1; byte 1; byte 0; byte 0; byte 0; byte 1     # subscribe with event_ids
    byte 5; le16 3000                                          # 12 s: stale
} | seed session_img full-flow; note
{
    byte 0
    byte 7; byte 0; byte 0; byte 0; byte 1                     # standing subscribe {}
    byte 0                                                     # connect
    byte 1; blob "$I/resp_session_initialized.json"
    byte 2; byte 10; byte 40                                   # heartbeat, split
    byte 1; blob "$I/disconnect_slow_reader.json"
    byte 3                                                     # EOF
    byte 0
    byte 1; blob "$I/resp_error.json"
} | seed session_img disconnect-flow; note
{
    byte $((4 + 8 + 16))                       # once, 256-byte lines, 4 outstanding
    byte 0
    for i in 1 2 3 4 5 6; do byte 6; byte 0; byte 0; byte 0; byte 1; done
    byte 2; byte 0; byte 0
    byte 5; le16 5000                          # dead
} | seed session_img limits-flow; note

# --- record_reader: a small real recording, torn and bit-flipped ------------
rec="$fuzz_dir/seeds/record_reader/small.rec"
if [[ -f $rec ]]; then
    seed record_reader small < "$rec"; note
    len=$(size "$rec")
    for cut in 7 24 $((len / 3)) $((len / 2)) $((len - 1)); do
        head -c "$cut" "$rec" | seed record_reader "torn-$cut"; note
    done
    for at in 9 30 $((len / 2)); do
        { head -c "$at" "$rec"; tail -c +$((at + 1)) "$rec" | head -c 1 | tr '\000-\377' '\200-\377\000-\177'; tail -c +$((at + 2)) "$rec"; } \
            | seed record_reader "flip-$at"; note
    done
fi

echo "seed.sh: wrote $count seeds under $corpus"
