"""The one-screen summary of a scenario run."""
from __future__ import annotations


def render(result, color: bool = False) -> str:
    def paint(text: str, ok: bool) -> str:
        if not color:
            return text
        return f"\033[{32 if ok else 31}m{text}\033[0m"

    d = result.data
    title = d["scenario"] + (f" [{result.scenario.cell_id}]" if result.scenario.cell_id else "")
    lines = [f"{title}  ->  {result.run_dir}"]
    for link in d["links"]:
        if link["engine"] != "wire":
            lines.append(f"  link {link['link']}: engine {link['engine']}")
    for c in d["connections"]:
        o = c["outcome"]
        state = (f"{o['version']} {o['cipher']}" + (" resumed" if o["resumed"] else "")
                 if o["connected"] else
                 f"failed: {o['error_class'] or '?'}"
                 + (f" alert {o['alert_received'] or o['alert_sent']}"
                    if o["alert_received"] or o["alert_sent"] else ""))
        tcp = c.get("tcp") or {}
        extra = ""
        if tcp:
            extra = (f"  rtx {tcp.get('retransmissions', '?')}"
                     f"  rtts {tcp.get('round_trips', '?')}"
                     + (f"  hs {tcp['handshake_time'] * 1000:.1f} ms"
                        if tcp.get("handshake_time") is not None else ""))
        lines.append(f"  {c['client']}#{o['index']} {c['client_impl']}@{c['client_host']} -> "
                     f"{c['server_impl']}@{c['server_host']}:{c['port']}  {state}{extra}")
    for chk in result.checked:
        mark = paint("PASS" if chk.passed else "FAIL", chk.passed)
        detail = "" if chk.passed else f"  (expected {chk.expected}, observed {chk.observed})"
        lines.append(f"  {mark} {chk.subject}.{chk.name} = {chk.observed}{detail}")
    drops = sum(c["dropped"] for c in d["captures"])
    lines.append(f"  captures: {len(d['captures'])} interfaces, {drops} kernel drops; "
                 f"verdict {paint(d['verdict'].upper(), result.passed)}")
    return "\n".join(lines)
