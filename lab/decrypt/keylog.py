"""NSS key log files, as written by SSLKEYLOGFILE / -keylogfile.

Each line is `LABEL <client_random hex> <secret hex>`, except `RSA <first 8
bytes of the encrypted pre-master secret hex> <pre-master secret hex>`.
Format: https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from lab.errors import InputError

TLS12_MASTER = "CLIENT_RANDOM"
CLIENT_HS = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
SERVER_HS = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
CLIENT_APP = "CLIENT_TRAFFIC_SECRET_0"
SERVER_APP = "SERVER_TRAFFIC_SECRET_0"


@dataclass(frozen=True)
class KeyLog:
    # (label, client_random) -> secret
    secrets: dict[tuple[str, bytes], bytes] = field(default_factory=dict)
    # first 8 bytes of an encrypted pre-master secret -> the pre-master secret
    rsa: dict[bytes, bytes] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def get(self, label: str, client_random: bytes) -> bytes | None:
        return self.secrets.get((label, client_random))

    def labels_for(self, client_random: bytes) -> tuple[str, ...]:
        return tuple(sorted(lbl for lbl, cr in self.secrets if cr == client_random))

    def __bool__(self) -> bool:
        return bool(self.secrets or self.rsa)


def parse_keylog(text: str, source: str = "") -> KeyLog:
    """Unknown labels and malformed lines are skipped, as Wireshark does."""
    secrets: dict[tuple[str, bytes], bytes] = {}
    rsa: dict[bytes, bytes] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[0].startswith("#"):
            continue
        try:
            key, secret = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
        except ValueError:
            continue
        if parts[0] == "RSA":
            rsa[key] = secret
        else:
            secrets[(parts[0], key)] = secret
    return KeyLog(secrets, rsa, (source,) if source else ())


def merge(logs: Iterable[KeyLog]) -> KeyLog:
    secrets: dict = {}
    rsa: dict = {}
    sources: tuple[str, ...] = ()
    for log in logs:
        secrets.update(log.secrets)
        rsa.update(log.rsa)
        sources += log.sources
    return KeyLog(secrets, rsa, sources)


def load_keylog(*paths: str) -> KeyLog:
    logs = []
    for path in paths:
        try:
            with open(path, encoding="ascii", errors="replace") as fh:
                logs.append(parse_keylog(fh.read(), path))
        except OSError as exc:
            raise InputError(f"cannot read key log {path}: {exc.strerror}") from exc
    return merge(logs)
