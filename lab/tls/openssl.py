"""OpenSSL's s_client and s_server (the 3.0 CLI).

The server answers with `-HTTP`: it serves the file named in the request line
verbatim, so a docroot holding index.html = http_response(spec.response) makes
it send the same bytes as every other server. It therefore only answers
`GET /index.html ...` (the default request); anything else gets s_server's own
error text, which shows up as a different received_sha256, not silently.

Each client connection is one s_client run under the timestamping wrapper;
resumption passes the session from one run to the next with -sess_out/-sess_in.
"""
from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from lab.net.runner import HostRunner
from lab.tls.base import Implementation, ServerHandle, name_gaps, open_log, prepare_keylog
from lab.tls.names import OPENSSL_GROUPS, suite
from lab.tls.openssl_parse import parse_s_client
from lab.tls.roles import ClientSpec, Outcome, ServerSpec, http_response
from lab.tls.toolrun import run_tool

_PROTO = {"1.0": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2", "1.3": "TLSv1.3"}
DOC = "index.html"


def common_args(spec: ServerSpec | ClientSpec) -> list[str]:
    args = ["-min_protocol", _PROTO[spec.min_version], "-max_protocol", _PROTO[spec.max_version]]
    tls12 = [suite(c).openssl for c in spec.ciphers if not suite(c).tls13]
    tls13 = [suite(c).iana for c in spec.ciphers if suite(c).tls13]
    if tls12:
        args += ["-cipher", ":".join(tls12)]
    if tls13:
        args += ["-ciphersuites", ":".join(tls13)]
    if spec.groups:
        args += ["-groups", ":".join(OPENSSL_GROUPS[g] for g in spec.groups)]
    if spec.keylog:
        args += ["-keylogfile", spec.keylog]
    return args


_PEM_END = b"-----END CERTIFICATE-----"


def split_intermediates(chain: str, out: Path) -> str | None:
    """Write the certificates after the leaf to `out`; None if there are none."""
    blocks = [b + _PEM_END for b in Path(chain).read_bytes().split(_PEM_END) if b.strip()]
    if len(blocks) < 2:
        return None
    out.write_bytes(b"\n".join(b.strip() for b in blocks[1:]) + b"\n")
    return str(out)


def server_argv(spec: ServerSpec, intermediates: str | None = None) -> list[str]:
    # -cert reads only the leaf from the chain file; the intermediates go in
    # through -cert_chain (given the whole file, the leaf would be sent twice).
    chain = ["-cert_chain", intermediates] if intermediates else []
    argv = ["openssl", "s_server", "-accept", str(spec.port), "-cert", spec.cert, *chain,
            "-key", spec.key, "-HTTP", "-http_server_binmode", *common_args(spec)]
    if spec.client_ca:
        argv += ["-Verify", "1", "-CAfile", spec.client_ca, "-verify_return_error"]
    if not spec.resumption:
        argv += ["-no_cache", "-num_tickets", "0"]
    elif not spec.tickets:
        argv += ["-no_ticket"]
    return argv


def client_argv(spec: ClientSpec, msgfile: str, sess_in: str | None, sess_out: str) -> list[str]:
    argv = ["openssl", "s_client", "-connect", f"{spec.address}:{spec.port}", "-brief",
            "-ign_eof", "-msg", "-msgfile", msgfile, "-sess_out", sess_out, *common_args(spec)]
    argv += ["-servername", spec.sni] if spec.sni else ["-noservername"]
    if spec.ca:
        argv += ["-CAfile", spec.ca]
    if spec.verify:
        name = spec.sni or spec.address
        try:
            ipaddress.ip_address(name)
            argv += ["-verify_ip", name]
        except ValueError:
            argv += ["-verify_hostname", name]
        argv += ["-verify_return_error"]
    if spec.cert:
        argv += ["-cert", spec.cert, "-key", spec.key]
    if sess_in:
        argv += ["-sess_in", sess_in]
    return argv


class OpenSSL(Implementation):
    name = "openssl"

    def server_gaps(self, spec: ServerSpec) -> list[str]:
        return name_gaps(spec)

    def client_gaps(self, spec: ClientSpec) -> list[str]:
        gaps = name_gaps(spec)
        if spec.pin:
            gaps.append("s_client cannot pin a public key")
        return gaps

    def start_server(self, runner: HostRunner, spec: ServerSpec, log_dir: str) -> ServerHandle:
        self.check_server(spec)
        prepare_keylog(spec)
        path, log = open_log(log_dir, runner.name, f"openssl-server-{spec.port}")
        docroot = Path(log_dir) / f"{runner.name}-openssl-docroot-{spec.port}"
        docroot.mkdir(parents=True, exist_ok=True)
        (docroot / DOC).write_bytes(http_response(spec.response))
        intermediates = split_intermediates(spec.cert, docroot / "intermediates.pem")
        proc = runner.popen(server_argv(spec, intermediates), stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, cwd=str(docroot))
        return ServerHandle(self, runner, spec, proc, path, log)

    def run_client(self, runner: HostRunner, spec: ClientSpec, log_dir: str,
                   timeout: float = 10.0) -> list[Outcome]:
        self.check_client(spec)
        prepare_keylog(spec)
        outcomes: list[Outcome] = []
        sess_in = None
        for index in range(spec.count):
            stem = Path(log_dir) / f"{runner.name}-openssl-client-{spec.port}-{index}"
            msgfile, sess_out = f"{stem}.msg", f"{stem}.sess"
            Path(sess_out).unlink(missing_ok=True)
            run = run_tool(runner, client_argv(spec, msgfile, sess_in, sess_out),
                           stdin=spec.data, timeout=timeout, log_dir=log_dir,
                           process=f"openssl-client-{index}")
            msg_text = Path(msgfile).read_text(errors="replace") if Path(msgfile).exists() else ""
            out = parse_s_client(run, msg_text, offered_session=sess_in is not None, index=index)
            if out.connected:
                out.set_sent(spec.data)
            if out.resumed and outcomes:
                # A resumed handshake carries no certificate: it is the earlier one's.
                prev = outcomes[-1]
                out.peer_subject, out.peer_issuer, out.peer_sha256 = (
                    prev.peer_subject, prev.peer_issuer, prev.peer_sha256)
            outcomes.append(out)
            if spec.resume and Path(sess_out).exists():
                sess_in = sess_out
        return outcomes
