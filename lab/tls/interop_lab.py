"""Running the interop matrix inside one lab: every server on one host, every
client on another, over the lab's own links.

Slots (lab.tls.interop_plan) run in a small thread pool: each starts its
server on its own port, runs its clients one after another, and stops it.
Judging stays in the pure modules (lab.tls.interop, lab.tls.interop_spoof).

    <out>/servers/<slot>/     server log, key log, docroot
    <out>/cells/<cell slug>/  client logs and key log
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lab.errors import LabFailure
from lab.net.runner import HostRunner
from lab.pki import Target, client_cert, forge, root_ca, server_cert, write_credential
from lab.pki.store import CredentialPaths
from lab.tls import registry
from lab.tls.interop import Cell, CellResult, Credentials, judge, unsupported
from lab.tls.interop_plan import DEFAULT_BASE_PORT, RERUN_NOTE, Slot, plan_slots, split_reports
from lab.tls.interop_spoof import SpoofCell, SpoofResult, judge_spoof, unsupported_spoof
from lab.tls.roles import Outcome
from lab.tls.variants import variant

SERVER_HOST, CLIENT_HOST = "server", "client"
DEFAULT_WORKERS = 4        # slots at once; clients mostly wait on process start-up and I/O
DEFAULT_TIMEOUT = 10.0     # per connection


@dataclass(frozen=True)
class InteropPki:
    creds: Credentials                      # the good server chain, the CA, a client identity
    spoofs: dict[str, CredentialPaths]      # spoof name -> what its server presents


def issue_pki(directory: str | Path, hostname: str, address: str | None,
              spoofs: list[str]) -> InteropPki:
    """A fresh root CA, the good server and client credentials, and each spoof."""
    d = Path(directory)
    ca = root_ca()
    sans = (hostname, address) if address else (hostname,)
    good = write_credential(d, "server", server_cert(ca, hostname, sans))
    client = write_credential(d, "client", client_cert(ca, "tlslab client"))
    target = Target(ca=ca, hostname=hostname, sans=sans)
    forged = {name: write_credential(d, f"spoof-{name}", forge(name, target), trust=[ca.cert])
              for name in spoofs}
    creds = Credentials(str(good.chain), str(good.key), str(good.ca_bundle),
                        str(client.chain), str(client.key))
    return InteropPki(creds, forged)


class LockedRunner:
    """A HostRunner whose popen calls take turns: LabState.add_process rewrites
    the lab's state file through one fixed temporary name, which two threads
    must not do at once. After close() it starts nothing, so no worker can
    record a process once the lab is being torn down."""

    def __init__(self, runner, lock: threading.Lock):
        self._runner, self._lock, self.name = runner, lock, runner.name
        self._closed = False

    def popen(self, argv, **kwargs):
        with self._lock:
            if self._closed:
                raise LabFailure("the lab is being torn down")
            return self._runner.popen(argv, **kwargs)

    def run(self, argv, **kwargs):
        return self._runner.run(argv, **kwargs)

    def close(self) -> None:
        with self._lock:
            self._closed = True


@dataclass(frozen=True)
class Where:
    """The two ends, and what the client dials."""

    server: HostRunner
    client: HostRunner
    address: str
    sni: str


def run_slots(slots: list[Slot], where: Where, pki: InteropPki, out_dir: str | Path, *,
              timeout: float = DEFAULT_TIMEOUT, workers: int = DEFAULT_WORKERS,
              progress: Callable[[str], None] = lambda msg: None
              ) -> tuple[list[CellResult], list[SpoofResult]]:
    """Run every slot; results come back in the slots' cell order."""
    out = Path(out_dir)
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="interop")
    try:
        futures = [pool.submit(_run_slot, s, where, pki, out, timeout, progress) for s in slots]
        done = [r for f in futures for r in f.result()]
    except BaseException:
        # Interrupted: queued slots never start, running ones can start no more
        # processes, and the lab's teardown kills the ones they have.
        for runner in (where.server, where.client):
            getattr(runner, "close", lambda: None)()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return ([r for r in done if isinstance(r, CellResult)],
            [r for r in done if isinstance(r, SpoofResult)])


