"""Type stubs of the ``oddsfeed`` package (the Rust extension ``oddsfeed._oddsfeed``)."""

from os import PathLike
from types import TracebackType
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Sequence, Type, Union

__all__ = ["WsClient", "ImgClient", "Decoder", "FeedError", "AuthError", "HostKeyError"]

Message = Dict[str, Any]
"""One message or event: ``json.loads`` of the line the CLI prints for it."""

class FeedError(Exception):
    """A client stopped or could not start (configuration, state file, once-run failure,
    undecodable frame given to ``Decoder``)."""

class AuthError(FeedError):
    """The server refused the credentials (API key, SSH public key). Never retried."""

class HostKeyError(FeedError):
    """The SSH host key is unknown or changed, or known_hosts is unreadable."""

class WsClient:
    """WebSocket feed client (OddsPapi v5 style); iterate it for ``dict`` messages.

    Connects in the background; decoding, deduplication, resume and reconnects run in Rust
    without the GIL. ``state`` is the path of the resume-state file (the CLI's ``--state``).
    ``**filters``: ``sport_ids``, ``tournament_ids``, ``fixture_ids``, ``future_ids``,
    ``bookmakers``, ``lang``, ``client_name``, ``pregame``, ``live``. With
    ``include_events=True`` the events come in between (``{"event": name, ...}``). At most
    ``event_queue`` items wait for Python; a slow consumer makes the client stop reading the
    socket (memory stays bounded).
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        channels: Optional[Sequence[str]] = None,
        receive_type: str = "zstd-dict",
        state: Union[str, "PathLike[str]", None] = None,
        once: bool = False,
        include_events: bool = False,
        event_queue: int = 1024,
        insecure: bool = False,
        *,
        sport_ids: Optional[Sequence[int]] = None,
        tournament_ids: Optional[Sequence[int]] = None,
        fixture_ids: Optional[Sequence[str]] = None,
        future_ids: Optional[Sequence[str]] = None,
        bookmakers: Optional[Sequence[str]] = None,
        lang: Optional[str] = None,
        client_name: Optional[str] = None,
        pregame: Optional[bool] = None,
        live: Optional[bool] = None,
    ) -> None: ...
    def __iter__(self) -> Iterator[Message]: ...
    def __next__(self) -> Message: ...
    def __aiter__(self) -> AsyncIterator[Message]: ...
    async def __anext__(self) -> Message: ...
    def stats(self) -> Dict[str, Any]:
        """The keys of the CLI's ``stats`` event: ``messages``, ``channels`` (channel ->
        messages), ``frames``, ``wire_bytes``, ``decoded_bytes``, ``decode_errors``,
        ``reconnects``."""
    def save_state(self) -> None:
        """Saves the resume cursors now (with a ``state`` file)."""
    def close(self) -> None:
        """Closes the connection and saves the cursors; iteration ends."""
    def __enter__(self) -> "WsClient": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

class ImgClient:
    """IMG Arena-style feed client: newline JSON over SSH (host key checked) or TCP.

    TCP: ``ImgClient(addr, tcp=True, ...)``. SSH: ``ImgClient(addr, user=..., identity=...,
    known_hosts=...)`` (``known_hosts`` defaults to ``~/.ssh/known_hosts``). ``requests``:
    dicts or JSON strings with a string ``request``, sent after ``init`` on every connection.
    Heartbeat pushes are yielded only with ``heartbeats=True``.
    """

    def __init__(
        self,
        addr: str,
        tcp: Optional[bool] = None,
        requests: Optional[List[Union[Dict[str, Any], str]]] = None,
        include_finished: bool = False,
        heartbeats: bool = False,
        user: Optional[str] = None,
        identity: Union[str, "PathLike[str]", None] = None,
        known_hosts: Union[str, "PathLike[str]", None] = None,
        once: bool = False,
        include_events: bool = False,
        event_queue: int = 1024,
    ) -> None: ...
    def __iter__(self) -> Iterator[Message]: ...
    def __next__(self) -> Message: ...
    def __aiter__(self) -> AsyncIterator[Message]: ...
    async def __anext__(self) -> Message: ...
    def stats(self) -> Dict[str, Any]:
        """The keys of the CLI's ``stats`` event: ``messages`` (heartbeats only with
        ``heartbeats=True``), ``channels`` (kind -> messages), ``frames`` (lines),
        ``wire_bytes``, ``decoded_bytes``, ``decode_errors``, ``reconnects``."""
    def close(self) -> None:
        """Stops the client; iteration ends."""
    def __enter__(self) -> "ImgClient": ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...

class Decoder:
    """Decodes WebSocket frames as the client does, for code with its own socket."""

    def __init__(
        self,
        receive_type: str = "zstd-dict",
        max_frame: int = 4194304,
        max_decompressed: int = 67108864,
    ) -> None: ...
    def add_dict(self, dict_frame_text: str) -> int:
        """Stores the dictionary of a ``dict`` control frame (its JSON text); returns its size."""
    def decode(self, frame: Union[bytes, str]) -> Message:
        """One frame (bytes: binary, str: text) holding one message -> that message."""
    def decode_all(self, frame: Union[bytes, str]) -> List[Message]:
        """One frame -> all its messages."""
