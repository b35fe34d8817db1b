"""The interop matrix: clients x servers x variants.

`expand`, `judge` and `render_markdown` are pure. `run_loopback` executes a
matrix on this machine over 127.0.0.1 with one port per cell; inside a lab the
same cells run with each role's HostRunner instead (wired by `tlslab interop`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lab.tls import registry
from lab.tls.roles import Outcome
from lab.tls.variants import Variant, variant


@dataclass(frozen=True)
class Cell:
    client: str
    server: str
    variant: str

    @property
    def slug(self) -> str:
        return f"{self.client}-to-{self.server}-{self.variant}"


@dataclass(frozen=True)
class Credentials:
    """PEM paths: the server's chain and key, the CA both sides trust, a client identity."""

    cert: str
    key: str
    ca: str
    client_cert: str
    client_key: str


@dataclass
class CellResult:
    cell: Cell
    status: str                        # ok | fail | unsupported | error
    detail: str = ""
    client: list[Outcome] = field(default_factory=list)
    server: list[Outcome] | None = None


def expand(clients: list[str], servers: list[str], variants: list[str]) -> list[Cell]:
    """Every combination, in a stable order; unknown names raise InputError."""
    for name in [*clients, *servers]:
        registry.get(name)
    for name in variants:
        variant(name)
    return [Cell(c, s, v) for v in variants for c in clients for s in servers]


def unsupported(cell: Cell) -> str | None:
    reasons = []
    for name, role in ((cell.client, "client"), (cell.server, "server")):
        why = registry.get(name).supports(variant(cell.variant), role)
        if why:
            reasons.append(f"{name} {role}: {why}")
    return "; ".join(reasons) or None


def judge(v: Variant, client: list[Outcome], server: list[Outcome] | None) -> tuple[str, str]:
    """Did the cell do what the variant asks? Judged on what the peers reported."""
    expected = 2 if v.resume else 1
    if len(client) < expected:
        return "fail", f"{len(client)} of {expected} connections reported"
    for o in client:
        if not o.connected:
            return "fail", f"connection {o.index}: {o.error_class}: {o.error_message}"
        if o.version != v.expect_version:
            return "fail", f"connection {o.index}: version {o.version}, expected {v.expect_version}"
        if o.cipher not in v.expect_ciphers:
            return "fail", f"connection {o.index}: cipher {o.cipher} not in {sorted(v.expect_ciphers)}"
    if v.resume and not client[-1].resumed:
        return "fail", "last connection was not resumed"
    if not any(o.bytes_received for o in client):
        return "fail", "no application data received"
    if v.mutual and server and not any(o.peer_subject for o in server):
        if server[0].implementation in ("python", "tlslite"):
            return "fail", "server saw no client certificate"
    return "ok", ""


def run_cell(cell: Cell, creds: Credentials, port: int, log_dir: str, runner,
             timeout: float = 10.0) -> CellResult:
    why = unsupported(cell)
    if why:
        return CellResult(cell, "unsupported", why)
    v = variant(cell.variant)
    cell_dir = Path(log_dir) / cell.slug
    cell_dir.mkdir(parents=True, exist_ok=True)
    server_spec, client_spec = v.specs(
        port=port, cert=creds.cert, key=creds.key, ca=creds.ca, client_cert=creds.client_cert,
        client_key=creds.client_key, keylog_server=str(cell_dir / "server.keylog"),
        keylog_client=str(cell_dir / "client.keylog"))
    handle = registry.get(cell.server).start_server(runner, server_spec, str(cell_dir))
    try:
        handle.wait_ready()
        client = registry.get(cell.client).run_client(runner, client_spec, str(cell_dir), timeout)
    except Exception as exc:  # one broken cell must not sink the matrix
        handle.stop()
        return CellResult(cell, "error", f"{type(exc).__name__}: {exc}")
    handle.stop()
    server = handle.outcomes()
    status, detail = judge(v, client, server)
    return CellResult(cell, status, detail, client, server)


def run_loopback(cells: list[Cell], creds: Credentials, log_dir: str, base_port: int = 24000,
                 timeout: float = 10.0) -> list[CellResult]:
    """Run cells one after another on 127.0.0.1, each on its own port."""
    from lab.net.runner import LocalRunner
    runner = LocalRunner(name="loopback")
    try:
        return [run_cell(cell, creds, base_port + i, log_dir, runner, timeout)
                for i, cell in enumerate(cells)]
    finally:
        runner.close()


def render_markdown(results: list[CellResult]) -> str:
    rows = ["| variant | client | server | result | version | cipher | resumed | detail |",
            "|---|---|---|---|---|---|---|---|"]
    for r in results:
        last = r.client[-1] if r.client else None
        result = f"unsupported: {r.detail}" if r.status == "unsupported" else r.status
        detail = "" if r.status == "unsupported" else r.detail
        cells = [r.cell.variant, r.cell.client, r.cell.server, result,
                 last.version or "" if last else "", last.cipher or "" if last else "",
                 "" if not last or last.resumed is None else ("yes" if last.resumed else "no"),
                 detail]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"
