"""Pure parsers for single TLS handshake messages and alerts.

Each takes the bytes of one message (handshake header included) and returns
a frozen dataclass, raising ValueError on malformed input. Hellos go through
scapy's TLS layer; certificates through `cryptography`. Key-exchange messages
are read with struct: their layout depends on the negotiated cipher suite,
which scapy takes from a live session state that offline parsing lacks.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime

# TLS 1.3's HelloRetryRequest is a ServerHello with this random (RFC 8446 4.1.3).
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")

# RFC 8446 SignatureScheme names; scapy's own names ("sha256+rsaepss") differ.
_SIGNATURE_SCHEMES = {
    0x0201: "rsa_pkcs1_sha1", 0x0203: "ecdsa_sha1", 0x0401: "rsa_pkcs1_sha256",
    0x0501: "rsa_pkcs1_sha384", 0x0601: "rsa_pkcs1_sha512", 0x0403: "ecdsa_secp256r1_sha256",
    0x0503: "ecdsa_secp384r1_sha384", 0x0603: "ecdsa_secp521r1_sha512",
    0x0804: "rsa_pss_rsae_sha256", 0x0805: "rsa_pss_rsae_sha384", 0x0806: "rsa_pss_rsae_sha512",
    0x0807: "ed25519", 0x0808: "ed448", 0x0809: "rsa_pss_pss_sha256",
    0x080A: "rsa_pss_pss_sha384", 0x080B: "rsa_pss_pss_sha512",
}
HANDSHAKE_TYPES = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket",
    5: "EndOfEarlyData", 8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange",
    13: "CertificateRequest", 14: "ServerHelloDone", 15: "CertificateVerify",
    16: "ClientKeyExchange", 20: "Finished", 22: "CertificateStatus", 24: "KeyUpdate",
}


def _tables():
    from scapy.layers.tls.basefields import _tls_version
    from scapy.layers.tls.crypto.groups import _tls_named_groups
    from scapy.layers.tls.crypto.suites import _tls_cipher_suites
    from scapy.layers.tls.extensions import _tls_ext
    from scapy.layers.tls.record import _tls_alert_description
    return _tls_version, _tls_named_groups, _tls_cipher_suites, _tls_ext, _tls_alert_description


def _name(table: dict, code: int) -> str:
    return table.get(code) or f"0x{code:04x}"


def version_name(code: int) -> str:
    return _name(_tables()[0], code)


def cipher_suite_name(code: int) -> str:
    return _name(_tables()[2], code)


def group_name(code: int) -> str:
    return _name(_tables()[1], code)


def signature_scheme_name(code: int) -> str:
    from scapy.layers.tls.keyexchange import _tls_hash_sig
    return _SIGNATURE_SCHEMES.get(code) or _name(_tls_hash_sig, code)


@dataclass(frozen=True)
class ClientHello:
    legacy_version: str
    random: str
    session_id: str
    cipher_suites: tuple[str, ...]
    compression_methods: tuple[int, ...]
    extensions: tuple[str, ...]
    sni: str | None
    supported_versions: tuple[str, ...]
    supported_groups: tuple[str, ...]
    key_share_groups: tuple[str, ...]
    signature_algorithms: tuple[str, ...]
    alpn: tuple[str, ...]


@dataclass(frozen=True)
class ServerHello:
    legacy_version: str
    version: str  # negotiated: supported_versions when present (TLS 1.3)
    random: str
    session_id: str
    cipher_suite: str
    compression_method: int
    extensions: tuple[str, ...]
    key_share_group: str | None
    alpn: str | None
    tls13: bool
    hello_retry_request: bool


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    not_before: str
    not_after: str
    public_key_type: str
    public_key_bits: int | None
    signature_algorithm: str
    sans: tuple[str, ...]
    sha256: str
    serial: str
    self_signed: bool


@dataclass(frozen=True)
class CertificateChain:
    certificates: tuple[CertificateInfo, ...]


@dataclass(frozen=True)
class ServerKeyExchange:
    kind: str  # "ecdhe", "dhe" or "unknown"
    group: str | None
    public_key_len: int
    dh_prime_bits: int | None = None


@dataclass(frozen=True)
class ClientKeyExchange:
    kind: str  # "rsa", "ecdhe", "dhe" or "unknown"
    carries: str  # what the body is: an encrypted pre-master secret or a public key
    length: int


@dataclass(frozen=True)
class Alert:
    level: str
    description: str
    code: int


def _scapy_parse(cls, msg: bytes):
    from scapy.layers.tls.session import tlsSession
    session = tlsSession()
    session.frozen = True  # parse only: keep scapy from deriving session state
    try:
        pkt = cls(msg, tls_session=session)
    except Exception as exc:  # scapy raises assorted types on bad input
        raise ValueError(f"malformed {cls.__name__}: {exc}") from exc
    return pkt


def _ext_names(exts) -> tuple[str, ...]:
    table = _tables()[3]
    return tuple(_name(table, e.type) for e in exts or ())


def _ext(exts, code: int):
    return next((e for e in exts or () if e.type == code), None)


def parse_client_hello(msg: bytes) -> ClientHello:
    from scapy.layers.tls.handshake import TLSClientHello
    ch = _scapy_parse(TLSClientHello, msg)
    exts = ch.ext
    sni = _ext(exts, 0)
    names = [n.servername for n in getattr(sni, "servernames", None) or ()]
    versions, groups = _ext(exts, 43), _ext(exts, 10)
    shares, sigs, alpn = _ext(exts, 51), _ext(exts, 13), _ext(exts, 16)
    return ClientHello(
        legacy_version=version_name(ch.version), random=msg[6:38].hex(),
        session_id=bytes(ch.sid or b"").hex(),
        cipher_suites=tuple(cipher_suite_name(c) for c in ch.ciphers or ()),
        compression_methods=tuple(ch.comp or ()), extensions=_ext_names(exts),
        sni=names[0].decode("ascii", "replace") if names else None,
        supported_versions=tuple(version_name(v)
                                 for v in getattr(versions, "versions", None) or ()),
        supported_groups=tuple(group_name(g) for g in getattr(groups, "groups", None) or ()),
        key_share_groups=tuple(group_name(k.group)
                               for k in getattr(shares, "client_shares", None) or ()),
        signature_algorithms=tuple(signature_scheme_name(s)
                                   for s in getattr(sigs, "sig_algs", None) or ()),
        alpn=tuple(p.protocol.decode("ascii", "replace")
                   for p in getattr(alpn, "protocols", None) or ()))


def parse_server_hello(msg: bytes) -> ServerHello:
    from scapy.layers.tls.handshake import TLS13HelloRetryRequest, TLSServerHello
    hrr = msg[6:38] == HRR_RANDOM
    sh = _scapy_parse(TLS13HelloRetryRequest if hrr else TLSServerHello, msg)
    exts = sh.ext
    sv, share, alpn = _ext(exts, 43), _ext(exts, 51), _ext(exts, 16)
    legacy = sh.version
    chosen = getattr(sv, "version", None) or legacy
    if hrr:
        group = getattr(share, "selected_group", None)
    else:
        group = getattr(getattr(share, "server_share", None), "group", None)
    protos = getattr(alpn, "protocols", None) or ()
    return ServerHello(
        legacy_version=version_name(legacy), version=version_name(chosen),
        random=msg[6:38].hex(), session_id=bytes(sh.sid or b"").hex(),
        cipher_suite=cipher_suite_name(sh.cipher), compression_method=sh.comp or 0,
        extensions=_ext_names(exts), key_share_group=group_name(group) if group else None,
        alpn=protos[0].protocol.decode("ascii", "replace") if protos else None,
        tls13=chosen == 0x0304, hello_retry_request=hrr)


def _u24(data: bytes, off: int) -> int:
    return int.from_bytes(data[off:off + 3], "big")


def parse_certificate(msg: bytes) -> CertificateChain:
    """A TLS 1.0-1.2 Certificate message (TLS 1.3's is always encrypted)."""
    body_end = 4 + _u24(msg, 1)
    off, end = 7, min(7 + _u24(msg, 4), body_end)
    certs = []
    while off + 3 <= end:
        n = _u24(msg, off)
        if off + 3 + n > end:
            raise ValueError("certificate entry runs past the message")
        certs.append(certificate_info(msg[off + 3:off + 3 + n]))
        off += 3 + n
    return CertificateChain(tuple(certs))


def certificate_info(der: bytes) -> CertificateInfo:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise ValueError(f"bad certificate: {exc}") from exc
    key = cert.public_key()
    kinds = ((rsa.RSAPublicKey, "RSA"), (ec.EllipticCurvePublicKey, "EC"),
             (ed25519.Ed25519PublicKey, "Ed25519"), (ed448.Ed448PublicKey, "Ed448"),
             (dsa.DSAPublicKey, "DSA"))
    key_type = next((name for cls, name in kinds if isinstance(key, cls)), type(key).__name__)
    if isinstance(key, ec.EllipticCurvePublicKey):
        key_type = f"EC {key.curve.name}"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(f"DNS:{v}" for v in san.get_values_for_type(x509.DNSName)) + \
            tuple(f"IP:{v}" for v in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        sans = ()
    oid = cert.signature_algorithm_oid
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(), issuer=cert.issuer.rfc4514_string(),
        not_before=_iso(cert.not_valid_before_utc), not_after=_iso(cert.not_valid_after_utc),
        public_key_type=key_type, public_key_bits=getattr(key, "key_size", None),
        signature_algorithm=getattr(oid, "_name", None) or oid.dotted_string,
        sans=sans, sha256=hashlib.sha256(der).hexdigest(), serial=f"{cert.serial_number:x}",
        self_signed=cert.subject == cert.issuer)


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def key_exchange_of(cipher_suite: str) -> str:
    """'rsa', 'ecdhe', 'dhe', 'tls13' or 'unknown', from an IANA suite name."""
    if "_WITH_" not in cipher_suite:
        return "tls13" if cipher_suite.startswith("TLS_") else "unknown"
    kx = cipher_suite[4:cipher_suite.index("_WITH_")]
    if kx.startswith("ECDHE"):
        return "ecdhe"
    if kx.startswith("DHE"):
        return "dhe"
    return "rsa" if kx == "RSA" else "unknown"


def parse_server_key_exchange(msg: bytes, kx: str) -> ServerKeyExchange:
    body = msg[4:]
    try:
        if kx == "ecdhe":
            curve_type, group, plen = struct.unpack_from("!BHB", body)
            if curve_type != 3:  # only named_curve is allowed (RFC 8422 5.4)
                return ServerKeyExchange("ecdhe", None, plen)
            return ServerKeyExchange("ecdhe", group_name(group), plen)
        if kx == "dhe":
            plen = struct.unpack_from("!H", body)[0]
            prime = int.from_bytes(body[2:2 + plen], "big")
            glen = struct.unpack_from("!H", body, 2 + plen)[0]
            ylen = struct.unpack_from("!H", body, 4 + plen + glen)[0]
            return ServerKeyExchange("dhe", None, ylen, prime.bit_length())
    except struct.error as exc:
        raise ValueError(f"short ServerKeyExchange: {exc}") from exc
    return ServerKeyExchange("unknown", None, len(body))


def parse_client_key_exchange(msg: bytes, kx: str) -> ClientKeyExchange:
    body = msg[4:]
    if kx == "rsa":  # opaque<0..2^16-1>, RFC 5246 7.4.7.1
        n = struct.unpack_from("!H", body)[0] if len(body) >= 2 else len(body)
        return ClientKeyExchange("rsa", "encrypted pre-master secret", n)
    if kx == "ecdhe":  # ECPoint: opaque<1..2^8-1>, RFC 8422 5.7
        return ClientKeyExchange("ecdhe", "client ephemeral public key", body[0] if body else 0)
    if kx == "dhe":
        n = struct.unpack_from("!H", body)[0] if len(body) >= 2 else 0
        return ClientKeyExchange("dhe", "client ephemeral public key", n)
    return ClientKeyExchange("unknown", "unknown", len(body))


def parse_alert(body: bytes) -> Alert:
    if len(body) != 2:
        raise ValueError("a plaintext alert is exactly two bytes")
    level = {1: "warning", 2: "fatal"}.get(body[0], f"level {body[0]}")
    return Alert(level, _name(_tables()[4], body[1]), body[1])
