"""Evidence of an attack, from captures and the proxy log, never from config.

- arp_poisoning: ARP frames in a victim's capture that claim another lab
  address is at the mitm's MAC (pure, over frame bytes).
- client_tls_view: per TCP connection in a client's capture, the certificate
  it received, the alerts each side sent and how many application-data
  records it sent. TLS 1.3 hides all of that, so with the client's key log
  tshark decrypts the handshake first.
- certificate_presented: the client's received leaf is one the proxy forged.
"""
from __future__ import annotations

import hashlib
import ipaddress
import shutil
import struct
import subprocess
from collections import defaultdict
from dataclasses import dataclass

from lab.errors import EnvironmentProblem
from lab.tls.names import ALERTS

ETH_ARP = 0x0806


@dataclass(frozen=True)
class ArpFrame:
    ts: float
    op: int            # 1 who-has, 2 is-at
    eth_src: str
    eth_dst: str
    sender_mac: str
    sender_ip: str
    target_mac: str
    target_ip: str


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def parse_arp(frame: bytes, ts: float = 0.0) -> ArpFrame | None:
    """An Ethernet/IPv4 ARP frame, or None for anything else."""
    if len(frame) < 42 or struct.unpack_from("!H", frame, 12)[0] != ETH_ARP:
        return None
    htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", frame, 14)
    if (htype, ptype, hlen, plen) != (1, 0x0800, 6, 4):
        return None
    a = frame[22:42]
    return ArpFrame(ts, op, _mac(frame[6:12]), _mac(frame[0:6]), _mac(a[0:6]),
                    str(ipaddress.IPv4Address(a[6:10])), _mac(a[10:16]),
                    str(ipaddress.IPv4Address(a[16:20])))


def read_arp(path: str) -> list[ArpFrame]:
    from scapy.utils import RawPcapReader
    out = []
    with RawPcapReader(path) as reader:
        for frame, meta in reader:
            ts = getattr(meta, "sec", 0) + getattr(meta, "usec", 0) / 1e6
            found = parse_arp(frame, ts)
            if found is not None:
                out.append(found)
    return out


def arp_poisoning(frames: list[ArpFrame], mitm_macs: set[str],
                  truth: dict[str, str]) -> list[dict]:
    """Frames claiming a lab address (`truth`: ip -> its real MAC) is at a mitm MAC,
    grouped by (claimed address, told address)."""
    groups: dict[tuple[str, str], dict] = {}
    macs = {m.lower() for m in mitm_macs}
    for f in frames:
        real = truth.get(f.sender_ip)
        if real is None or f.sender_mac not in macs or f.sender_mac == real.lower():
            continue
        g = groups.setdefault((f.sender_ip, f.target_ip), {
            "claimed_ip": f.sender_ip, "told_ip": f.target_ip, "claimed_mac": f.sender_mac,
            "true_mac": real.lower(), "replies": 0, "requests": 0, "first": f.ts, "last": f.ts})
        g["replies" if f.op == 2 else "requests"] += 1
        g["last"] = f.ts
    return list(groups.values())


# --- the client's view of TLS, via tshark ------------------------------------------
_FIELDS = ("tcp.stream", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags.syn",
           "tcp.flags.ack", "tls.record.content_type", "tls.handshake.certificate",
           "tls.alert_message.desc")


def client_tls_view(pcap: str, keylog: str | None = None, port: int = 443) -> list[dict]:
    if shutil.which("tshark") is None:
        raise EnvironmentProblem("tshark is needed to read TLS from captures (apt-get install tshark)")
    argv = ["tshark", "-r", pcap, "-n", "-d", f"tcp.port=={port},tls", "-Y", "tcp",
            "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    if keylog:
        argv += ["-o", f"tls.keylog_file:{keylog}"]
    for f in _FIELDS:
        argv += ["-e", f]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise EnvironmentProblem(f"tshark failed on {pcap}: {done.stderr.strip()[-300:]}")
    return tls_view_from_fields(done.stdout)


def tls_view_from_fields(text: str) -> list[dict]:
    """Per TCP stream, from tshark's tab-separated _FIELDS (pure). `sequence`
    lists certificates, alerts and application-data records in packet order."""
    streams: dict[int, dict] = {}
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) < len(_FIELDS) or not cols[0]:
            continue
        stream, src, sport, dst, dport, syn, ack, types, certs, alerts = cols[:len(_FIELDS)]
        s = streams.get(int(stream))
        if s is None:
            # The first packet's sender is the client unless it is a SYN-ACK.
            client = (dst, dport) if syn == "1" and ack == "1" else (src, sport)
            server = (src, sport) if client == (dst, dport) else (dst, dport)
            s = streams[int(stream)] = {
                "stream": int(stream), "client": ":".join(client), "server": ":".join(server),
                "certificates": [], "alerts": {"client": [], "server": []},
                "records": {"client": defaultdict(int), "server": defaultdict(int)},
                "sequence": []}
        side = "client" if f"{src}:{sport}" == s["client"] else "server"
        for t in filter(None, types.split(",")):
            s["records"][side][int(t)] += 1
            if int(t) == 23:
                s["sequence"].append(f"{side} application_data")
        if certs:
            s["certificates"].append([hashlib.sha256(bytes.fromhex(c.replace(":", ""))).hexdigest()
                                      for c in certs.split(",")])
            s["sequence"].append(f"{side} certificate")
        for a in filter(None, alerts.split(",")):
            s["alerts"][side].append(ALERTS.get(int(a), f"alert_{a}"))
            s["sequence"].append(f"{side} alert {s['alerts'][side][-1]}")
    out = []
    for s in streams.values():
        s["records"] = {k: dict(v) for k, v in s["records"].items()}
        s["leaf_sha256"] = s["certificates"][0][0] if s["certificates"] else None
        s["client_app_data_records"] = s["records"]["client"].get(23, 0)
        out.append(s)
    return out


def certificate_presented(view: dict, proxy_connections: list[dict]) -> bool:
    """Did this client connection receive a certificate the proxy forged?"""
    forged = {c.get("forged_sha256") for c in proxy_connections} - {None}
    return view.get("leaf_sha256") in forged
