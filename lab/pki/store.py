"""Writing credentials as PEM files into a run directory.

Private keys are created with mode 0600 in the same open() call, so there is
no moment when a key sits on disk readable by others. Existing files are
removed first: O_EXCL then also refuses to follow a planted symlink, and an
old file's looser mode cannot survive a rewrite.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from cryptography import x509

from lab.pki.issue import Credential, pem_bundle

KEY_MODE = 0o600
CERT_MODE = 0o644  # certificates are public; the umask may narrow this


@dataclass(frozen=True)
class CredentialPaths:
    cert: Path  # the leaf (or CA) certificate alone
    key: Path  # its private key, mode 0600
    chain: Path  # cert then intermediates: what a server or client sends
    ca_bundle: Path  # the anchors the *peer* should trust to verify this credential


def write_credential(
    directory: str | os.PathLike,
    name: str,
    cred: Credential,
    trust: Sequence[x509.Certificate] | None = None,
) -> CredentialPaths:
    """Write <name>.crt, <name>.key, <name>-chain.pem and <name>-ca.pem.

    trust defaults to the credential's own anchor. For a spoof variant pass
    the run's real root instead: that is what the client actually trusts.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = CredentialPaths(
        cert=directory / f"{name}.crt",
        key=directory / f"{name}.key",
        chain=directory / f"{name}-chain.pem",
        ca_bundle=directory / f"{name}-ca.pem",
    )
    write_file(paths.key, cred.key_pem, KEY_MODE)
    write_file(paths.cert, cred.cert_pem, CERT_MODE)
    write_file(paths.chain, cred.chain_pem, CERT_MODE)
    write_certificates(paths.ca_bundle, trust if trust is not None else (cred.anchor,))
    return paths


def write_certificates(path: str | os.PathLike, certs: Sequence[x509.Certificate]) -> Path:
    """A PEM bundle (e.g. a CA file for a client), in the given order."""
    path = Path(path)
    write_file(path, pem_bundle(certs), CERT_MODE)
    return path


def write_file(path: Path, data: bytes, mode: int) -> None:
    """Create `path` afresh with `mode` (minus the umask) and write `data`."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
