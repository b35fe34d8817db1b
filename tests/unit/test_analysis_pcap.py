"""lab.analysis.pcap: the fast reader, checked against tshark and built frames."""
from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from lab.analysis.pcap import ACK, FIN, PSH, SYN, flag_names, parse_frame, read_pcap

PCAPS = Path(__file__).resolve().parents[1] / "data" / "pcaps"
TSHARK = shutil.which("tshark")
needs_tshark = pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")


def tshark_fields(pcap: Path, *fields: str) -> list[list[str]]:
    argv = [TSHARK, "-r", str(pcap), "-Y", "tcp", "-T", "fields", "-E", "occurrence=a"]
    for name in fields:
        argv += ["-e", name]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


@needs_tshark
@pytest.mark.parametrize("name", ["tls12_rsa.pcap", "tls13.pcap", "tcp_retrans.pcap",
                                  "tls12_badcert.pcapng"])
def test_header_fields_match_tshark(name):
    rows = tshark_fields(PCAPS / name, "frame.number", "frame.time_epoch", "tcp.srcport",
                         "tcp.seq_raw", "tcp.ack_raw", "tcp.window_size_value", "tcp.len",
                         "tcp.options.mss_val", "tcp.options.wscale.shift",
                         "tcp.options.timestamp.tsval")
    packets = read_pcap(str(PCAPS / name))
    assert len(packets) == len(rows)
    for pkt, row in zip(packets, rows):
        index, epoch, sport, seq, ack, win, length, mss, wscale, tsval = row
        assert pkt.index == int(index)
        assert pkt.ts_ns == int(Decimal(epoch) * 10**9)
        assert (pkt.sport, pkt.seq, pkt.ack, pkt.window, pkt.payload_len) == \
            (int(sport), int(seq), int(ack), int(win), int(length))
        assert pkt.options.mss == (int(mss) if mss else None)
        assert pkt.options.wscale == (int(wscale) if wscale else None)
        assert pkt.options.ts_val == (int(tsval) if tsval else None)


def test_pcapng_and_pcap_give_the_same_records():
    assert read_pcap(str(PCAPS / "tls12_badcert.pcap")) == \
        read_pcap(str(PCAPS / "tls12_badcert.pcapng"))


def test_snaplen_cut_payload_keeps_true_length():
    packets = read_pcap(str(PCAPS / "tcp_retrans.pcap"))  # captured with -s 128
    data = [p for p in packets if p.payload_len > 100]
    assert data and all(len(p.payload) < p.payload_len for p in data)


def test_nanosecond_pcap_keeps_nanoseconds():
    packets = read_pcap(str(PCAPS / "tcp_retrans.pcap"))
    assert any(p.ts_ns % 1000 for p in packets)


def test_keep_payload_false_drops_bytes_only():
    full = read_pcap(str(PCAPS / "tls12_rsa.pcap"))
    bare = read_pcap(str(PCAPS / "tls12_rsa.pcap"), keep_payload=False)
    assert [p.payload_len for p in full] == [p.payload_len for p in bare]
    assert all(p.payload == b"" for p in bare)


def _frame(layer) -> bytes:
    return bytes(layer)


def test_parse_ipv6_vlan_and_options():
    from scapy.layers.inet import TCP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether
    frame = _frame(Ether() / Dot1Q(vlan=7) / IPv6(src="2001:db8::1", dst="2001:db8::2") /
                   TCP(sport=1234, dport=443, seq=10, ack=20, flags="SA", window=512,
                       options=[("MSS", 1440), ("SAckOK", b""), ("Timestamp", (5, 6)),
                                ("NOP", None), ("WScale", 7)]) / b"hi")
    pkt = parse_frame(1, 0, 1, frame)
    assert (pkt.src, pkt.dst, pkt.sport, pkt.dport) == ("2001:db8::1", "2001:db8::2", 1234, 443)
    assert pkt.flags == SYN | ACK and flag_names(pkt.flags) == "SYN,ACK"
    assert (pkt.options.mss, pkt.options.wscale, pkt.options.sack_permitted) == (1440, 7, True)
    assert (pkt.options.ts_val, pkt.options.ts_ecr) == (5, 6)
    assert pkt.payload == b"hi" and pkt.payload_len == 2


def test_parse_linux_cooked_and_sack_blocks():
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import CookedLinux
    frame = _frame(CookedLinux(proto=0x0800) / IP(src="10.0.0.1", dst="10.0.0.2") /
                   TCP(flags="PA", options=[("SAck", (100, 200, 300, 400))]) / b"x")
    pkt = parse_frame(3, 0, 113, frame)
    assert pkt.flags == PSH | ACK
    assert pkt.options.sack_blocks == ((100, 200), (300, 400))


def test_ethernet_padding_is_not_payload():
    from scapy.layers.inet import IP, TCP
    from scapy.layers.l2 import Ether
    frame = _frame(Ether() / IP() / TCP(flags="F")) + b"\x00" * 6  # padded to 60 bytes
    pkt = parse_frame(1, 0, 1, frame)
    assert pkt.flags == FIN and pkt.payload_len == 0 and pkt.payload == b""


def test_non_tcp_and_fragments_are_skipped():
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.l2 import Ether
    assert parse_frame(1, 0, 1, _frame(Ether() / IP() / UDP())) is None
    assert parse_frame(1, 0, 1, _frame(Ether() / IP(frag=10) / TCP())) is None
    assert parse_frame(1, 0, 1, b"\x00" * 10) is None


def test_unreadable_file_is_an_input_error(tmp_path):
    from lab.errors import InputError
    bad = tmp_path / "x.pcap"
    bad.write_bytes(b"not a capture")
    with pytest.raises(InputError):
        read_pcap(str(bad))
