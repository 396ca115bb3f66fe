# The vendor's Python example (see vendor_zstd.py) in receiveType "zstd-dict", with the
# dictionary store the same vendor page describes for that mode:
#   on a `dict` control frame: base64-decode `data`, build a reusable decoder, store it by dictId;
#   on a binary frame:         id = getDictID(frame); dict = store[id] (missing => dictless);
#                              JSON.parse(zstd.decompress(frame, dict)).
# Changed from vendor_zstd.py only where marked "[dict]"; the "[changed]" lines are the same
# URL/key/finite/stdout changes as there.
#
# Usage: ODDSPAPI_API_KEY=KEY python vendor_zstd_dict.py [WS_URL [LIMIT]]
import asyncio, json, websockets
import zstandard as zstd
import os, sys  # [changed] for argv / env
import base64  # [dict]

WS_URL = sys.argv[1] if len(sys.argv) > 1 else "wss://v5.oddspapi.io/ws"  # [changed]
API_KEY = os.environ.get("ODDSPAPI_API_KEY", "YOUR_API_KEY")  # [changed]
LIMIT = int(sys.argv[2]) if len(sys.argv) > 2 else None  # [changed] None = until the server closes
dctx = zstd.ZstdDecompressor()
MAX_OUT = 64 * 1024 * 1024  # frames carry no content size — pass an upper bound
store = {}  # [dict] dictId -> ZstdDecompressor built on that dictionary

async def main():
    seen = 0  # [changed] data frames decoded so far
    async with websockets.connect(WS_URL, max_size=4194304) as ws:
        await ws.send(json.dumps({
            "type": "login", "apiKey": API_KEY,
            "channels": ["odds", "fixtures"], "receiveType": "zstd-dict",  # [dict] mode
        }))
        async for raw in ws:
            if isinstance(raw, str):                       # control (JSON)
                msg = json.loads(raw)
                if msg.get("type") == "login_ok" and msg.get("receiveType") != "zstd-dict":  # [dict]
                    # [changed] to stderr (the vendor prints it to stdout)
                    print("zstd disabled here, negotiated:", msg.get("receiveType"), file=sys.stderr)
                if msg.get("type") == "dict":  # [dict] cache the pushed dictionary by its dictId
                    d = zstd.ZstdCompressionDict(base64.b64decode(msg["data"]))
                    store[msg["dictId"]] = zstd.ZstdDecompressor(dict_data=d)
                continue
            frame_dctx = store.get(zstd.get_frame_parameters(raw).dict_id, dctx)  # [dict] 0/missing => dictless
            data = json.loads(frame_dctx.decompress(raw, max_output_size=MAX_OUT))  # [dict] frame_dctx
            # [changed] the vendor's print kept, on stderr; the decoded frame as a JSON line on stdout
            print("DATA:", data.get("channel"), data.get("entryId"), file=sys.stderr)
            print(json.dumps(data, separators=(",", ":")), flush=True)
            seen += 1  # [changed] finite: stop after LIMIT data frames
            if LIMIT is not None and seen >= LIMIT:
                break

asyncio.run(main())
