"""Pure analysis of captured packets: TCP behaviour, TLS messages, the ladder.

Nothing here touches the network or needs root: every function takes a
capture path, packets or a Connection and returns frozen dataclasses.

    reports = analyze_file("run/capture.pcap")
    for r in reports:
        print(r.summary.tls_version, r.tcp.counts.retransmissions)
    json.dumps(to_jsonable(reports))
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any

from lab.analysis.walkthrough import Step, ladder
from lab.analysis.pcap import Packet, TcpOptions, iter_packets, read_pcap
from lab.analysis.summary import (ConnectionReport, ConnectionSummary, analyze_file,
                                  analyze_packets, summarize)
from lab.analysis.tcp import (Connection, RetransmissionKind, TcpAnalysis, analyze_capture,
                              analyze_tcp, split_connections)
from lab.analysis.tls import TlsMessage, TlsRecord, TlsSession, analyze_tls

__all__ = [
    "Connection", "ConnectionReport", "ConnectionSummary", "Packet", "RetransmissionKind",
    "Step", "TcpAnalysis", "TcpOptions", "TlsMessage", "TlsRecord", "TlsSession",
    "analyze_capture", "analyze_file", "analyze_packets", "analyze_tcp", "analyze_tls",
    "iter_packets", "ladder", "read_pcap", "split_connections", "summarize", "to_jsonable",
]


def to_jsonable(obj: Any) -> Any:
    """Dataclasses, enums, tuples and bytes as plain JSON types (bytes as hex)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).hex()
    return obj
