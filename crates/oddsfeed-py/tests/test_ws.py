"""oddsfeed.WsClient against `oddsfeed sim ws`."""

import _thread
import asyncio
import json
import threading
import time
from collections import defaultdict

import pytest

import oddsfeed
from conftest import API_KEY, HANG_GUARD, cli_lines, cli_stats_event, normalize

MESSAGES = 300
SEED = "7"
MODES = ["json", "binary", "zstd", "zstd-dict"]
ALL_CHANNELS = "odds,fixtures,bookmakers,scores,clocks"
#: The channels compared across two simulators: as in the CLI's vendor-example test, the
#: ones whose values depend on the wall clock only through TIME_KEYS.
COMPARED = ["odds", "fixtures"]


def ws_sim(sim, *extra):
    return sim("ws", "--messages", str(MESSAGES), "--seed", SEED, "--api-key", API_KEY, *extra)


@pytest.mark.parametrize("mode", MODES)
def test_messages_equal_the_cli_output(bin_path, sim, mode):
    """Every receive type: the package yields what `oddsfeed ws` prints for the same stream
    (two simulators with one seed; they differ only in wall-clock values, masked)."""
    reference = ws_sim(sim)
    printed = cli_lines(
        bin_path,
        ["ws", "--url", reference.url, "--api-key", API_KEY, "--receive-type", mode, "--once",
         "--channels", ",".join(COMPARED)],
    )
    assert printed, "the CLI printed nothing"

    served = ws_sim(sim)
    client = oddsfeed.WsClient(served.url, API_KEY, channels=COMPARED, receive_type=mode, once=True)
    got = list(client)
    client.close()
    assert all(type(m) is dict for m in got)
    assert len(got) == len(printed)
    for i, (mine, cli) in enumerate(zip(got, printed)):
        assert normalize(mine) == normalize(cli), f"message {i} differs"
    stats = client.stats()
    assert stats["messages"] == len(printed)
    assert sum(stats["channels"].values()) == len(printed)
    assert set(stats["channels"]) <= set(COMPARED)
    assert stats["frames"] >= len(printed)
    assert stats["wire_bytes"] > 0 and stats["decoded_bytes"] > 0
    assert stats["decode_errors"] == 0
    assert stats["reconnects"] == 0


def test_stats_has_the_keys_and_counts_of_the_cli_stats_event(bin_path, sim):
    """`stats()` returns the CLI's `stats` event (without `event`/`ts`): the same keys, and for
    the same stream the same message counts per channel (byte counts differ: the simulator
    stamps wall-clock times into the payloads)."""
    reference = ws_sim(sim)
    printed, cli_stats = cli_stats_event(
        bin_path, ["ws", "--url", reference.url, "--api-key", API_KEY, "--once"]
    )
    served = ws_sim(sim)
    client = oddsfeed.WsClient(served.url, API_KEY, once=True)
    got = list(client)
    live = client.stats()
    client.close()
    after_close = client.stats()
    assert set(live) == set(cli_stats), (sorted(live), sorted(cli_stats))
    assert after_close == live
    assert len(got) == len(printed) == MESSAGES
    for key in ("messages", "channels", "decode_errors", "reconnects"):
        assert live[key] == cli_stats[key], key
    assert live["messages"] == MESSAGES
    assert live["frames"] > MESSAGES  # data frames plus login_ok and the dictionaries
    assert 0 < live["wire_bytes"] < live["decoded_bytes"]  # zstd-dict compresses


def test_message_is_json_loads_of_the_same_line(bin_path, sim):
    """Within one run, each dict equals `json.loads` of the message's text: the decoder's
    output for the same frame (fixture-level exactness is in test_decoder.py)."""
    served = ws_sim(sim)
    with oddsfeed.WsClient(served.url, API_KEY, receive_type="json", once=True) as client:
        got = list(client)
    assert len(got) == MESSAGES
    for msg in got:
        assert json.loads(json.dumps(msg)) == msg
        assert isinstance(msg["channel"], str) and isinstance(msg["entryId"], str)


def test_async_iteration_yields_the_same_stream(sim):
    served = ws_sim(sim)

    async def collect():
        client = oddsfeed.WsClient(served.url, API_KEY, once=True)
        out = [msg async for msg in client]
        client.close()
        return out

    got = asyncio.run(asyncio.wait_for(collect(), HANG_GUARD))
    assert len(got) == MESSAGES
    ids = [m["entryId"] for m in got]
    assert len(set(ids)) == len(ids)


def test_events_come_in_between_when_asked(sim):
    served = ws_sim(sim)
    client = oddsfeed.WsClient(served.url, API_KEY, once=True, include_events=True)
    items = list(client)
    client.close()
    events = [i for i in items if "event" in i]
    data = [i for i in items if "event" not in i]
    assert len(data) == MESSAGES
    names = [e["event"] for e in events]
    assert "connecting" in names and "login_ok" in names, names
    login_ok = next(e for e in events if e["event"] == "login_ok")
    assert login_ok["receiveType"] == "zstd-dict"
    assert any(e["event"] == "dict" for e in events)


