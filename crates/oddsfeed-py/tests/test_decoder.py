"""oddsfeed.Decoder on the checked-in fixtures (fixtures/frames, fixtures/dicts, fixtures/ws)."""

import base64
import json
import struct

import pytest

import oddsfeed
from conftest import FIXTURES

MODES = ["json", "binary", "zstd", "zstd-dict"]
NAMES = sorted(p.stem for p in (FIXTURES / "frames" / "json").glob("data_*.bin"))


def dict_frame_text(channel):
    """A `dict` control frame for fixtures/dicts/<channel>.dict, as the server sends it."""
    raw = (FIXTURES / "dicts" / f"{channel}.dict").read_bytes()
    magic, dict_id = struct.unpack_from("<II", raw, 0)
    assert magic == 0xEC30A437
    return json.dumps(
        {
            "type": "dict",
            "channel": channel,
            "dictVersion": f"{channel}-v1",
            "dictId": dict_id,
            "encoding": "base64",
            "data": base64.b64encode(raw).decode(),
        }
    )


def decoder_for(mode):
    decoder = oddsfeed.Decoder(mode)
    if mode == "zstd-dict":
        # The fixture frame of the odds dictionary, as received, and the other two built from
        # the raw dictionary files.
        assert decoder.add_dict((FIXTURES / "ws" / "dict_odds.json").read_text()) > 0
        for channel in ("fixtures", "bookmakers"):
            assert decoder.add_dict(dict_frame_text(channel)) > 0
    return decoder


def frame(mode, name):
    data = (FIXTURES / "frames" / mode / f"{name}.bin").read_bytes()
    return data.decode("utf-8") if mode == "json" else data  # json mode: text frames


@pytest.mark.parametrize("mode", MODES)
def test_every_fixture_frame_decodes_to_its_message(mode):
    assert NAMES, "no fixtures found"
    decoder = decoder_for(mode)
    for name in NAMES:
        expected = json.loads((FIXTURES / "ws" / f"{name}.json").read_text())
        got = decoder.decode(frame(mode, name))
        assert got == expected, name
        assert list(got) == list(expected), f"{name}: key order"


def test_zstd_dict_frame_without_its_dictionary_is_refused():
    decoder = oddsfeed.Decoder("zstd-dict")
    with pytest.raises(oddsfeed.FeedError, match="unknown_dict"):
        decoder.decode(frame("zstd-dict", "data_odds"))
    # The same decoder works once the dictionary is there.
    decoder.add_dict((FIXTURES / "ws" / "dict_odds.json").read_text())
    assert decoder.decode(frame("zstd-dict", "data_odds"))["channel"] == "odds"


def test_bad_input_raises_feed_error():
    decoder = oddsfeed.Decoder("zstd")
    with pytest.raises(oddsfeed.FeedError):
        decoder.decode(b"\x28\xb5\x2f\xfd garbage")
    with pytest.raises(oddsfeed.FeedError):
        decoder.add_dict((FIXTURES / "ws" / "login_ok.json").read_text())
    with pytest.raises(TypeError):
        decoder.decode(12)
    with pytest.raises(ValueError):
        oddsfeed.Decoder("gzip")


def test_control_and_multi_document_text_frames():
    decoder = oddsfeed.Decoder("json")
    login_ok = (FIXTURES / "ws" / "login_ok.json").read_text()
    assert decoder.decode(login_ok) == json.loads(login_ok)
    a = (FIXTURES / "ws" / "data_odds.json").read_text().strip()
    b = (FIXTURES / "ws" / "data_scores.json").read_text().strip()
    both = decoder.decode_all(a + "\n" + b)
    assert both == [json.loads(a), json.loads(b)]
    with pytest.raises(oddsfeed.FeedError, match="decode_all"):
        decoder.decode(a + "\n" + b)


def test_messages_equal_json_loads_on_corner_case_values():
    """Strings, numbers and structures the fast parser and the fallback must both get right."""
    base = json.loads((FIXTURES / "ws" / "data_scores.json").read_text())
    corner = {
        "escapes": "quote \" backslash \\ slash / tab \t newline \n \u0001 end",
        "unicode": "Zürich – 東京 – \U0001F3C6",
        "floats": [0.1, -0.0, 1e300, 5e-324, 2.5e-7, 123456789.123456789, 1.7976931348623157e308],
        "ints": [0, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1],
        "nested": [[[]], [{}], {"a": [1, {"b": None}]}, True, False, None],
        "empty": {"": ""},
    }
    decoder = oddsfeed.Decoder("json")
    for text in [
        json.dumps({**base, "extra": corner}, ensure_ascii=False),
        json.dumps({**base, "extra": corner}, ensure_ascii=True),
        # A repeated key keeps its first position and its last value, as in json.loads.
        json.dumps(base)[:-1] + ',"channel":"scores","z":1}',
        # A JSON-escaped surrogate pair is one character.
        json.dumps(base)[:-1] + ',"pair":"\\ud83c\\udfc6"}',
        # Beyond 64 bits: the standard library's int, ours the nearest float (equal in value).
        json.dumps({**base, "big": 2**70}),
    ]:
        got = decoder.decode(text)
        expected = json.loads(text)
        assert got == expected
        assert list(got) == list(expected)
        if "extra" in got:
            assert repr(got["extra"]["floats"]) == repr(expected["extra"]["floats"])