def _run_slot(slot: Slot, where: Where, pki: InteropPki, out: Path, timeout: float,
              progress) -> list:
    results, todo = [], []
    for cell in slot.cells:
        why = unsupported_spoof(cell) if isinstance(cell, SpoofCell) else unsupported(cell)
        if why:
            results.append(_result(cell, "unsupported", why))
        else:
            todo.append(cell)
    if not todo:
        return results
    cert = pki.spoofs[slot.spoof] if slot.spoof else None
    server_dir = out / "servers" / slot.name
    v = variant(slot.variant)

    def specs(keylog_client: str | None):
        return v.specs(port=slot.port, cert=str(cert.chain) if cert else pki.creds.cert,
                       key=str(cert.key) if cert else pki.creds.key, ca=pki.creds.ca,
                       address=where.address, sni=where.sni, client_cert=pki.creds.client_cert,
                       client_key=pki.creds.client_key,
                       keylog_server=str(server_dir / "server.keylog"), keylog_client=keylog_client)

    try:
        handle = registry.get(slot.server).start_server(where.server, specs(None)[0], str(server_dir))
    except Exception as exc:  # a server that cannot start fails its cells, not the run
        return results + [_result(c, "error", f"server did not start: {exc}") for c in todo]
    runs: list[tuple[object, list[Outcome] | None, str]] = []
    try:
        handle.wait_ready()
        for cell in todo:
            cell_dir = out / "cells" / cell.slug
            try:
                client = _run_client(cell, specs(str(cell_dir / "client.keylog"))[1], where,
                                     cell_dir, timeout)
                runs.append((cell, client, ""))
            except Exception as exc:  # one broken cell must not sink the matrix
                runs.append((cell, None, f"{type(exc).__name__}: {exc}"))
    except Exception as exc:
        started = {c for c, _, _ in runs}
        runs += [(c, None, f"{type(exc).__name__}: {exc}") for c in todo if c not in started]
    finally:
        handle.stop()
    # Read only now: gnutls-serv's log reaches the file in bursts, so only a
    # stopped server's report is complete. A spoof's server report is not
    # matched to clients: gnutls-serv omits some aborted handshakes from it.
    clients = [client for _, client, _ in runs]
    views = [None] * len(runs) if slot.spoof else split_reports(handle.outcomes(), clients)
    for (cell, client, error), server in zip(runs, views):
        results.append(_judged(cell, client, server) if client is not None
                       else _result(cell, "error", error))
        progress(f"{cell.slug}: {results[-1].status}")
    order = {c: i for i, c in enumerate(slot.cells)}
    return sorted(results, key=lambda r: order[r.cell])


def _run_client(cell, spec, where: Where, cell_dir: Path, timeout: float) -> list[Outcome]:
    impl = registry.get(cell.client)
    client = impl.run_client(where.client, spec, str(cell_dir), timeout)
    if _wrapper_lost_output(client, cell_dir):
        client = impl.run_client(where.client, spec, str(cell_dir / "rerun"), timeout)
        for o in client:
            o.notes.append(RERUN_NOTE)
    return client


def _wrapper_lost_output(client: list[Outcome], cell_dir: Path) -> bool:
    """lab.tls.agents.cliwrap dies with BrokenPipeError when its tool exits
    before reading stdin (a fast certificate rejection on a busy machine), and
    run_tool then reports a timeout that never happened. Only the harness
    failed, so the cell is run again once; the note says so."""
    return any(o.error_class == "timeout" for o in client) and any(
        b"BrokenPipeError" in p.read_bytes() for p in cell_dir.glob("*.log"))


def _judged(cell, client: list[Outcome], server: list[Outcome] | None):
    if isinstance(cell, SpoofCell):
        status, seen, detail = judge_spoof(cell, client)
        return SpoofResult(cell, status, seen, detail, client, server)
    status, detail = judge(variant(cell.variant), client, server)
    return CellResult(cell, status, detail, client, server)


def _result(cell, status: str, detail: str):
    if isinstance(cell, SpoofCell):
        return SpoofResult(cell, status, detail=detail)
    return CellResult(cell, status, detail)