def test_resume_across_two_clients_sharing_a_state_file(bin_path, sim, tmp_path):
    """The first client stops after 120 messages; a second one with the same state file
    continues after them: per channel, the two together are the whole stream, once."""
    extra = ("--replay-channels", ALL_CHANNELS)
    reference = ws_sim(sim, *extra)
    printed = cli_lines(
        bin_path,
        ["ws", "--url", reference.url, "--api-key", API_KEY, "--once", "--channels", ",".join(COMPARED)],
    )
    assert len(printed) > 120
    served = ws_sim(sim, *extra)
    state = tmp_path / "state.json"

    first = oddsfeed.WsClient(served.url, API_KEY, channels=COMPARED, state=str(state))
    got_first = []
    for msg in first:
        got_first.append(msg)
        if len(got_first) == 120:
            break
    first.close()
    assert state.is_file()

    second = oddsfeed.WsClient(served.url, API_KEY, channels=COMPARED, state=state, once=True)
    got_second = list(second)
    second.close()

    def by_channel(messages):
        out = defaultdict(list)
        for m in messages:
            out[m["channel"]].append(normalize(m))
        return out

    combined = by_channel(got_first + got_second)
    expected = by_channel(printed)
    assert sorted(combined) == sorted(expected)
    for channel in expected:
        assert combined[channel] == expected[channel], f"channel {channel}"
    ids = [(m["channel"], m["entryId"]) for m in got_first + got_second]
    assert len(set(ids)) == len(ids) == len(printed)


def test_refused_key_raises_auth_error_without_once(sim):
    served = ws_sim(sim)
    client = oddsfeed.WsClient(served.url, "not-the-key")
    with pytest.raises(oddsfeed.AuthError) as caught:
        next(iter(client))
    assert isinstance(caught.value, oddsfeed.FeedError)
    assert "not-the-key" not in str(caught.value)
    # The refusal ended the client.
    with pytest.raises(StopIteration):
        next(client)
    client.close()


def test_keyboard_interrupt_ends_a_blocking_iteration(sim):
    """An idle feed blocks `next`; Ctrl-C (here: interrupt_main from a timer) ends it as
    KeyboardInterrupt. The bound is a hang guard, not a speed goal."""
    served = ws_sim(sim)
    client = oddsfeed.WsClient(served.url, API_KEY)
    for n, _ in enumerate(client, 1):
        if n == MESSAGES:
            break
    sent = []

    def interrupt():
        sent.append(time.monotonic())
        _thread.interrupt_main()

    timer = threading.Timer(0.3, interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        next(client)  # the simulator has nothing more to send
    assert time.monotonic() - sent[0] < 5.0
    client.close()


def test_close_from_another_thread_ends_a_blocking_iteration(sim):
    served = ws_sim(sim)
    client = oddsfeed.WsClient(served.url, API_KEY)
    for n, _ in enumerate(client, 1):
        if n == MESSAGES:
            break
    closer = threading.Timer(0.3, client.close)
    closer.start()
    with pytest.raises(StopIteration):
        next(client)  # idle feed: only close() ends this wait
    closer.join(HANG_GUARD)
    assert not closer.is_alive()


def test_close_after_a_cancelled_async_iteration(sim, tmp_path):
    """Ctrl-C under asyncio.run cancels the task while the executor thread still waits on the
    client: close() (as `with` does) waits for that wait to end instead of failing, and saves
    the cursors."""
    served = ws_sim(sim, "--replay-channels", ALL_CHANNELS)
    state = tmp_path / "state.json"

    async def run():
        client = oddsfeed.WsClient(served.url, API_KEY, state=str(state))
        got = []

        async def consume():
            async for msg in client:
                got.append(msg)

        task = asyncio.create_task(consume())
        while len(got) < MESSAGES:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)  # idle feed: the executor thread is waiting on the client
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        client.close()
        return got

    got = asyncio.run(asyncio.wait_for(run(), HANG_GUARD))
    assert len(got) == MESSAGES
    saved = json.loads(state.read_text())
    last = {}
    for msg in got:
        last[msg["channel"]] = msg["entryId"]
    assert saved["lastSeenId"] == last


def rss_bytes():
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import resource

    return pages * resource.getpagesize()


def test_slow_consumer_stays_bounded(sim):
    """Policy: the queue towards Python is bounded (event_queue); a consumer that stops
    reading makes the client stop reading the socket. Nothing is dropped, memory flat."""
    served = sim("ws", "--forever", "--seed", SEED, "--api-key", API_KEY)
    client = oddsfeed.WsClient(served.url, API_KEY, event_queue=256)
    first = next(client)
    before = rss_bytes()
    # The client fills its queue and the socket buffers, then stops reading: wait until the
    # byte count holds still (an unpaced simulator would otherwise send tens of thousands of
    # messages a second), then check that it stays still.
    deadline = time.monotonic() + HANG_GUARD
    wire = client.stats()["wire_bytes"]
    while True:
        time.sleep(0.5)
        now = client.stats()["wire_bytes"]
        if now == wire:
            break
        wire = now
        assert time.monotonic() < deadline, "the client kept reading while Python did not consume"
    time.sleep(1.0)
    assert client.stats()["wire_bytes"] == wire, "the client read again while Python did not consume"
    grown = rss_bytes() - before
    assert grown < 64 << 20, f"RSS grew by {grown} bytes"
    # Reading again resumes the stream where it stopped: nothing was lost.
    seen = {first["channel"]: first["entryId"]}
    for n, msg in enumerate(client, 1):
        seen[msg["channel"]] = msg["entryId"]
        if n == 2000:
            break
    stats = client.stats()
    assert stats["messages"] == 2001
    assert stats["decode_errors"] == 0
    assert stats["reconnects"] == 0  # the server never gave up on the client
    client.close()


def test_unknown_filter_is_a_type_error():
    with pytest.raises(TypeError):
        oddsfeed.WsClient("ws://127.0.0.1:9/ws", API_KEY, sport=[10])
    with pytest.raises(ValueError):
        oddsfeed.WsClient("ws://127.0.0.1:9/ws", API_KEY, receive_type="gzip")
