"""Regenerate the committed frame fixtures (*.hex, one Ethernet frame each).

    .venv/bin/python tests/data/frames/make_frames.py

TLS payloads are real: Python's ssl module (OpenSSL) runs TLS 1.2 and 1.3
handshakes over memory BIOs with a throwaway ECDSA certificate, and the
bytes each side writes are wrapped in Ethernet/IPv4/TCP with scapy. No
network and no root needed. The outputs are committed; TLS randoms make
every run differ, so regenerate only when adding a fixture.
"""
from __future__ import annotations

import datetime
import os
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether

OUT = os.path.dirname(os.path.abspath(__file__))
CLIENT, SERVER = ("10.0.0.1", 40000), ("10.0.0.2", 443)
MSS = 1448


def certificate(workdir: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "server.tlslab.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(workdir, "c.pem"), os.path.join(workdir, "k.pem")
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return cert_path, key_path


def handshake(version: ssl.TLSVersion, cert: str, key: str) -> list[tuple[str, bytes]]:
    """The flights of one handshake as (sender, bytes), then one app-data write each way."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(cert, key)
    cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    cctx.check_hostname, cctx.verify_mode = False, ssl.CERT_NONE
    for ctx in (sctx, cctx):
        ctx.minimum_version = ctx.maximum_version = version
    bios = {side: (ssl.MemoryBIO(), ssl.MemoryBIO()) for side in ("client", "server")}
    objs = {"client": cctx.wrap_bio(*bios["client"], server_side=False),
            "server": sctx.wrap_bio(*bios["server"], server_side=True)}
    peer = {"client": "server", "server": "client"}
    flights: list[tuple[str, bytes]] = []
    done = set()
    side = "client"
    while len(done) < 2:
        try:
            objs[side].do_handshake()
            done.add(side)
        except ssl.SSLWantReadError:
            pass
        data = bios[side][1].read()
        if data:
            flights.append((side, data))
            bios[peer[side]][0].write(data)
        side = peer[side]
    for side in ("client", "server"):
        objs[side].write(b"GET / HTTP/1.1\r\n\r\n" if side == "client" else b"HTTP/1.1 200 OK\r\n")
        flights.append((side, bios[side][1].read()))
    return flights


def tcp_frame(sender: str, payload: bytes = b"", flags: str = "PA", seq: int = 1000) -> bytes:
    (src, sport), (dst, dport) = (CLIENT, SERVER) if sender == "client" else (SERVER, CLIENT)
    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                 IP(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq,
                                            ack=1) / payload)


def records(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        length = int.from_bytes(data[pos + 3:pos + 5], "big")
        out.append((data[pos], data[pos + 5:pos + 5 + length]))
        pos += 5 + length
    return out


def write(name: str, frame: bytes) -> None:
    with open(os.path.join(OUT, f"{name}.hex"), "w") as fh:
        fh.write(frame.hex() + "\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = certificate(tmp)
        tls12 = handshake(ssl.TLSVersion.TLSv1_2, cert, key)
        tls13 = handshake(ssl.TLSVersion.TLSv1_3, cert, key)
    # TLS 1.2: ClientHello | ServerHello..ServerHelloDone | CKE, CCS, encrypted Finished | ...
    write("tls12_client_hello", tcp_frame("client", tls12[0][1]))
    server_flight = tls12[1][1]
    write("tls12_server_hello", tcp_frame("server", server_flight[:MSS]))
    write("tls12_server_continuation", tcp_frame("server", server_flight[MSS:2 * MSS] or
                                                 server_flight[5:MSS]))
    # The same messages packed into one record: server_hello_done is the 4th message in it.
    body = b"".join(payload for ctype, payload in records(server_flight) if ctype == 22)
    packed = bytes([22, 3, 3]) + len(body).to_bytes(2, "big") + body
    write("tls12_one_record_flight", tcp_frame("server", packed[:MSS]))
    write("tls12_client_finished", tcp_frame("client", tls12[2][1]))
    write("tls12_application_data", tcp_frame("client", tls12[-2][1]))
    # TLS 1.3: ServerHello, CCS, then encrypted records (application_data type).
    write("tls13_client_hello", tcp_frame("client", tls13[0][1][:MSS]))
    write("tls13_server_hello", tcp_frame("server", tls13[1][1][:MSS]))
    write("tls_alert", tcp_frame("server", bytes([21, 3, 3, 0, 2, 2, 40])))
    # Plain TCP control segments and other frames matching must tell apart.
    write("tcp_syn", tcp_frame("client", flags="S", seq=1234))
    write("tcp_syn_ack", tcp_frame("server", flags="SA", seq=5678))
    write("tcp_ack", tcp_frame("client", flags="A"))
    write("tcp_fin", tcp_frame("client", flags="FA"))
    write("tcp_rst", tcp_frame("server", flags="R"))
    eth = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    write("udp", bytes(eth / IP(src=CLIENT[0], dst=SERVER[0]) / UDP(sport=5353, dport=53) /
                       b"0123456789abcdef"))
    write("icmp_echo", bytes(eth / IP(src=CLIENT[0], dst=SERVER[0]) / ICMP(id=7, seq=42) /
                             b"ping"))
    write("arp", bytes(Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff") /
                       ARP(psrc=CLIENT[0], pdst=SERVER[0])))
    write("ipv6_tcp_syn", bytes(eth / IPv6(src="fd00::1", dst="fd00::2") /
                                TCP(sport=40000, dport=443, flags="S", seq=99)))
    write("vlan_tcp_syn", bytes(eth / Dot1Q(vlan=10) / IP(src=CLIENT[0], dst=SERVER[0]) /
                                TCP(sport=40000, dport=443, flags="S", seq=77)))


if __name__ == "__main__":
    main()
