"""The fields the walkthrough names, for each kind of TLS message.

Each function returns (name, value) pairs in the walkthrough's order, from
lab.analysis's parsed details, the message's raw bytes where the analysis
keeps no detail (signatures, the encrypted pre-master secret) and, once
decrypted, lab.decrypt's details.
"""
from __future__ import annotations

import struct

from lab.analysis import tls_messages as tm
from lab.decrypt import messages as dm
from lab.decrypt.rsa_kx import RsaCheck
from lab.inspect.model import Field


def _session_id(hexid: str) -> str:
    return f"{len(hexid) // 2} bytes {hexid}" if hexid else "empty"


def _names(items) -> str:
    return ", ".join(items) if items else "none"


def _as_list(value) -> list:
    # scapy leaves ServerHello's compression method as a one-item list.
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _compression(codes) -> str:
    return ", ".join("null" if c == 0 else f"method {c}" for c in codes) or "none"


def client_hello(d: tm.ClientHello) -> list[tuple[str, str]]:
    return [("version", d.legacy_version), ("random", d.random),
            ("session ID", _session_id(d.session_id)),
            ("cipher suites", f"{len(d.cipher_suites)}: {_names(d.cipher_suites)}"),
            ("compression", _compression(d.compression_methods)),
            ("extensions", _names(d.extensions)), ("SNI", d.sni or "none"),
            ("supported_versions", _names(d.supported_versions)),
            ("supported_groups", _names(d.supported_groups)),
            ("key_share", _names(d.key_share_groups)),
            ("signature_algorithms", _names(d.signature_algorithms)),
            ("ALPN", _names(d.alpn))]


def server_hello(d: tm.ServerHello) -> list[tuple[str, str]]:
    version = d.version if d.version == d.legacy_version else \
        f"{d.version} (legacy_version {d.legacy_version})"
    out = [("version", version), ("random", d.random), ("session ID", _session_id(d.session_id)),
           ("cipher suite", d.cipher_suite), ("compression", _compression(_as_list(d.compression_method))),
           ("extensions", _names(d.extensions))]
    if d.key_share_group:
        out.append(("key_share", d.key_share_group))
    if d.alpn:
        out.append(("ALPN", d.alpn))
    return out


def certificates(d: tm.CertificateChain) -> list[tuple[str, str]]:
    out = []
    for n, c in enumerate(d.certificates):
        tag = "leaf" if n == 0 else f"chain[{n}]"
        bits = f" {c.public_key_bits}" if c.public_key_bits else ""
        out += [(f"{tag} subject", c.subject), (f"{tag} issuer", c.issuer),
                (f"{tag} validity", f"{c.not_before} .. {c.not_after}"),
                (f"{tag} public key", f"{c.public_key_type}{bits}"),
                (f"{tag} signature", c.signature_algorithm),
                (f"{tag} SANs", _names(c.sans)), (f"{tag} sha256", c.sha256)]
    return out


def _ske_signature(raw: bytes, kind: str) -> list[tuple[str, str]]:
    """The signature after the ECDHE parameters (RFC 8422 5.4): the
    certificate's key signs the ephemeral key, it encrypts nothing."""
    try:
        if kind != "ecdhe":
            return []
        off = 4 + 3 + 1 + raw[7]  # curve_type, group, then the point<1>
        scheme, n = struct.unpack_from("!HH", raw, off)
        return [("signature", f"{tm.signature_scheme_name(scheme)}, {n} bytes")]
    except (IndexError, struct.error):
        return []


def server_key_exchange(d: tm.ServerKeyExchange, raw: bytes | None) -> list[tuple[str, str]]:
    out = [("key exchange", d.kind.upper())]
    if d.group:
        out.append(("group", d.group))
    if d.dh_prime_bits:
        out.append(("DH prime", f"{d.dh_prime_bits} bits"))
    out.append(("server public key", f"{d.public_key_len} bytes"))
    return out + (_ske_signature(raw, d.kind) if raw else [])


