"""GnuTLS's gnutls-cli and gnutls-serv (3.7).

Options become one priority string. GnuTLS priorities select key exchanges,
ciphers and MACs separately, not suites, so a list of several suites allows
their cross product, and a TLS 1.2 cipher also restricts TLS 1.3's bulk cipher.
Key logs come from the SSLKEYLOGFILE environment variable.

The server answers with `--http --httpdata FILE`, whose header is byte for
byte the one lab.tls.roles.http_response writes. The client cannot save a session between runs;
`--resume` makes one run do two connections, and only the second sends data.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from lab.net.runner import HostRunner
from lab.tls.agents.common import cert_summary
from lab.tls.base import Implementation, ServerHandle, name_gaps, open_log, prepare_keylog
from lab.tls.gnutls_parse import description_parts, description_suite, parse_gnutls_cli
from lab.tls.names import alert_name, suite
from lab.tls.roles import ClientSpec, Outcome, ServerSpec
from lab.tls.toolrun import run_tool


def _unique(items):
    return list(dict.fromkeys(i for i in items if i))


def priority(spec: ServerSpec | ClientSpec) -> str:
    parts = ["NORMAL", "-VERS-ALL"] + [f"+VERS-TLS{v}" for v in spec.versions]
    suites = [suite(c) for c in spec.ciphers]
    if suites:
        kxs = _unique(s.kx for s in suites)
        if kxs:
            parts += ["-KX-ALL"] + [f"+{k}" for k in kxs]
        parts += ["-CIPHER-ALL"] + [f"+{c}" for c in _unique(s.cipher for s in suites)]
        parts += ["-MAC-ALL"] + [f"+{m}" for m in _unique(s.mac for s in suites)]
    if spec.groups:
        parts += ["-GROUP-ALL"] + [f"+GROUP-{g.upper()}" for g in spec.groups]
    return ":".join(parts)


def keylog_env(spec) -> dict[str, str]:
    return {"SSLKEYLOGFILE": spec.keylog} if spec.keylog else {}


def server_argv(spec: ServerSpec, httpdata: str) -> list[str]:
    argv = ["gnutls-serv", "-p", str(spec.port), "--http", f"--httpdata={httpdata}",
            f"--x509certfile={spec.cert}", f"--x509keyfile={spec.key}",
            f"--priority={priority(spec)}"]
    if spec.client_ca:
        argv += ["--require-client-cert", "--verify-client-cert", f"--x509cafile={spec.client_ca}"]
    else:
        argv += ["--disable-client-cert"]
    if not spec.resumption:
        argv += ["--nodb", "--noticket"]
    elif not spec.tickets:
        argv += ["--noticket"]
    return argv


def client_argv(spec: ClientSpec, save_cert: str) -> list[str]:
    argv = ["gnutls-cli", "-d", "5", "-p", str(spec.port), f"--priority={priority(spec)}",
            f"--save-cert={save_cert}", spec.address]
    if spec.sni:
        argv += [f"--sni-hostname={spec.sni}", f"--verify-hostname={spec.sni}"]
    else:
        argv += ["--disable-sni"]
    if spec.ca:
        argv += [f"--x509cafile={spec.ca}"]
    if not spec.verify:
        argv += ["--insecure"]
    if spec.cert:
        argv += [f"--x509certfile={spec.cert}", f"--x509keyfile={spec.key}"]
    if spec.resume:
        # TLS 1.3 tickets arrive after the handshake; wait for one before reconnecting.
        argv += ["--resume"] + (["--waitresumption"] if "1.3" in spec.versions else [])
    return argv


def parse_serv_log(text: str) -> list[Outcome]:
    """gnutls-serv prints a block per accepted connection; it does not print
    timings, the bytes it moved, or the alerts it sent."""
    outcomes = []
    blocks = re.split(r"^\* Accepted connection from .*$", text, flags=re.M)[1:]
    for index, block in enumerate(blocks):
        o = Outcome(implementation="gnutls", role="server", index=index)
        desc = re.search(r"^- Description: (.*)$", block, re.M)
        failed = re.search(r"^Error in handshake: (.*)$", block, re.M)
        if desc and not failed:
            info = description_parts(desc.group(1))
            o.connected, o.version, o.group = True, info["version"], info["group"]
            o.resumed = "*** This is a resumed session" in block
            o.cipher = description_suite(desc.group(1))
            if o.resumed and o.version == "TLSv1.2":
                o.group = None  # abbreviated handshake: no key exchange
        alert = re.search(r"^\*\*\* Received alert \[(\d+)\]", block, re.M)
        if alert:
            o.alert_received = alert_name(int(alert.group(1)))
        if failed:
            o.error_class = "alert_received" if alert else "handshake_failed"
            o.error_message = failed.group(1)
        o.notes.append("parsed from gnutls-serv's log: no timings, bytes or sent alerts")
        outcomes.append(o)
    return outcomes


class GnuTLS(Implementation):
    name = "gnutls"

    def server_gaps(self, spec: ServerSpec) -> list[str]:
        return name_gaps(spec)

    def client_gaps(self, spec: ClientSpec) -> list[str]:
        gaps = name_gaps(spec)
        if spec.pin:
            gaps.append("gnutls-cli cannot pin a public key (only TOFU/DANE)")
        if spec.resume and spec.count != 2:
            gaps.append("gnutls-cli --resume makes exactly two connections")
        return gaps

    def start_server(self, runner: HostRunner, spec: ServerSpec, log_dir: str) -> ServerHandle:
        self.check_server(spec)
        prepare_keylog(spec)
        path, log = open_log(log_dir, runner.name, f"gnutls-server-{spec.port}")
        httpdata = Path(log_dir) / f"{runner.name}-gnutls-httpdata-{spec.port}"
        httpdata.write_bytes(spec.response)
        proc = runner.popen(server_argv(spec, str(httpdata)), stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, env=_env(keylog_env(spec)))
        return ServerHandle(self, runner, spec, proc, path, log)

    def run_client(self, runner: HostRunner, spec: ClientSpec, log_dir: str,
                   timeout: float = 10.0) -> list[Outcome]:
        self.check_client(spec)
        prepare_keylog(spec)
        runs = 1 if spec.resume else spec.count
        outcomes: list[Outcome] = []
        for r in range(runs):
            save_cert = Path(log_dir) / f"{runner.name}-gnutls-client-{spec.port}-{r}.peer.pem"
            save_cert.unlink(missing_ok=True)
            run = run_tool(runner, client_argv(spec, str(save_cert)), stdin=spec.data,
                           timeout=timeout * (2 if spec.resume else 1), log_dir=log_dir,
                           process=f"gnutls-client-{r}", env=keylog_env(spec))
            found = parse_gnutls_cli(run, first_index=len(outcomes))
            peer = _leaf_der(save_cert)
            for i, o in enumerate(found):
                if i == 0 or not o.resumed:
                    cert_summary(o, peer)
                else:  # a resumed handshake carries no certificate
                    o.peer_subject, o.peer_issuer, o.peer_sha256 = (
                        found[0].peer_subject, found[0].peer_issuer, found[0].peer_sha256)
                if o.connected and i == len(found) - 1:
                    o.set_sent(spec.data)
                elif o.connected:
                    o.notes.append("gnutls-cli --resume sends data only on the last connection")
            outcomes += found
        return outcomes

    def server_outcomes(self, log_text: str) -> list[Outcome] | None:
        return parse_serv_log(log_text)


def _env(extra: dict[str, str]) -> dict[str, str] | None:
    return {**os.environ, **extra} if extra else None


def _leaf_der(path: Path) -> bytes | None:
    if not path.exists() or not path.read_bytes().strip():
        return None
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    certs = x509.load_pem_x509_certificates(path.read_bytes())
    return certs[0].public_bytes(Encoding.DER) if certs else None
