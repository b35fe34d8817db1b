"""The impairment relay on real veths between bare namespaces (tlt-<random>-a/-b/-r).

Every test checks that the configured impairment is what traffic measures,
and the `beds` fixture checks that namespaces and processes are gone afterwards.
"""
import contextlib
import json
import os
import secrets
import subprocess
import sys
import time

import pytest
from scapy.layers.inet import TCP
from scapy.utils import rdpcap

from lab.impair import measure
from lab.impair.params import Impairment
from lab.impair.testbed import relay_testbed

pytestmark = pytest.mark.integration
MS = 1_000_000


class Beds:
    """Opens testbeds whose namespaces share one per-test prefix, and remembers
    every process they started, so leak checks ignore whatever else runs."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.prefix = f"tlt-{secrets.token_hex(2)}"
        self.opened = []

    @contextlib.contextmanager
    def __call__(self, **kwargs):
        workdir = self.tmp_path / f"bed{len(self.opened)}"
        workdir.mkdir()
        with relay_testbed(str(workdir), tag=f"{self.prefix}{len(self.opened)}",
                           **kwargs) as bed:
            self.opened.append(bed)
            yield bed


@pytest.fixture
def beds(tmp_path):
    """Fail if a test leaves its testbed namespaces or processes behind."""
    opened = Beds(tmp_path)
    yield opened
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    left = [line.split()[0] for line in netns.splitlines() if line.startswith(opened.prefix)]
    for bed in opened.opened:
        for pid in bed.pids():
            if os.path.exists(f"/proc/{pid}") and _not_zombie(pid):
                left.append(f"pid {pid}")
    assert not left, f"left behind: {left}"


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def both(**kwargs):
    return Impairment(**kwargs), Impairment(**kwargs)


def read_lines(bed, name):
    with open(os.path.join(bed.workdir, name)) as fh:
        return [json.loads(line) for line in fh]


@pytest.mark.parametrize("delay_ms", [10, 50, 200])
def test_delay_gives_twice_the_delay_as_rtt(delay_ms, beds):
    imp = both(delay_ns=delay_ms * MS)
    with beds(impair=imp) as bed:
        rtt = measure.ping_rtt(bed.a, bed.b_ip, count=100, interval=0.01)
    check, = measure.compare(*imp, rtt=rtt)
    assert check.passed, str(check)
    assert rtt.received == 100
    assert bed.stats["a->b"]["in"] == bed.stats["a->b"]["out"] == 100


def test_delay_error_is_small_with_kernel_timestamps(beds):
    with beds(impair=both(delay_ns=10 * MS)) as bed:
        rtt = measure.measure_rtt(bed.a, bed.b, bed.b_ip, count=500, interval=0.002, wait=0.3)
    # The prober's clock reads can differ by microseconds from the kernel's.
    assert rtt.min_ms >= 19.95 and rtt.median_ms - 20 <= 0.5, rtt


@pytest.mark.parametrize("imp", [
    both(loss=5.0),
    (Impairment(loss=20.0), Impairment()),
], ids=["5%-both-ways", "20%-one-way"])
def test_loss_lies_in_the_binomial_interval(imp, beds):
    with beds(impair=imp, seed=3) as bed:
        run = measure.probe(bed.a, bed.b, bed.b_ip, count=2000, interval=0.002, wait=0.3)
    loss = measure.loss_stats(run)
    check, = measure.compare(*imp, loss=loss)
    assert check.passed, str(check)
    relay_losses = bed.stats["a->b"]["events"]["loss"] + bed.stats["b->a"]["events"]["loss"]
    assert relay_losses == loss.lost  # every lost probe is one the relay dropped on purpose


def test_zero_loss_drops_nothing(beds):
    with beds(impair=both(delay_ns=1 * MS)) as bed:
        run = measure.probe(bed.a, bed.b, bed.b_ip, count=2000, interval=0.002, wait=0.3)
    assert run.lost == ()
    for direction in ("a->b", "b->a"):
        stats = bed.stats[direction]
        assert stats["dropped"] == stats["kernel_drops"] == 0 and stats["in"] == stats["out"]


def _drop_pattern(beds, seed):
    with beds(impair=both(loss=20.0), seed=seed, event_log=True) as bed:
        run = measure.probe(bed.a, bed.b, bed.b_ip, count=300, interval=0.002, wait=0.3)
    # Per direction the log is in frame order; how the two interleave is timing.
    events = sorted((e["direction"], e["n"], e["event"]) for e in read_lines(bed, "events.jsonl"))
    return run.lost, events


def test_same_seed_same_drops_different_seed_different(beds):
    first = _drop_pattern(beds, seed=11)
    again = _drop_pattern(beds, seed=11)
    other = _drop_pattern(beds, seed=12)
    assert first == again
    assert first[0] != other[0]
    assert len(first[0]) > 30


def _tcp_connect(bed, port=8443):
    server = bed.b.popen([sys.executable, "-c",
                          "import socket, sys; s = socket.create_server((sys.argv[1], "
                          "int(sys.argv[2]))); c, _ = s.accept(); c.close()", bed.b_ip, str(port)])
    time.sleep(0.3)
    client = bed.a.run([sys.executable, "-c",
                        "import socket, sys; socket.create_connection((sys.argv[1], "
                        "int(sys.argv[2])), timeout=5).close()", bed.b_ip, str(port)], timeout=10)
    server.wait(5)
    return client


def test_scripted_drop_of_first_syn_forces_a_retransmit(tmp_path, beds):
    faults = [{"drop": {"match": {"tcp": "syn"}, "count": 1, "direction": "client->server"}}]
    pcap = str(tmp_path / "client.pcap")
    with beds(faults=faults, names=("client", "server")) as bed:
        dump = bed.a.popen(["tcpdump", "-i", "va", "-U", "--immediate-mode", "-n", "-w", pcap, "tcp"],
                           stderr=subprocess.PIPE)
        dump.stderr.readline()  # "listening on va ..." once capturing
        assert _tcp_connect(bed).returncode == 0
        time.sleep(0.2)
        dump.terminate()
        dump.wait(5)
        dump.stderr.close()
    syns = [p for p in rdpcap(pcap) if TCP in p and p[TCP].flags == "S"]
    assert len(syns) == 2 and syns[0][TCP].seq == syns[1][TCP].seq
    assert 0.9 <= float(syns[1].time - syns[0].time) <= 1.5  # Linux's initial RTO: 1 s
    log = read_lines(bed, "faults.jsonl")
    assert [(line["fault"], line["direction"], line["packet"]["flags"]) for line in log] == \
        [("drop", "client->server", "S")]
    assert log[0]["packet"]["dst"] == f"{bed.b_ip}:8443"
    assert bed.stats["client->server"]["faults"] == {"drop": 1}


TLS_PEER = """
import socket, ssl, sys, time
role, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if role == "server":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    with socket.create_server((ip, port)) as srv:
        conn, _ = srv.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)
else:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    with socket.create_connection((ip, port), timeout=5) as raw:
        start = time.monotonic()
        with ctx.wrap_socket(raw) as tls:
            print(time.monotonic() - start)
            tls.send(b"x")
"""


def _certificate(tmp_path):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(hours=1)).sign(key, hashes.SHA256()))
    (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "k.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return str(tmp_path / "c.pem"), str(tmp_path / "k.pem")


def test_faults_match_tls_handshake_messages_on_live_traffic(tmp_path, beds):
    # Each hello is held back 100 ms once: less than TCP's 200 ms minimum RTO,
    # so no retransmission hides the delay. (hold runs on the relay's timer path.)
    faults = [{"hold": {"for": "100ms", "count": 1, "match": {"handshake": "client_hello"}}},
              {"delay": {"by": "100ms", "count": 1, "match": {"handshake": "server_hello"}}}]
    cert, key = _certificate(tmp_path)
    script = tmp_path / "peer.py"
    script.write_text(TLS_PEER)
    with beds(faults=faults) as bed:
        server = bed.b.popen([sys.executable, str(script), "server", bed.b_ip, "8443", cert, key])
        time.sleep(0.5)
        client = bed.a.run([sys.executable, str(script), "client", bed.b_ip, "8443"], timeout=10)
        server.wait(5)
    assert client.returncode == 0, client.stderr
    assert 0.2 <= float(client.stdout) < 0.4
    log = read_lines(bed, "faults.jsonl")
    assert [(line["fault"], line["direction"], line["packet"]["handshake"][0])
            for line in log] == [("hold", "a->b", "client_hello"),
                                 ("delay", "b->a", "server_hello")]


def test_link_down_window_drops_everything_in_it(beds):
    with beds(faults=[{"down": "1s..2s"}]) as bed:
        run = measure.probe(bed.a, bed.b, bed.b_ip, count=100, interval=0.02, wait=0.3)
    # Probing starts ~0.5 s after the relay and lasts 2 s, so the 1 s window
    # holds ~50 consecutive probes; none outside it is lost.
    lost = run.lost
    assert 45 <= len(lost) <= 51
    assert lost == tuple(range(lost[0], lost[0] + len(lost)))


def test_rate_limit_gives_configured_throughput(beds):
    imp = (Impairment(rate=10_000_000), Impairment())
    with beds(impair=imp) as bed:
        result = measure.measure_throughput(bed.a, bed.b, bed.b_ip, seconds=4)
    check, = measure.compare(*imp, throughput=result)
    assert check.passed, str(check)


def test_relay_start_failure_is_reported(tmp_path, beds):
    from lab.errors import LabFailure
    from lab.impair.config import RelayConfig
    from lab.impair.control import start_relay
    from lab.impair.testbed import NetnsRunner

    with beds(relay=False) as bed:
        runner = NetnsRunner(bed.a.netns, "a")
        with pytest.raises(LabFailure, match="no-such-if"):
            start_relay(runner, RelayConfig("no-such-if", "va"), str(tmp_path / "r"))
        runner.close()
