"""The chain checks the tlslite agent relies on, over lab.pki certificates."""
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives.serialization import Encoding

from lab.pki.issue import client_cert, common_name, general_name, leaf, pem_bundle, root_ca, server_cert
from lab.tls.agents.verify import verify_chain, walk_chain


def _der(cred):
    return [c.public_bytes(Encoding.DER) for c in (cred.cert, *cred.chain)]


def test_server_chain_checks(tmp_path):
    ca, other = root_ca(), root_ca("someone else")
    anchors = tmp_path / "ca.pem"
    anchors.write_bytes(pem_bundle([ca.cert]))
    good = server_cert(ca, "localhost")
    assert verify_chain(_der(good), str(anchors), "localhost", server=False) is None
    assert verify_chain(_der(good), str(anchors), "other.example", server=False)[0] == "bad_certificate"
    assert verify_chain(_der(server_cert(other, "localhost")), str(anchors), "localhost", server=False)[0] == "unknown_ca"
    selfsigned = leaf(None, common_name("localhost"), [general_name("localhost")])
    assert verify_chain(_der(selfsigned), str(anchors), "localhost", server=False)[0] == "unknown_ca"
    assert verify_chain([], str(anchors), "localhost", server=False)[0] == "certificate_required"


def test_client_chain_walk_accepts_san_less_client_certs():
    ca, other = root_ca(), root_ca("someone else")
    now = datetime.now(timezone.utc)
    good = client_cert(ca, "tlslab client")
    assert walk_chain([good.cert], [ca.cert], now) is None
    assert walk_chain([client_cert(other, "x").cert], [ca.cert], now)[0] == "unknown_ca"
    assert walk_chain([good.cert], [ca.cert], now + timedelta(days=400))[0] == "certificate_expired"
