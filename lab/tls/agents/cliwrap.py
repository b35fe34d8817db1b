"""Run a TLS command-line tool and timestamp everything it prints.

CLI tools do not report timings, so this thin wrapper stands on the host next
to the tool: t=0 is just before the tool is spawned, and every chunk of the
tool's stdout and stderr is stamped when it arrives through the pipe. The
implementation module later maps "the tool printed its handshake summary" and
"the first byte of application data appeared" to those stamps. Tool start-up
(exec, config loading) is therefore inside the numbers; packet captures give
the precise ones.

Usage: python -m lab.tls.agents.cliwrap '{"argv": [...], "stdin": b64,
"timeout": s, "record": path}'. The tool's output also goes to our stderr (the
log); the stamped record is written to `record` as JSON.
"""
from __future__ import annotations

import base64
import json
import os
import selectors
import signal
import subprocess
import sys
import time


_children: list[subprocess.Popen] = []


def _on_term(signum, frame):
    # Stopping the wrapper must stop the tool it started.
    for proc in _children:
        if proc.poll() is None:
            proc.kill()
    raise SystemExit(128 + signum)


def run(argv: list[str], stdin: bytes, timeout: float) -> dict:
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    _children.append(proc)
    # Keep stdin open until the tool exits: gnutls-cli closes the TLS session
    # on EOF, which would race the server's reply.
    try:
        os.write(proc.stdin.fileno(), stdin)
    except BrokenPipeError:
        pass  # the tool already exited (a fast rejection): its output says why
    chunks: dict[str, list] = {"stdout": [], "stderr": []}
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
    sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
    timed_out = False
    while sel.get_map():
        left = timeout - (time.monotonic() - t0)
        if left <= 0:
            timed_out = True
            proc.kill()  # our own child, by its handle
            break
        for key, _ in sel.select(min(left, 0.5)):
            data = os.read(key.fileobj.fileno(), 65536)
            if not data:
                sel.unregister(key.fileobj)
                continue
            chunks[key.data].append([round(time.monotonic() - t0, 6), base64.b64encode(data).decode()])
            sys.stderr.buffer.write(data)
            sys.stderr.flush()
    proc.stdin.close()
    rc = proc.wait()
    return {"rc": rc, "timed_out": timed_out, **chunks}


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _on_term)
    args = json.loads(argv[1])
    record = run(args["argv"], base64.b64decode(args["stdin"]), float(args["timeout"]))
    with open(args["record"], "w") as f:
        json.dump(record, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