def client_key_exchange(d: tm.ClientKeyExchange, raw: bytes | None) -> list[tuple[str, str]]:
    out = [("key exchange", d.kind.upper()), ("carries", d.carries), ("length", f"{d.length} bytes")]
    if d.kind == "rsa" and raw and len(raw) > 6:
        out.append(("ciphertext", f"{raw[6:22].hex()}... (PKCS#1 v1.5, the server's public key)"))
    elif raw and len(raw) > 5:
        out.append(("public key", f"{raw[5:21].hex()}..."))
    return out


def premaster_check(rsa: RsaCheck) -> list[tuple[str, str]]:
    """2.5 and 2.6 computed: open the pre-master secret, derive the master."""
    out = [("server key", rsa.key_file),
           ("pre-master secret", f"{rsa.pre_master.hex()} (48 bytes, starts with the "
                                 f"ClientHello version 0x{rsa.client_version:04x})")]
    if rsa.keylog_pre_master is not None:
        same = "equal" if rsa.keylog_pre_master == rsa.pre_master else "DIFFERENT"
        out.append(("key log RSA line", f"{rsa.keylog_pre_master.hex()} ({same})"))
    how = ('PRF(pre-master, "extended master secret", hash(ClientHello..ClientKeyExchange))'
           if rsa.extended else 'PRF(pre-master, "master secret", client_random + server_random)')
    out += [("derivation", how), ("master secret", rsa.master.hex())]
    if rsa.keylog_master is None:
        out.append(("key log", "no CLIENT_RANDOM line to compare with"))
    else:
        verdict = "equal: computed from the wire and the server key" if rsa.matches_keylog \
            else "DIFFERENT"
        out.append(("key log master secret", f"{rsa.keylog_master.hex()} ({verdict})"))
    return out


def alert(d: tm.Alert) -> list[tuple[str, str]]:
    return [("level", d.level), ("description", f"{d.description} ({d.code})")]


def preview(data: bytes, limit: int = 160) -> str:
    """Printable ASCII as is, the rest escaped, cut at limit characters."""
    text = data[:limit].decode("latin-1").encode("unicode_escape").decode("ascii")
    return text + ("..." if len(data) > limit else "")


def decrypted(detail) -> list[tuple[str, str]]:
    if isinstance(detail, dm.EncryptedExtensions):
        return [("extensions", _names(detail.extensions))] + \
            ([("ALPN", detail.alpn)] if detail.alpn else [])
    if isinstance(detail, dm.CertificateVerify):
        return [("signature", f"{detail.scheme}, {detail.signature_len} bytes")]
    if isinstance(detail, dm.Finished):
        verdict = {True: "matches the transcript hash, recomputed",
                   False: "DOES NOT match the recomputed transcript hash",
                   None: "not checked (no secret)"}[detail.verified]
        return [("verify_data", detail.verify_data), ("check", verdict)]
    if isinstance(detail, dm.NewSessionTicket):
        out = [("lifetime", f"{detail.lifetime_s} s"), ("ticket", f"{detail.ticket_len} bytes")]
        return out + ([("extensions", _names(detail.extensions))] if detail.extensions else [])
    if isinstance(detail, dm.KeyUpdate):
        return [("update_requested", "yes" if detail.update_requested else "no")]
    return []


def message_fields(kind: str, detail, raw: bytes | None, extra=None) -> tuple[Field, ...]:
    """Fields for one message; extra is its lab.decrypt detail, if decrypted."""
    if isinstance(detail, tm.ClientHello):
        pairs = client_hello(detail)
    elif isinstance(detail, tm.ServerHello):
        pairs = server_hello(detail)
    elif isinstance(detail, tm.CertificateChain):
        pairs = certificates(detail)
    elif isinstance(detail, tm.ServerKeyExchange):
        pairs = server_key_exchange(detail, raw)
    elif isinstance(detail, tm.ClientKeyExchange):
        pairs = client_key_exchange(detail, raw)
    elif isinstance(detail, tm.Alert):
        pairs = alert(detail)
    elif kind == "ServerHelloDone":
        pairs = [("body", "empty: it only ends the server's flight")]
    else:
        pairs = []
    return tuple(Field(n, v) for n, v in pairs + decrypted(extra))
