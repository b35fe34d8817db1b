"""Per-run PKI: CAs, server and client leaves, and the spoof variants clients
must reject, as pure functions returning frozen Credentials (see issue.py,
variants.py). store.py writes them as PEM files; show.py describes PEM files.
"""
from lab.pki.issue import (
    Credential,
    client_cert,
    clone,
    intermediate_ca,
    leaf,
    root_ca,
    server_cert,
)
from lab.pki.keys import KeySpec, generate_key, parse_key_spec
from lab.pki.store import CredentialPaths, write_certificates, write_credential
from lab.pki.variants import CLIENT_ACCEPTS, VARIANTS, Target, forge, trusted_ca, variant

__all__ = [
    "CLIENT_ACCEPTS", "Credential", "CredentialPaths", "KeySpec", "Target", "VARIANTS",
    "client_cert", "clone", "forge", "generate_key", "intermediate_ca", "leaf",
    "parse_key_spec", "root_ca", "server_cert", "trusted_ca", "variant",
    "write_certificates", "write_credential",
]
