"""JSON for `tlslab inspect --json`: lab.analysis.to_jsonable's shape, made
fast enough for captures of 100,000 packets.

Packet rows are converted field by field (they hold only numbers, strings
and tuples, which json encodes natively) instead of through the generic
recursive to_jsonable, and the text is laid out one row per line: readable,
and written by json's C encoder (indent= would switch to its Python one).
"""
from __future__ import annotations

import dataclasses
import json

from lab.analysis import to_jsonable
from lab.inspect.model import PacketRow

_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(PacketRow))
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def jsonable(obj):
    """to_jsonable, with a fast path for packet rows."""
    if isinstance(obj, PacketRow):
        out = {name: getattr(obj, name) for name in _ROW_FIELDS}
        out["tls"] = to_jsonable(obj.tls) if obj.tls else []
        return out
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return to_jsonable(obj)


def dumps(obj, depth: int = 0, pad: str = "") -> str:
    """Objects two levels deep spread over lines; anything deeper, one line each."""
    inner = pad + " "
    if isinstance(obj, dict) and depth < 2 and obj:
        items = [f"{inner}{_COMPACT(str(k))}: {dumps(v, depth + 1, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list) and depth <= 2 and obj:
        items = [f"{inner}{dumps(v, depth + 1, inner)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return _COMPACT(obj)


def to_json(obj) -> str:
    return dumps(jsonable(obj))
