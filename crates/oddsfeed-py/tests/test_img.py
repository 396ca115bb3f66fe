"""oddsfeed.ImgClient against `oddsfeed sim img --tcp`."""

import json

import pytest

import oddsfeed
from conftest import cli_lines, cli_stats_event

SUBSCRIBE = {"request": "subscribe", "msg": {}}


def img_sim(sim):
    return sim("img", "--tcp", "--messages", "40", "--seed", "3")


def test_tcp_objects_equal_the_cli_output(bin_path, sim):
    # After `init` alone the simulator sends the init response and its snapshot, in an order
    # that does not depend on timing (with a subscription, the response and the snapshot
    # interleave differently from run to run), so the two outputs can be compared exactly.
    reference = img_sim(sim)
    printed = cli_lines(bin_path, ["img", "--addr", reference.host_port, "--tcp", "--once"])
    assert printed, "the CLI printed nothing"

    served = img_sim(sim)
    with oddsfeed.ImgClient(served.host_port, tcp=True, once=True) as client:
        got = list(client)
    assert all(type(m) is dict for m in got)
    assert [m.get("type", m.get("mode")) for m in got] == [m.get("type", m.get("mode")) for m in printed]
    assert not any(m.get("type") == "heartbeat" for m in got)

    # Requests as dicts or JSON strings; events interleaved with the objects.
    served = img_sim(sim)
    with oddsfeed.ImgClient(served.host_port, tcp=True, requests=[json.dumps(SUBSCRIBE)], once=True) as client:
        subscribed = list(client)
    # At least init's response (`"mode": "resp"`); whether the subscription's arrives before the
    # simulator's budget closes the connection depends on timing.
    assert any(m.get("mode") == "resp" for m in subscribed), subscribed[:3]

    served = img_sim(sim)
    with oddsfeed.ImgClient(served.host_port, requests=[SUBSCRIBE], once=True, include_events=True) as client:
        items = list(client)
    names = [i["event"] for i in items if "event" in i]
    assert "connected" in names and "session_initialized" in names, names
    assert all(type(i) is dict for i in items)
    assert [i for i in items if "event" not in i], "objects come with the events"


def test_stats_has_the_keys_and_counts_of_the_cli_stats_event(bin_path, sim):
    """`stats()` returns the CLI's `stats` event (without `event`/`ts`): the same keys and, for
    the init-only stream (its order does not depend on timing), the same counts per kind."""
    reference = img_sim(sim)
    printed, cli_stats = cli_stats_event(bin_path, ["img", "--addr", reference.host_port, "--tcp", "--once"])
    served = img_sim(sim)
    client = oddsfeed.ImgClient(served.host_port, tcp=True, once=True)
    got = list(client)
    live = client.stats()
    client.close()
    assert set(live) == set(cli_stats), (sorted(live), sorted(cli_stats))
    assert client.stats() == live
    assert len(got) == len(printed) == live["messages"]
    for key in ("messages", "channels", "decode_errors", "reconnects"):
        assert live[key] == cli_stats[key], key
    assert live["frames"] >= live["messages"] and live["wire_bytes"] > 0


def test_ssh_needs_its_settings():
    with pytest.raises(ValueError):
        oddsfeed.ImgClient("127.0.0.1:1", user="feed")
    with pytest.raises(ValueError):
        oddsfeed.ImgClient("127.0.0.1:1", tcp=True, user="feed", identity="/nonexistent")
    with pytest.raises(ValueError):
        oddsfeed.ImgClient("127.0.0.1:1", tcp=True, requests=[{"msg": {}}])
    with pytest.raises(oddsfeed.FeedError):
        oddsfeed.ImgClient("no-port", tcp=True)


def test_unknown_host_key_raises_host_key_error(sim, tmp_path):
    """SSH to a server whose key is not in known_hosts: HostKeyError (a FeedError)."""
    import shutil
    import subprocess

    if shutil.which("ssh-keygen") is None:
        pytest.skip("ssh-keygen not installed")
    for name in ("host", "client"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)], check=True
        )
    (tmp_path / "known_hosts").write_text("")
    served = sim(
        "img", "--ssh", "--host-key", str(tmp_path / "host"),
        "--authorized-keys", str(tmp_path / "client.pub"), "--messages", "5",
    )
    client = oddsfeed.ImgClient(
        served.host_port,
        user="feed",
        identity=str(tmp_path / "client"),
        known_hosts=str(tmp_path / "known_hosts"),
        once=True,
    )
    with pytest.raises(oddsfeed.HostKeyError):
        list(client)
    client.close()