def server_name(host: str) -> str:
    """The DNS name the good certificate is issued for and clients check."""
    return f"{host}.lab"


@dataclass
class InteropRun:
    results: list[CellResult]
    spoofs: list[SpoofResult]
    run_dir: str
    elapsed: float
    captures: list


def run_in_lab(lab, cells: list[Cell], spoof_cells: list[SpoofCell], out_dir: str | Path, *,
               server_host: str = SERVER_HOST, client_host: str = CLIENT_HOST,
               base_port: int = DEFAULT_BASE_PORT, workers: int = DEFAULT_WORKERS,
               timeout: float = DEFAULT_TIMEOUT, progress: Callable[[str], None] = lambda msg: None
               ) -> tuple[list[CellResult], list[SpoofResult]]:
    """Issue the PKI into <out_dir>/certs and run every cell in a lab that is up."""
    slots = plan_slots(cells, spoof_cells, base_port)
    address = lab.host(server_host).address
    pki = issue_pki(Path(out_dir) / "certs", server_name(server_host), address,
                    sorted({s.spoof for s in spoof_cells}))
    lock = threading.Lock()
    where = Where(LockedRunner(lab.host(server_host), lock), LockedRunner(lab.host(client_host), lock),
                  address, server_name(server_host))
    progress(f"{len(slots)} servers, {len(cells) + len(spoof_cells)} cells")
    results, spoofs = run_slots(slots, where, pki, out_dir, timeout=timeout, workers=workers,
                                progress=progress)
    order = {c: i for i, c in enumerate([*cells, *spoof_cells])}
    return (sorted(results, key=lambda r: order[r.cell]), sorted(spoofs, key=lambda r: order[r.cell]))


def run_interop(topology, run_dir: str, cells: list[Cell], spoof_cells: list[SpoofCell], *,
                server_host: str = SERVER_HOST, client_host: str = CLIENT_HOST, capture: bool = True,
                progress: Callable[[str], None] = lambda msg: None, **options) -> InteropRun:
    """Bring the lab up, capture on both hosts, run every cell (options: run_in_lab's)."""
    from lab.net.capture import HostCaptures
    from lab.net.lab import Lab

    started = time.monotonic()
    for name in (server_host, client_host):
        _require_host(topology, name)
    stats = []
    with Lab(topology, run_dir=run_dir) as lab:
        progress(f"lab '{topology.name}' up in {lab.run_dir}")
        captures = HostCaptures(lab, str(Path(run_dir) / "captures"), hosts=[client_host, server_host]) \
            if capture else None
        if captures:
            captures.start()
        try:
            results, spoofs = run_in_lab(lab, cells, spoof_cells, run_dir, server_host=server_host,
                                         client_host=client_host, progress=progress, **options)
        finally:
            if captures:
                time.sleep(0.05)  # let the last FIN/ACKs reach the captures
                stats = captures.stop()
    return InteropRun(results, spoofs, str(run_dir), time.monotonic() - started, stats)


def _require_host(topology, name: str) -> None:
    from lab.errors import InputError
    from lab.kinds import get_kind

    hosts = [n.name for n in topology.nodes if not get_kind(n.kind).is_switch]
    if name not in hosts:
        raise InputError(f"no host '{name}' in topology '{topology.name}' ({topology.path}); "
                         f"hosts: {', '.join(hosts)}")


def tool_versions() -> tuple[tuple[str, str], ...]:
    """What played: the CLI tools' own words, and the Python packages' metadata."""
    import platform
    import ssl
    import subprocess
    from importlib import metadata

    def first_line(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except OSError as exc:
            return f"not available ({exc.strerror})"
        return (done.stdout or done.stderr).strip().splitlines()[0]

    def package(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (("openssl", first_line(["openssl", "version"])),
            ("gnutls", first_line(["gnutls-cli", "--version"])),
            ("python", f"CPython {platform.python_version()} (ssl module: {ssl.OPENSSL_VERSION})"),
            ("tlslite-ng", package("tlslite-ng")),
            ("scapy", package("scapy")),
            ("kernel", f"Linux {platform.release()}"))
