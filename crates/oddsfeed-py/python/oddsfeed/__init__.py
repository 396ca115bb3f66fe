"""Real-time sports-odds feed clients, in Rust, for Python.

``WsClient`` (OddsPapi-style WebSocket feed: json, binary, zstd, zstd-dict) and ``ImgClient``
(IMG Arena-style newline JSON over SSH or TCP) connect, decode, deduplicate, resume and
reconnect in Rust threads without the GIL; Python code iterates plain ``dict`` messages
(``for msg in client`` or ``async for msg in client``). ``Decoder`` decodes frames for code
that keeps its own socket. Errors: ``FeedError`` and its subclasses ``AuthError`` (refused
credentials) and ``HostKeyError`` (unknown or changed SSH host key).
"""

import asyncio as _asyncio

from ._oddsfeed import AuthError, Decoder, FeedError, HostKeyError
from ._oddsfeed import ImgClient as _ImgClient
from ._oddsfeed import WsClient as _WsClient

__all__ = ["WsClient", "ImgClient", "Decoder", "FeedError", "AuthError", "HostKeyError"]


class _AsyncIteration:
    """``async for`` on top of the Rust client: take what is ready without blocking the event
    loop; otherwise wait for the next item in the default executor (the wait releases the GIL)."""

    def __aiter__(self):
        return self

    async def __anext__(self):
        item = self._try_next()  # raises StopAsyncIteration at the end
        while item is None:
            await _asyncio.get_running_loop().run_in_executor(None, self._wait, 0.25)
            item = self._try_next()
        return item


class WsClient(_AsyncIteration, _WsClient):
    __doc__ = _WsClient.__doc__
    __slots__ = ()


class ImgClient(_AsyncIteration, _ImgClient):
    __doc__ = _ImgClient.__doc__
    __slots__ = ()
