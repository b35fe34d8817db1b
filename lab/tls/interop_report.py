"""Turning interop results into tables, findings, JSON and docs/interop.md.
Pure: everything here is computed from results the peers reported."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from lab.tls.interop import CellResult, render_markdown
from lab.tls.interop_plan import RERUN_NOTE
from lab.tls.interop_spoof import FINDINGS, SPOOF_SERVER, SPOOF_VARIANT, SpoofResult
from lab.tls.variants import VARIANTS

# Statuses a run may end with and still pass: a refusal is declared, a finding documented.
PASSING = frozenset({"ok", "finding", "unsupported"})


@dataclass(frozen=True)
class RunInfo:
    """What the document says about how the results were made."""

    command: str
    topology: str
    server_host: str
    client_host: str
    elapsed: float
    date: str
    versions: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())


def passed(results: list[CellResult], spoofs: list[SpoofResult]) -> bool:
    return all(r.status in PASSING for r in [*results, *spoofs])


def counts(results: list[CellResult], spoofs: list[SpoofResult]) -> str:
    c = Counter(r.status for r in [*results, *spoofs])
    return ", ".join(f"{n} {s}" for s, n in sorted(c.items()))


def short_suite(name: str | None) -> str:
    return (name or "?").removeprefix("TLS_").replace("_WITH_", "_")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _matrix_text(r: CellResult) -> str:
    if r.status == "unsupported":
        return f"unsupported: {r.detail}"
    if r.status != "ok":
        return f"**{r.status.upper()}**: {r.detail}"
    last = r.client[-1]
    return "ok " + short_suite(last.cipher) + (" resumed" if last.resumed else "")


def matrix_grids(results: list[CellResult]) -> str:
    """One grid per variant: clients down, servers across."""
    out = []
    for name in dict.fromkeys(r.cell.variant for r in results):
        rows = [r for r in results if r.cell.variant == name]
        servers = list(dict.fromkeys(r.cell.server for r in rows))
        clients = list(dict.fromkeys(r.cell.client for r in rows))
        by = {(r.cell.client, r.cell.server): r for r in rows}
        grid = [[f"**{c}**"] + [_matrix_text(by[c, s]) if (c, s) in by else "" for s in servers]
                for c in clients]
        summary = VARIANTS[name].summary if name in VARIANTS else ""
        out.append(f"### {name}: {summary}\n\n" + _table(["client \\ server", *servers], grid))
    return "\n".join(out)


def _spoof_text(r: SpoofResult) -> str:
    if r.status == "unsupported":
        return f"unsupported: {r.detail}"
    if r.status == "error":
        return f"**ERROR**: {r.detail}"
    o = r.client[0] if r.client else None
    if r.verdict == "rejected":
        text = f"rejected: {o.alert_sent or o.error_class}"
    elif r.verdict == "accepted":
        text = "**ACCEPTED**"
    else:
        why = "no report" if o is None else (
            f"received {o.alert_received}" if o.alert_received else o.error_class)
        text = f"inconclusive: {why}"
    if r.status == "finding":
        text += " (finding)"
    elif r.status == "fail":
        text = f"**FAIL** {text}"
    return text


def spoof_grid(spoofs: list[SpoofResult]) -> str:
    if not spoofs:
        return ""
    clients = list(dict.fromkeys(r.cell.client for r in spoofs))
    names = list(dict.fromkeys(r.cell.spoof for r in spoofs))
    by = {(r.cell.spoof, r.cell.client): r for r in spoofs}
    grid = [[f"**{s}**"] + [_spoof_text(by[s, c]) if (s, c) in by else "" for c in clients]
            for s in names]
    return _table(["certificate \\ client", *clients], grid)


def spoof_details(spoofs: list[SpoofResult]) -> str:
    rows = []
    for r in spoofs:
        o = r.client[0] if r.client else None
        rows.append([r.cell.spoof, r.cell.client, r.status, r.verdict,
                     (o and o.alert_sent) or "", (o and o.error_class) or "",
                     (o and o.error_message) or r.detail])
    return _table(["certificate", "client", "status", "verdict", "alert sent", "error class",
                   "client's message"], rows)


def _pairs(cells: list[CellResult], by_client: set[str]) -> str:
    """'a -> *' for the clients in `by_client` (every working pair of theirs is
    among `cells`), else one 'a -> b' per pair."""
    parts = []
    for client in dict.fromkeys(r.cell.client for r in cells):
        mine = [r.cell.server for r in cells if r.cell.client == client]
        parts += [f"{client} -> *"] if client in by_client else [f"{client} -> {s}" for s in mine]
    return ", ".join(parts)


def _differences(results: list[CellResult], attr: str, label: str) -> list[str]:
    """Per variant, where working pairs agreed on different values of `attr`."""
    lines = []
    for name in dict.fromkeys(r.cell.variant for r in results):
        ok = [r for r in results if r.cell.variant == name and r.status == "ok"]
        by_value: dict = {}
        for r in ok:
            by_value.setdefault(getattr(r.client[-1], attr), []).append(r)
        if len(by_value) < 2:
            continue
        parts = []
        for value, cells in sorted(by_value.items(), key=lambda kv: (len(kv[1]), str(kv[0]))):
            uniform = {c for c in {r.cell.client for r in cells}
                       if all(getattr(x.client[-1], attr) == value for x in ok if x.cell.client == c)}
            parts.append(f"{value} ({_pairs(cells, uniform)})")
        lines.append(f"**{name}**: the {label} differs by pair: " + "; ".join(parts) + ".")
    return lines


def findings(results: list[CellResult], spoofs: list[SpoofResult]) -> list[str]:
    """Where implementations differ, as markdown bullet texts."""
    out = []
    for r in spoofs:
        if r.status == "finding":
            what = "accepted" if r.verdict == "accepted" else "reached no verdict on"
            out.append(f"**{r.cell.client}** {what} the **{r.cell.spoof}** certificate: {r.detail}.")
    for r in [*results, *spoofs]:
        if r.status in ("fail", "error"):
            out.append(f"**{r.status.upper()}** {r.cell.slug}: {r.detail}")
    alerts: dict[str, dict[str, list[str]]] = {}
    for r in spoofs:
        if r.verdict == "rejected" and r.client:
            o = r.client[0]
            alerts.setdefault(r.cell.spoof, {}).setdefault(o.alert_sent or "(none)", []).append(r.cell.client)
    per_client: dict[str, list[str]] = {}
    for by_alert in alerts.values():
        for alert, clients in by_alert.items():
            for c in clients:
                per_client.setdefault(c, []).append(alert)
    for c, sent in per_client.items():
        if len(sent) > 1 and len(set(sent)) == 1:
            out.append(f"**{c}** sends {sent[0]} for every certificate it rejects.")
    for spoof, by_alert in alerts.items():
        if len(by_alert) > 1:
            parts = [f"{a} ({', '.join(cs)})" for a, cs in by_alert.items()]
            out.append(f"Rejecting **{spoof}**, clients send different alerts: " + "; ".join(parts) + ".")
    out += _differences(results, "cipher", "negotiated cipher suite")
    out += _differences(results, "group", "key-exchange group")
    reruns = [r.cell.slug for r in [*results, *spoofs]
              if any(RERUN_NOTE in o.notes for o in r.client)]
    if reruns:
        out.append(f"Run a second time ({RERUN_NOTE}): {', '.join(reruns)}.")
    refused: dict[str, list[str]] = {}
    for r in [*results, *spoofs]:
        if r.status == "unsupported":
            refused.setdefault(r.detail, []).append(r.cell.slug)
    for reason, slugs in refused.items():
        out.append(f"Not run ({reason}): {', '.join(slugs)}.")
    return out


def render_tables(results: list[CellResult], spoofs: list[SpoofResult]) -> str:
    parts = []
    if results:
        parts.append("## Every client against every server\n\n" + matrix_grids(results))
    if spoofs:
        parts.append(f"## Spoofed server certificates (server: {SPOOF_SERVER}, variant "
                     f"{SPOOF_VARIANT}, client verification on)\n\n" + spoof_grid(spoofs))
    items = findings(results, spoofs)
    parts.append("## Findings\n\n" + ("".join(f"- {f}\n" for f in items) or "None.\n"))
    return "\n".join(parts)


def render_document(info: RunInfo, results: list[CellResult], spoofs: list[SpoofResult]) -> str:
    verdict = "every supported cell behaved as expected" if passed(results, spoofs) else \
        "some cells did NOT behave as expected"
    versions = "".join(f"- {name}: {version}\n" for name, version in info.versions)
    doc = [
        "# TLS interoperability\n",
        "Generated by `tlslab interop` from a real run; do not edit by hand. Reproduce with:\n",
        f"```sh\n{info.command}\n```\n",
        f"Lab `{info.topology}`: servers on `{info.server_host}`, clients on `{info.client_host}`, "
        f"over the lab's link. {info.date}, {info.elapsed:.1f} s. Result: {verdict} "
        f"({counts(results, spoofs)}).\n",
        "Versions:\n\n" + versions,
        "A cell is *ok* when every connection completed with the variant's version and "
        "suite (and resumed, for the resume variants) and application data came back. A "
        "spoofed certificate must be *rejected* by the client; a documented deviation is a "
        "*finding*, listed below with its cause.\n",
        *(f"{n}\n" for n in info.notes),
        render_tables(results, spoofs),
    ]
    if results:
        doc.append("<details><summary>Every matrix cell</summary>\n\n" + render_markdown(results)
                   + "\n</details>\n")
    if spoofs:
        doc.append("<details><summary>Every spoof cell</summary>\n\n" + spoof_details(spoofs)
                   + "\n</details>\n")
    return "\n".join(doc)


def to_json(results: list[CellResult], spoofs: list[SpoofResult]) -> dict:
    def side(outs):
        return None if outs is None else [o.to_json() for o in outs]
    return {
        "passed": passed(results, spoofs),
        "matrix": [{"cell": r.cell.slug, "client": r.cell.client, "server": r.cell.server,
                    "variant": r.cell.variant, "status": r.status, "detail": r.detail,
                    "client_outcomes": side(r.client), "server_outcomes": side(r.server)}
                   for r in results],
        "spoofs": [{"cell": r.cell.slug, "client": r.cell.client, "server": r.cell.server,
                    "certificate": r.cell.spoof, "status": r.status, "verdict": r.verdict,
                    "detail": r.detail, "documented": (r.cell.client, r.cell.spoof) in FINDINGS,
                    "client_outcomes": side(r.client), "server_outcomes": side(r.server)}
                   for r in spoofs],
    }
