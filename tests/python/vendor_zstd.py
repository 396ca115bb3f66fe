# The vendor's Python example for receiveType "zstd", from its zstd documentation page.
#
# Changed from the vendor's text ONLY where marked "[changed]":
#   - URL and API key come from the command line / environment instead of constants;
#   - it is finite: it stops when the server closes (the vendor's `async for` already ends on a
#     normal close) or after LIMIT data frames, if a limit is given;
#   - each decoded data frame is also printed to stdout as one compact JSON line, so a test can
#     compare what it decoded; the vendor's own prints go to stderr, so stdout is data only.
# Everything else (the login, the text/binary split, the dictless ZstdDecompressor and its
# decompress(raw, max_output_size=MAX_OUT) call, max_size=4194304) is the vendor's.
#
# Usage: ODDSPAPI_API_KEY=KEY python vendor_zstd.py [WS_URL [LIMIT]]
import asyncio, json, websockets
import zstandard as zstd
import os, sys  # [changed] for argv / env

WS_URL = sys.argv[1] if len(sys.argv) > 1 else "wss://v5.oddspapi.io/ws"  # [changed]
API_KEY = os.environ.get("ODDSPAPI_API_KEY", "YOUR_API_KEY")  # [changed]
LIMIT = int(sys.argv[2]) if len(sys.argv) > 2 else None  # [changed] None = until the server closes
dctx = zstd.ZstdDecompressor()
MAX_OUT = 64 * 1024 * 1024  # frames carry no content size — pass an upper bound

async def main():
    seen = 0  # [changed] data frames decoded so far
    async with websockets.connect(WS_URL, max_size=4194304) as ws:
        await ws.send(json.dumps({
            "type": "login", "apiKey": API_KEY,
            "channels": ["odds", "fixtures"], "receiveType": "zstd",
        }))
        async for raw in ws:
            if isinstance(raw, str):                       # control (JSON)
                msg = json.loads(raw)
                if msg.get("type") == "login_ok" and msg.get("receiveType") != "zstd":
                    # [changed] to stderr (the vendor prints it to stdout)
                    print("zstd disabled here, negotiated:", msg.get("receiveType"), file=sys.stderr)
                continue
            data = json.loads(dctx.decompress(raw, max_output_size=MAX_OUT))
            # [changed] the vendor's print kept, on stderr; the decoded frame as a JSON line on stdout
            print("DATA:", data.get("channel"), data.get("entryId"), file=sys.stderr)
            print(json.dumps(data, separators=(",", ":")), flush=True)
            seen += 1  # [changed] finite: stop after LIMIT data frames
            if LIMIT is not None and seen >= LIMIT:
                break

asyncio.run(main())
