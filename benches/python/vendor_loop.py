"""The vendor's Python example decode loop (the OddsPapi "Compression" page: "Python examples", plus the
dictionary store the same page describes for zstd-dict), reading a recorded corpus instead
of a socket. Everything per frame is as the example does it: one module-level
ZstdDecompressor, `max_output_size=64 MiB` on every call (the feed's frames carry no content
size, so zstandard allocates that bound for each frame), the standard library's `json.loads`,
then the message's channel and entryId are read (the example prints them; printing is left
out so the loop measures decoding, not the terminal).

usage: python vendor_loop.py --corpus DIR [--mode zstd-dict|zstd|json] [--passes N]
Prints one JSON line like `oddsfeed bench decode`.
"""

import json
import sys

import zstandard as zstd

sys.dont_write_bytecode = True  # keep benches/python free of __pycache__
import corpus  # noqa: E402

dctx = zstd.ZstdDecompressor()
MAX_OUT = 64 * 1024 * 1024  # frames carry no content size — pass an upper bound


def main():
    args = corpus.parse_args(__doc__.splitlines()[0])
    frames = corpus.read_frames(args.corpus)
    # zstd-dict: "Build a reusable zstd decoder from it, stored keyed by dictId".
    store = {
        i: zstd.ZstdDecompressor(dict_data=zstd.ZstdCompressionDict(raw))
        for i, raw in corpus.read_dicts(args.corpus).items()
    }

    def zstd_pass(frames):
        n = 0
        for raw in frames:
            text = dctx.decompress(raw, max_output_size=MAX_OUT)
            data = json.loads(text)
            data.get("channel"), data.get("entryId")
            n += len(text)
        return n

    def zstd_dict_pass(frames):
        n = 0
        for raw in frames:
            i = zstd.get_frame_parameters(raw).dict_id  # 0 ⇒ no dict
            d = store.get(i, dctx)  # undefined ⇒ dictless
            text = d.decompress(raw, max_output_size=MAX_OUT)
            data = json.loads(text)
            data.get("channel"), data.get("entryId")
            n += len(text)
        return n

    def json_pass(frames):
        n = 0
        for raw in frames:
            data = json.loads(raw.decode("utf-8"))  # a text frame arrives as str
            data.get("channel"), data.get("entryId")
            n += len(raw)
        return n

    passes = {"zstd": zstd_pass, "zstd-dict": zstd_dict_pass, "json": json_pass}
    corpus.run_passes(args, frames, passes[args.mode])


if __name__ == "__main__":
    main()
