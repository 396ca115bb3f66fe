"""A tuned Python decode loop: what a careful Python client can do with the same libraries.

Differences from vendor_loop.py, each a known Python-side cost:
- the output bound: zstandard allocates `max_output_size` for every size-less frame, so the
  loop first tries a 1 MiB bound (small enough for the allocator to reuse heap memory) and
  retries a frame at the vendor's 64 MiB bound only when it does not fit; the 64 MiB limit
  per message is kept;
- one reused ZstdDecompressor per dictionary (as the vendor's store), looked up by the
  frame's dictId;
- orjson instead of the standard library's json.

usage: python tuned_loop.py --corpus DIR [--mode zstd-dict|zstd|json] [--passes N]
Prints one JSON line like `oddsfeed bench decode`.
"""

import sys

import orjson
import zstandard as zstd

sys.dont_write_bytecode = True  # keep benches/python free of __pycache__
import corpus  # noqa: E402

FIRST_TRY = 1 << 20  # bytes: bigger than any ordinary message
MAX_OUT = 64 * 1024 * 1024  # the vendor's bound, kept as the hard limit


def main():
    args = corpus.parse_args(__doc__.splitlines()[0])
    frames = corpus.read_frames(args.corpus)
    plain = zstd.ZstdDecompressor()
    store = {
        i: zstd.ZstdDecompressor(dict_data=zstd.ZstdCompressionDict(raw))
        for i, raw in corpus.read_dicts(args.corpus).items()
    }
    frame_params = zstd.get_frame_parameters
    loads = orjson.loads
    ZstdError = zstd.ZstdError

    def decompress(d, raw):
        try:
            return d.decompress(raw, max_output_size=FIRST_TRY)
        except ZstdError:
            return d.decompress(raw, max_output_size=MAX_OUT)

    def zstd_pass(frames):
        n = 0
        for raw in frames:
            text = decompress(plain, raw)
            data = loads(text)
            data.get("channel"), data.get("entryId")
            n += len(text)
        return n

    def zstd_dict_pass(frames):
        n = 0
        get = store.get
        for raw in frames:
            text = decompress(get(frame_params(raw).dict_id, plain), raw)
            data = loads(text)
            data.get("channel"), data.get("entryId")
            n += len(text)
        return n

    def json_pass(frames):
        n = 0
        for raw in frames:
            data = loads(raw)
            data.get("channel"), data.get("entryId")
            n += len(raw)
        return n

    passes = {"zstd": zstd_pass, "zstd-dict": zstd_dict_pass, "json": json_pass}
    corpus.run_passes(args, frames, passes[args.mode])


if __name__ == "__main__":
    main()
