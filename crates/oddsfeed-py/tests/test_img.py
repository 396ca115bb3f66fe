"""oddsfeed.ImgClient against `oddsfeed sim img --tcp`."""

import json

import pytest

import oddsfeed
from conftest import cli_lines

SUBSCRIBE = {"request": "subscribe", "msg": {}}


def img_sim(sim):
    return sim("img", "--tcp", "--messages", "40", "--seed", "3")


def test_tcp_objects_equal_the_cli_output(bin_path, sim):
    reference = img_sim(sim)
    printed = cli_lines(
        bin_path,
        ["img", "--addr", reference.host_port, "--tcp", "--once", "--request", json.dumps(SUBSCRIBE)],
    )
    assert printed, "the CLI printed nothing"

    served = img_sim(sim)
    # Requests as dicts or JSON strings.
    with oddsfeed.ImgClient(served.host_port, tcp=True, requests=[json.dumps(SUBSCRIBE)], once=True) as client:
        got = list(client)
    assert all(type(m) is dict for m in got)
    assert [m.get("type", m.get("mode")) for m in got] == [m.get("type", m.get("mode")) for m in printed]
    assert not any(m.get("type") == "heartbeat" for m in got)

    served = img_sim(sim)
    with oddsfeed.ImgClient(served.host_port, requests=[SUBSCRIBE], once=True, include_events=True) as client:
        items = list(client)
    names = [i["event"] for i in items if "event" in i]
    assert "connected" in names and "session_initialized" in names, names
    assert len([i for i in items if "event" not in i]) == len(got)


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
