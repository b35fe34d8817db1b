"""The handshake transcript: every handshake message in protocol order.

Finished messages MAC its hash (RFC 5246 7.4.9, RFC 8446 4.4.4), and the
extended master secret is derived from it (RFC 7627).
"""
from __future__ import annotations

from lab.decrypt import kdf


class Transcript:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    def add(self, raw: bytes) -> None:
        self.messages.append(raw)

    def retry(self, hash_name: str) -> None:
        """A HelloRetryRequest arrived: the first ClientHello becomes message_hash."""
        if self.messages and self.messages[0][:1] == b"\x01":
            self.messages[0] = kdf.message_hash(hash_name, self.messages[0])

    def hash(self, hash_name: str) -> bytes:
        return kdf.transcript_hash(hash_name, self.messages)
