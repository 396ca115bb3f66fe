"""Shared helpers of the Python decode loops: read a decode corpus (docs/CLI.md `bench decode`
layout), time passes, and print the same one-line JSON report as `oddsfeed bench decode`.

Only the standard library is used here, so the loops' own imports are the only difference
between them.
"""

import argparse
import json
import os
import struct
import sys
import time

MODES = ("json", "zstd", "zstd-dict")


def parse_args(description):
    """The flags shared by both loops: the same names as `oddsfeed bench decode`."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--corpus", required=True, help="corpus directory (frames.bin, <dictId>.dict)")
    p.add_argument("--mode", default="zstd-dict", choices=MODES, help="receive type of the corpus")
    p.add_argument("--passes", type=int, default=3, help="passes over the corpus; the best is reported")
    args = p.parse_args()
    if args.passes < 1:
        p.error("--passes must be at least 1")
    return args


def read_frames(corpus):
    """The frames of `corpus/frames.bin`: u32 little-endian length + that many bytes, repeated."""
    with open(os.path.join(corpus, "frames.bin"), "rb") as f:
        data = f.read()
    frames = []
    at = 0
    while at < len(data):
        if at + 4 > len(data):
            raise SystemExit("frames.bin: truncated record length")
        (n,) = struct.unpack_from("<I", data, at)
        at += 4
        if at + n > len(data):
            raise SystemExit("frames.bin: truncated record body")
        frames.append(data[at : at + n])
        at += n
    return frames


def read_dicts(corpus):
    """{dictId: raw bytes} from the `<dictId>.dict` files of `corpus` (other files ignored)."""
    dicts = {}
    for name in os.listdir(corpus):
        stem, ext = os.path.splitext(name)
        if ext == ".dict" and stem.isdigit():
            with open(os.path.join(corpus, name), "rb") as f:
                dicts[int(stem)] = f.read()
    return dicts


def run_passes(args, frames, decode_pass):
    """Runs `decode_pass(frames)` `args.passes` times; it returns the decoded byte count of one
    pass. Prints the report line of the best pass on stdout and returns it."""
    bytes_in = sum(len(f) for f in frames)
    best = None
    bytes_out = 0
    for _ in range(args.passes):
        start = time.perf_counter()
        bytes_out = decode_pass(frames)
        elapsed = time.perf_counter() - start
        if best is None or elapsed < best:
            best = elapsed
    best = max(best, 1e-9)
    report = {
        "mode": args.mode,
        "frames": len(frames),
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
        "passes": args.passes,
        "frames_per_s": round(len(frames) / best, 1),
        "mb_per_s": round(bytes_out / best / 1e6, 3),
    }
    sys.stdout.write(json.dumps(report, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    return report
