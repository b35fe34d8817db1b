"""`tlslab links --verify`: measure every impaired link of a fresh lab and
compare configured against measured.

Delay and loss are measured round trip (UDP probes with kernel timestamps,
lab.impair.probe) between hosts on the two sides of the link; throughput is
measured per direction with iperf3 where a rate is set.
"""
from __future__ import annotations

from dataclasses import asdict

from lab.config.checks import segments_of
from lab.kinds import get_kind


def probe_hosts(topology, link) -> tuple[str, str, str] | None:
    """(source host, destination host, destination address) whose path
    crosses `link`: its own ends where they are hosts, else a host on the
    switch's segment."""
    segments = segments_of(topology)

    def host_at(end, other):
        node = topology.node(end.node)
        if not get_kind(node.kind).is_switch:
            intf = node.interface(end.interface)
            return node.name, str(intf.address.ip) if intf and intf.address else None
        for seg in segments:
            for member, name in seg.members:
                if member.name != other and any(
                        l.a.node == end.node and l.b.node == member.name or
                        l.b.node == end.node and l.a.node == member.name for l in topology.links):
                    intf = member.interface(name)
                    if intf and intf.address:
                        return member.name, str(intf.address.ip)
        return None, None

    src, _ = host_at(link.a, link.b.node)
    dst, dst_ip = host_at(link.b, link.a.node)
    if not src or not dst or not dst_ip:
        return None
    return src, dst, dst_ip


def verify_links(lab, probes: int = 2000) -> list[dict]:
    from lab.impair.measure import compare, loss_stats, measure_throughput, probe, rtt_stats

    results = []
    for plan in lab.plans:
        if not plan.engine:
            continue
        link = plan.link
        a2b, b2a = link.impairments
        entry = {"link": plan.label, "engine": plan.engine,
                 "configured": {f"{link.a.node}->{link.b.node}": a2b.to_json(),
                                f"{link.b.node}->{link.a.node}": b2a.to_json()}}
        hosts = probe_hosts(lab.topology, link)
        if hosts is None:
            entry["error"] = "no pair of hosts on the two sides of this link to probe between"
            results.append(entry)
            continue
        src, dst, dst_ip = hosts
        run = probe(lab.host(src), lab.host(dst), dst_ip, count=probes)
        rtt = rtt_stats([r / 1e6 for r in run.rtt_ns if r is not None], len(run.rtt_ns))
        loss = loss_stats(run)
        throughput = {}
        if a2b.rate:
            throughput["a->b"] = measure_throughput(lab.host(src), lab.host(dst), dst_ip)
        if b2a.rate:
            throughput["b->a"] = measure_throughput(lab.host(src), lab.host(dst), dst_ip,
                                                    reverse=True)
        checks = list(compare(a2b, b2a, rtt=rtt, loss=loss, throughput=throughput.get("a->b")))
        if "b->a" in throughput:
            checks += [c for c in compare(b2a, a2b, throughput=throughput["b->a"])]
        entry.update({
            "probed": {"from": src, "to": dst, "address": dst_ip, "probes": probes},
            "measured": {"rtt_ms": asdict(rtt), "round_trip_loss": {**asdict(loss), "rate": loss.rate},
                         "throughput_bps": {k: asdict(v) for k, v in throughput.items()}},
            "checks": [{"name": c.name, "configured": c.configured, "measured": c.measured,
                        "accepted": [c.low, c.high], "passed": c.passed} for c in checks],
        })
        results.append(entry)
    return results


def render(results: list[dict]) -> str:
    if not results:
        return "no impaired links in this topology"
    lines = []
    for r in results:
        lines.append(f"link {r['link']} (engine {r['engine']})")
        for direction, imp in r["configured"].items():
            shown = {k: v for k, v in imp.items() if v and k != "queue"}
            lines.append(f"  configured {direction}: {shown or 'nothing'}")
        if "error" in r:
            lines.append(f"  {r['error']}")
            continue
        p = r["probed"]
        m = r["measured"]
        loss = m["round_trip_loss"]
        lines.append(f"  measured {p['from']} -> {p['to']} ({p['probes']} probes): RTT median "
                     f"{m['rtt_ms']['median_ms']:.3f} ms, p99 {m['rtt_ms']['p99_ms']:.3f} ms; "
                     f"round-trip loss {loss['rate'] * 100:.2f}% (99% interval "
                     f"{loss['low'] * 100:.2f}..{loss['high'] * 100:.2f}%)")
        for c in r["checks"]:
            lines.append(f"  {'PASS' if c['passed'] else 'FAIL'} {c['name']}: configured "
                         f"{c['configured']:.6g}, measured {c['measured']:.6g} "
                         f"(accepted {c['accepted'][0]:.6g}..{c['accepted'][1]:.6g})")
    return "\n".join(lines)
