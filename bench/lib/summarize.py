"""Turns the per-run records that bench/run.sh collects (one JSON object per line) into the
markdown table of medians and ratios that RESULTS.md quotes.

A record: {"scenario", "server", "role": "subject"|"peer", "path", "load", "rep",
"requests", "duration_us", "p50_us", "p99_us", "err_connect", "err_read", "err_write",
"err_status", "err_timeout", "cpu_us"}. The ratio of a subject is its median requests/s over
the median of the peer measured in the same scenario, path and load, in the same (interleaved)
run. `cpu_us` is the server's CPU time during the run (all its processes and threads); its
median per request is the per-core cost, compared the other way round (the peer's over ours,
so above 1 is better as with requests/s). Records without it (older runs) show no CPU figures.
"""
import json
import statistics
import sys
from collections import OrderedDict


def requests_per_second(record):
    seconds = record["duration_us"] / 1e6
    return record["requests"] / seconds if seconds > 0 else 0.0


def cpu_per_request(record):
    """Microseconds of server CPU per answered request, or None when not measured."""
    if "cpu_us" not in record or record["requests"] <= 0:
        return None
    return record["cpu_us"] / record["requests"]


def median_cpu(runs):
    values = [v for v in (cpu_per_request(r) for r in runs) if v is not None]
    return statistics.median(values) if values else None


def errors(record):
    """Socket errors and non-2xx/3xx answers; read errors are not counted because a server
    that closes after each response (gunicorn's sync worker) makes wrk report one per request.
    The slow clients of scenario s add theirs (`err_slow`)."""
    return (
        record["err_connect"]
        + record["err_write"]
        + record["err_timeout"]
        + record["err_status"]
        + record.get("err_slow", 0)
    )


def group(records):
    """Records grouped by (scenario, path, load, server), in first-seen order."""
    groups = OrderedDict()
    for r in records:
        groups.setdefault((r["scenario"], r["path"], r["load"], r["server"]), []).append(r)
    return groups


def summarize(records):
    """One row per group: medians of requests/s, p50 and p99, and the ratio to the peer."""
    groups = group(records)
    peers = {}
    peer_cpu = {}
    for (scenario, path, load, _server), runs in groups.items():
        if runs[0]["role"] == "peer":
            # Several peers in one scenario (axum's two runtimes): the ratio is to the better.
            rps = statistics.median(requests_per_second(r) for r in runs)
            key = (scenario, path, load)
            peers[key] = max(peers.get(key, 0.0), rps)
            cpu = median_cpu(runs)
            if cpu is not None and cpu > 0:
                peer_cpu[key] = min(peer_cpu.get(key, cpu), cpu)
    rows = []
    for (scenario, path, load, server), runs in groups.items():
        rps = statistics.median(requests_per_second(r) for r in runs)
        peer = peers.get((scenario, path, load))
        is_peer = runs[0]["role"] == "peer"
        if is_peer and (not peer or rps >= peer):
            ratio = "1 (peer)"
        elif is_peer:
            ratio = f"{rps / peer:.2f}x (peer)"
        elif peer:
            ratio = f"{rps / peer:.2f}x"
        else:
            ratio = "n/a"
        cpu = median_cpu(runs)
        best_cpu = peer_cpu.get((scenario, path, load))
        if cpu is None or best_cpu is None or cpu <= 0:
            cpu_ratio = "n/a"
        elif is_peer and cpu <= best_cpu:
            cpu_ratio = "1 (peer)"
        elif is_peer:
            cpu_ratio = f"{best_cpu / cpu:.2f}x (peer)"
        else:
            cpu_ratio = f"{best_cpu / cpu:.2f}x"
        rows.append(
            {
                "scenario": scenario,
                "server": server,
                "path": path,
                "load": load,
                "runs": len(runs),
                "rps": rps,
                "rps_min": min(requests_per_second(r) for r in runs),
                "rps_max": max(requests_per_second(r) for r in runs),
                "ratio": ratio,
                "p50_ms": statistics.median(r["p50_us"] for r in runs) / 1000,
                "p99_ms": statistics.median(r["p99_us"] for r in runs) / 1000,
                "errors": sum(errors(r) for r in runs),
                "cpu_us": cpu,
                "cpu_ratio": cpu_ratio,
            }
        )
    return rows


def markdown(rows):
    lines = [
        "| scenario | server | path | load | runs | req/s (median) | min-max | vs peer "
        "| CPU us/req | vs peer (CPU) | p50 ms | p99 ms | errors |",
        "|---|---|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cpu = "n/a" if r["cpu_us"] is None else f"{r['cpu_us']:.2f}"
        # wrk's script API reports 0 for the upper percentiles of pipelined loads: a p99 below
        # the p50 is not a measurement.
        p99 = "n/a" if r["p99_ms"] < r["p50_ms"] else f"{r['p99_ms']:.3f}"
        lines.append(
            f"| {r['scenario']} | {r['server']} | `{r['path']}` | {r['load']} | {r['runs']} "
            f"| {r['rps']:,.0f} | {r['rps_min']:,.0f}-{r['rps_max']:,.0f} | {r['ratio']} "
            f"| {cpu} | {r['cpu_ratio']} "
            f"| {r['p50_ms']:.3f} | {p99} | {r['errors']} |"
        )
    return "\n".join(lines)


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main(argv):
    if len(argv) != 2:
        print("usage: summarize.py RECORDS.jsonl", file=sys.stderr)
        return 2
    records = load(argv[1])
    if not records:
        print("summarize.py: no records", file=sys.stderr)
        return 1
    print(markdown(summarize(records)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
