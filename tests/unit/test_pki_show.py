"""lab.pki.show: describe() and describe_dict() of PEM files we issue."""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import hashes

from lab.errors import InputError
from lab.pki import KeySpec, Target, forge, server_cert, write_credential
from lab.pki.show import describe, describe_dict

from pki_support import HOST, issuing_ca


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root, ca = issuing_ca(KeySpec.ECDSA_P256, True)
    leaf = server_cert(ca, HOST, (HOST, "10.0.0.2"), KeySpec.RSA2048)
    return leaf, ca, write_credential(tmp_path_factory.mktemp("pki"), "web", leaf, trust=[root.cert])


def test_describe_certificate_fields(written):
    leaf, _, paths = written
    text = describe(paths.cert)
    fingerprint = leaf.cert.fingerprint(hashes.SHA256()).hex(":").upper()
    for expected in [
        f"{paths.cert}: 1 certificate",
        "Subject:             CN=server.lab",
        "Issuer:              CN=tlslab intermediate CA",
        "Not before:          " + leaf.cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Not after:           " + leaf.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Valid now:           yes",
        "Public key:          RSA 2048 bits",
        "Signature algorithm: ecdsa-with-SHA256",
        "SANs:                DNS:server.lab, IP:10.0.0.2",
        "CA:                  no",
        f"SHA-256 fingerprint: {fingerprint}",
    ]:
        assert expected in text, text


def test_fingerprint_and_names_agree_with_openssl(written):
    leaf, _, paths = written
    out = subprocess.run(
        ["openssl", "x509", "-in", str(paths.cert), "-noout", "-fingerprint", "-sha256"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert out.strip() == f"sha256 Fingerprint={describe_dict(paths.cert)['items'][0]['sha256']}"


def test_describe_chain_and_ca_flag(written):
    _, _, paths = written
    text = describe(paths.chain)
    assert text.startswith(f"{paths.chain}: 2 certificates")
    assert "Certificate 2 of 2" in text
    assert "Public key:          EC secp256r1 (256 bits)" in text
    assert "CA:                  yes (path length 0)" in text


def test_describe_key_matches_its_certificate(written):
    _, _, paths = written
    info = describe_dict(paths.key)
    assert [item["kind"] for item in info["items"]] == ["private-key"]
    assert info["items"][0]["public_key"] == {"type": "RSA", "bits": 2048}
    assert info["items"][0]["spki_sha256"] == describe_dict(paths.cert)["items"][0]["spki_sha256"]
    assert "Private key\n  Public key:          RSA 2048 bits" in describe(paths.key)


def test_describe_dict_is_json(written):
    _, _, paths = written
    info = json.loads(json.dumps(describe_dict(paths.chain)))
    leaf, ca = info["items"]
    assert leaf["sans"] == ["DNS:server.lab", "IP:10.0.0.2"]
    assert (leaf["ca"], ca["ca"], ca["path_length"]) == (False, True, 0)
    assert leaf["public_key"] == {"type": "RSA", "bits": 2048}
    assert ca["public_key"] == {"type": "EC", "bits": 256, "curve": "secp256r1"}
    assert leaf["valid_now"] is True


def test_validity_is_judged_at_now(tmp_path, written):
    _, ca, _ = written
    target = Target(ca=ca, hostname=HOST, key_spec=KeySpec.ECDSA_P256)
    paths = write_credential(tmp_path, "old", forge("expired", target))
    assert "Valid now:           no" in describe(paths.cert)
    long_ago = datetime(2000, 1, 1, tzinfo=timezone.utc)
    assert describe_dict(paths.cert, now=long_ago)["items"][0]["valid_now"] is False
    # A forged signature is still described: show never verifies.
    paths = write_credential(tmp_path, "forged", forge("bad-signature", target))
    assert "Subject:             CN=server.lab" in describe(paths.cert)


@pytest.mark.parametrize(
    "content, why",
    [
        (None, "No such file or directory"),
        (b"", "no PEM block found"),
        (b"hello\n", "no PEM block found"),
        (b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", "CERTIFICATE block"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "PRIVATE KEY block"),
        (b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n", "unsupported PEM block 'X509 CRL'"),
    ],
)
def test_bad_files_are_input_errors(tmp_path, content, why):
    path = tmp_path / "thing.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as err:
        describe(path)
    assert str(err.value).startswith(f"{path} is not a PEM certificate or key: ")
    assert why in str(err.value)


def test_directory_is_input_error(tmp_path):
    with pytest.raises(InputError, match="is not a PEM certificate or key"):
        describe(tmp_path)
