"""lab.pki.store: PEM files in a run directory, keys created 0600."""
from __future__ import annotations

import os
import stat

import pytest
from cryptography import x509

from lab.pki import KeySpec, server_cert, write_credential

from pki_support import HOST, issuing_ca


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def cred():
    root, ca = issuing_ca(KeySpec.ECDSA_P256, True)
    return root, ca, server_cert(ca, HOST, key_spec=KeySpec.ECDSA_P256)


@pytest.fixture
def no_umask():
    """Umask 0, so a file's mode is exactly the one it was created with."""
    old = os.umask(0)
    yield
    os.umask(old)


def test_writes_cert_key_chain_and_bundle(tmp_path, cred):
    root, ca, leaf = cred
    paths = write_credential(tmp_path / "pki", "web", leaf)
    assert paths.cert.read_bytes() == leaf.cert_pem
    assert paths.key.read_bytes() == leaf.key_pem
    assert x509.load_pem_x509_certificates(paths.chain.read_bytes()) == [leaf.cert, ca.cert]
    assert x509.load_pem_x509_certificates(paths.ca_bundle.read_bytes()) == [root.cert]  # the anchor by default
    other = write_credential(tmp_path, "x", leaf, trust=[root.cert, ca.cert])
    assert x509.load_pem_x509_certificates(other.ca_bundle.read_bytes()) == [root.cert, ca.cert]


def test_key_is_created_0600_without_chmod(tmp_path, cred, no_umask, monkeypatch):
    def no_chmod(*args, **kwargs):
        raise AssertionError("modes must be set when the file is created")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(os, "fchmod", no_chmod)
    paths = write_credential(tmp_path, "web", cred[2])
    assert mode(paths.key) == 0o600
    assert mode(paths.cert) == mode(paths.chain) == mode(paths.ca_bundle) == 0o644


def test_rewrite_does_not_keep_a_looser_mode(tmp_path, cred, no_umask):
    key = tmp_path / "web.key"
    key.write_bytes(b"old")
    key.chmod(0o666)
    write_credential(tmp_path, "web", cred[2])
    assert mode(key) == 0o600 and key.read_bytes() == cred[2].key_pem


def test_does_not_write_through_a_planted_symlink(tmp_path, cred):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "web.key").symlink_to(victim)
    paths = write_credential(tmp_path, "web", cred[2])
    assert victim.read_bytes() == b"precious"
    assert not paths.key.is_symlink() and mode(paths.key) == 0o600
