"""Regenerate the MITM unit-test captures (no root, no network):

    .venv/bin/python tests/data/mitm/make_mitm_pcaps.py

tls12.pcap / tls13.pcap: one real handshake and one request/response each,
made by CPython's ssl over memory BIOs with a lab.pki server certificate
(CN=server.tlslab, issued by "tlslab root CA"), framed as TCP over Ethernet.
plain.pcap: an HTTP/1.0 exchange in the clear on port 80.
"""
from __future__ import annotations

import os
import ssl
import tempfile

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from lab.pki import root_ca, server_cert, write_credential

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT, SERVER = ("10.0.0.1", "02:00:00:00:01:01"), ("10.0.0.2", "02:00:00:00:02:01")
REQUEST = b"GET /index.html HTTP/1.0\r\nHost: tlslab\r\n\r\n"
RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 18\r\n\r\nhello from tlslab\n"
MSS = 1448


def exchange(version: ssl.TLSVersion) -> list[tuple[bool, bytes]]:
    """(from_client, bytes) flights of a real handshake plus one request and response."""
    ca = root_ca()
    with tempfile.TemporaryDirectory() as d:
        paths = write_credential(d, "server", server_cert(ca, "server.tlslab"))
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.load_cert_chain(paths.chain, paths.key)
        sctx.num_tickets = 0
        cctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cctx.load_verify_locations(str(paths.ca_bundle))
    for ctx in (sctx, cctx):
        ctx.minimum_version = ctx.maximum_version = version
    bios = [ssl.MemoryBIO() for _ in range(4)]
    client = cctx.wrap_bio(bios[0], bios[1], server_hostname="server.tlslab")
    server = sctx.wrap_bio(bios[2], bios[3], server_side=True)
    flights: list[tuple[bool, bytes]] = []

    def pump() -> None:
        for side, out, into in ((True, bios[1], bios[2]), (False, bios[3], bios[0])):
            data = out.read()
            if data:
                flights.append((side, data))
                into.write(data)

    for _ in range(6):
        for end in (client, server):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
        pump()
    client.write(REQUEST)
    pump()
    assert server.read(4096) == REQUEST
    server.write(RESPONSE)
    pump()
    assert client.read(4096) == RESPONSE
    return flights


def frames(flights: list[tuple[bool, bytes]], sport: int, dport: int) -> list:
    """TCP segments (with handshake, ACKs and FINs) carrying the flights."""
    seq = {True: 1000, False: 5000}
    out, t = [], 1_700_000_000.0

    def seg(from_client: bool, flags: str, payload: bytes = b"") -> None:
        nonlocal t
        (src, smac), (dst, dmac) = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
        sp, dp = (sport, dport) if from_client else (dport, sport)
        pkt = Ether(src=smac, dst=dmac) / IP(src=src, dst=dst) / TCP(
            sport=sp, dport=dp, flags=flags, seq=seq[from_client], ack=seq[not from_client])
        if payload:
            pkt = pkt / Raw(payload)
        pkt.time = t
        t += 0.001
        out.append(pkt)
        seq[from_client] += len(payload) + (1 if "S" in flags or "F" in flags else 0)

    seg(True, "S")
    seg(False, "SA")
    seg(True, "A")
    for side, data in flights:
        for i in range(0, len(data), MSS):
            seg(side, "PA", data[i:i + MSS])
        seg(not side, "A")
    seg(False, "FA")
    seg(True, "FA")
    seg(False, "A")
    return out


def main() -> None:
    wrpcap(os.path.join(HERE, "tls12.pcap"), frames(exchange(ssl.TLSVersion.TLSv1_2), 40001, 443))
    wrpcap(os.path.join(HERE, "tls13.pcap"), frames(exchange(ssl.TLSVersion.TLSv1_3), 40002, 443))
    wrpcap(os.path.join(HERE, "plain.pcap"), frames([(True, REQUEST), (False, RESPONSE)], 40003, 80))


if __name__ == "__main__":
    main()
