#!/usr/bin/env python3
"""Benchmark: `msma ingest` against what a data engineer would otherwise write, on the
same NDJSON file and for the same output (checked with same_output.py).

    python3 benches/compare/run.py [--events 1000000] [--runs 3] [--msma target/release/msma]
                                   [--only NAME ...] [--kafka] [--kafka-events N] [--work DIR]
                                   [--rss-sizes N ...]

Tools: msma (all cores, and pinned to one core with taskset), reference.py (plain Python
and pyarrow), duckdb_ingest.py (DuckDB SQL, 1 and 2 threads), validating as msma does and,
as duckdb-novalidation-*, checking nothing (its --no-validation). Each run writes into a
fresh output folder (msma would otherwise skip the lines its zone already committed),
runs are interleaved tool by tool, and the table shows medians. Wall time is the whole
child process, start-up included; peak RSS and CPU time come from wait4() on that
child. msma also does work the scripts skip: it fsyncs its files and writes a commit
record (exactly-once bookkeeping) and dead letters to a file. The events (in the page
cache after the first run, for every tool alike) and the key are cached in --work.

--kafka adds the Kafka path: `msma dev-broker`, `msma push`, then one worker and two
workers in one consumer group with one thread each (one core per worker, as the targets
count), and one worker with a thread per core, draining the topic (see drain() for how it
is timed).

--rss-sizes N ... prints instead the peak RSS of msma's file ingest (all cores, and one
core) for each input size, from wait4() on the child as above: the largest of --runs runs.
"""

import argparse
import contextlib
import datetime
import glob
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STUDY = "bench"


def run_child(argv, log):
    """Runs argv to completion: (wall seconds, peak RSS MiB, CPU seconds)."""
    with open(log, "w") as out:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({child.returncode}); see {log}:\n{open(log).read()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def machine():
    model = next(
        (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
        platform.processor(),
    )
    mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")) / 2**20
    import duckdb
    import pyarrow

    return (
        f"{model}, nproc {len(os.sched_getaffinity(0))}, {mem:.0f} GiB RAM, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, pyarrow {pyarrow.__version__}, "
        f"DuckDB {duckdb.__version__}"
    )


def prepare(a, events):
    """The cached input file and master key."""
    # Identified input in a folder of its own: msma refuses a research zone inside the
    # input's folder, and the zones go in runs/ and kafka/ beside it.
    os.makedirs(os.path.join(a.work, "identified"), exist_ok=True)
    path = os.path.join(a.work, "identified", f"events-{events}-seed1.ndjson")
    if not os.path.exists(path):
        tmp = path + ".tmp"
        subprocess.run([a.msma, "generate", "--events", str(events), "--seed", "1", "--out", tmp], check=True)
        os.rename(tmp, path)
    key = os.path.join(a.work, "custodian", "master.key")
    if not os.path.exists(key):
        os.makedirs(os.path.dirname(key), mode=0o700, exist_ok=True)
        subprocess.run([a.msma, "keys", "init", "--out", key], check=True, stdout=subprocess.DEVNULL)
    return path, key


def tools(a, events, key):
    """name -> (cores the tool may use, argv for an output folder and a dead-letter file)."""
    py = sys.executable
    nproc = len(os.sched_getaffinity(0))
    msma = lambda out, dead: [a.msma, "ingest", "--input", events, "--out", out, "--keys", key,
                              "--study", STUDY, "--dead-letter", dead]
    ref = lambda out, dead: [py, f"{HERE}/reference.py", events, out, "--key-file", key,
                             "--study", STUDY, "--dead-letter", dead]
    duck = lambda n, *flags: lambda out, dead: [py, f"{HERE}/duckdb_ingest.py", events, out, "--key-file", key,
                                                "--study", STUDY, "--threads", str(n), *flags]
    all_tools = {"msma": (nproc, msma)}
    if shutil.which("taskset"):
        all_tools["msma-1core"] = (1, lambda out, dead: ["taskset", "-c", "0"] + msma(out, dead))
    all_tools["python"] = (nproc, ref)
    all_tools["duckdb-1thread"] = (1, duck(1))
    all_tools["duckdb-2threads"] = (min(2, nproc), duck(2))
    all_tools["duckdb-novalidation-1thread"] = (1, duck(1, "--no-validation"))
    all_tools["duckdb-novalidation-2threads"] = (min(2, nproc), duck(2, "--no-validation"))
    unknown = set(a.only or []) - set(all_tools)
    if unknown:
        sys.exit(f"--only: unknown {sorted(unknown)}; tools: {', '.join(all_tools)}")
    return {n: t for n, t in all_tools.items() if not a.only or n in a.only}


def file_section(a, events_path, key, n_events):
    chosen = tools(a, events_path, key)
    results = {name: [] for name in chosen}
    base = os.path.join(a.work, "runs")
    for run in range(a.runs):
        for name, (_, argv) in chosen.items():
            # A folder per run, all deleted at the end (see `scratch`).
            # Dead letters (identified data) in a folder apart from the zone, as msma requires.
            out, dead = (os.path.join(base, name, f"run{run}", f) for f in ("zone", "identified/dead.ndjson"))
            os.makedirs(os.path.dirname(dead))
            wall, rss, cpu = run_child(argv(out, dead), os.path.join(base, f"{name}.log"))
            results[name].append((wall, rss, cpu))
            print(f"  run {run + 1}/{a.runs} {name:<16} {wall:7.2f} s  {rss:6.0f} MiB", file=sys.stderr)
    # The last run's outputs, against msma's: the work compared is the same work.
    if a.check and "msma" in chosen:
        last = f"run{a.runs - 1}"
        msma_zone = os.path.join(base, "msma", last, "zone")
        for name in chosen:
            if name != "msma":
                check = subprocess.run(
                    [sys.executable, f"{HERE}/same_output.py", msma_zone, os.path.join(base, name, last, "zone")],
                    capture_output=True, text=True,
                )
                print(f"  {name}: {check.stdout.strip() or check.stderr.strip()}", file=sys.stderr)
                if check.returncode:
                    sys.exit(f"{name} did not write the same output as msma")

    med = {n: statistics.median(w for w, _, _ in r) for n, r in results.items()}
    print(f"\n### File ingest: {n_events:,} events ({os.path.getsize(events_path) / 2**20:.0f} MiB NDJSON), "
          f"median of {a.runs} run(s)\n")
    print("| tool | cores allowed | CPU used (cores) | wall (s) | events/s | speed vs Python | time vs msma | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        cpu = statistics.median(c / w for w, _, c in r)
        rss = max(m for _, m, _ in r)
        vs_py = f"{med['python'] / med[name]:.1f}x" if "python" in med else "-"
        vs_msma = f"{med[name] / med['msma']:.1f}x" if "msma" in med else "-"
        print(f"| {name} | {chosen[name][0]} | {cpu:.2f} | {med[name]:.2f} | {n_events / med[name]:,.0f} | "
              f"{vs_py} | {vs_msma} | {rss:.0f} |")


def rss_section(a):
    """Peak RSS of msma's file ingest by input size, on all cores and on one."""
    sizes = sorted(set(a.rss_sizes))
    rows = []
    for n in sizes:
        events, key = prepare(a, n)
        chosen = {name: t for name, t in tools(a, events, key).items() if name.startswith("msma")}
        peaks = {}
        for name, (_, argv) in chosen.items():
            for run in range(a.runs):
                base = os.path.join(a.work, "runs", f"rss-{n}-{name}-run{run}")
                out, dead = (os.path.join(base, f) for f in ("zone", "identified/dead.ndjson"))
                os.makedirs(os.path.dirname(dead))
                wall, rss, _ = run_child(argv(out, dead), os.path.join(a.work, "runs", f"rss-{name}.log"))
                # Memory, not speed, is measured: the zone can go at once.
                shutil.rmtree(base)
                peaks[name] = max(peaks.get(name, 0), rss)
                print(f"  rss {n:,} events, run {run + 1}/{a.runs} {name:<11} {wall:7.2f} s  {rss:6.0f} MiB",
                      file=sys.stderr)
        rows.append((n, os.path.getsize(events) / 2**20, peaks))
    names = list(rows[0][2])
    print(f"\n### Peak RSS of msma's file ingest by input size, largest of {a.runs} run(s)\n")
    print("| events | NDJSON (MiB) | " + " | ".join(f"{n}: peak RSS (MiB)" for n in names) + " |")
    print("|---:|---:|" + "---:|" * len(names))
    for n, mib, peaks in rows:
        print(f"| {n:,} | {mib:.0f} | " + " | ".join(f"{peaks[name]:.0f}" for name in names) + " |")


def log_coverage(zone):
    """Partition -> sorted (first, last) offset ranges of the zone's commit records."""
    ranges = {}
    for path in glob.glob(os.path.join(zone, "_msma", "log", "*.json")):
        try:
            record = json.load(open(path))
        except (OSError, ValueError):
            continue  # not complete yet: read again at the next poll
        for r in record.get("source", {}).get("ranges", []):
            ranges.setdefault(r["partition"], []).append((r["first_offset"], r["last_offset"]))
    return {p: sorted(r) for p, r in ranges.items()}


def covered(ranges):
    return sum(last - first + 1 for r in ranges.values() for first, last in r)


def held(port):
    """Events a worker read and did not drop on a rebalance (committed or buffered), from
    its /metrics; 0 until it serves them."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
    except OSError:
        return 0
    values = dict(l.rsplit(" ", 1) for l in text.splitlines() if l and not l.startswith("#"))
    return int(values["msma_events_read_total"]) - int(values["msma_events_dropped_total"])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_assignment(logs):
    """Wall-clock time of the first "partition assigned" line of the workers' logs."""
    times = [
        datetime.datetime.fromisoformat(line.split()[0]).timestamp()
        for log in logs
        for line in open(log)
        if "partition assigned" in line
    ]
    return min(times)


def cpu_seconds(pid):
    """CPU time a running process used so far (all threads), from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(a, bootstrap, key, workers, threads, acked, base, broker_pid):
    """One timed drain of the topic by `workers` workers (`threads` threads each) of a fresh
    group into a fresh zone.

    The clock starts when the workers are spawned (process start and consumer group join
    included) and stops when the zone's commit records cover every offset pushed. A worker
    commits when it holds --flush-rows events (default 100,000, as deployed); the last,
    partial buffer would wait for the latency trigger or, with --stop-when-idle-ms, for the
    idle delay, neither of which is work. So the harness polls each worker's /metrics
    (every 20 ms) until the workers together hold every event (read minus dropped on
    rebalances), then sends SIGTERM, on which a worker commits what it holds at once and
    leaves the group; the clock stops when the commit log is complete (polled every
    20 ms too). Returns (seconds, seconds from the first partition assignment, peak RSS
    MiB of the largest worker, CPU cores used by all workers from the first assignment, CPU
    cores used by the broker)."""
    zone = os.path.join(base, "zone")
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    group = f"bench-{workers}w-{os.getpid()}-{time.time_ns()}"
    ports = [free_port() for _ in range(workers)]
    logs = [os.path.join(base, f"worker{i}.log") for i in range(workers)]
    argv = [a.msma, "ingest", "--brokers", bootstrap, "--topic", "events", "--group", group,
            "--out", zone, "--keys", key, "--study", STUDY, "--threads", str(threads)]
    broker_cpu = cpu_seconds(broker_pid)
    t0 = time.time()
    procs = []
    try:
        for port, log in zip(ports, logs):
            with open(log, "w") as out:
                argv_w = argv + ["--metrics-listen", f"127.0.0.1:{port}"]
                procs.append(subprocess.Popen(argv_w, stdout=out, stderr=subprocess.STDOUT))
        deadline = t0 + 600
        while sum(held(p) for p in ports) < acked:
            if any(p.poll() is not None for p in procs) or time.time() > deadline:
                sys.exit(f"workers exited or timed out before reading every event; see {base}/worker*.log")
            time.sleep(0.02)
        for p in procs:
            p.send_signal(signal.SIGTERM)
        while covered(log_coverage(zone)) < acked:
            if time.time() > deadline:
                sys.exit(f"the commit log does not cover {acked} offsets; see {base}/worker*.log")
            time.sleep(0.02)
        done = time.time()
        broker_cpu = cpu_seconds(broker_pid) - broker_cpu
        usage = []
        for p in procs:
            _, status, u = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            usage.append(u)
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                p.wait()
    # Every offset once, from 0: the broker kept them all, no gap, no overlap.
    for p, r in log_coverage(zone).items():
        if r[0][0] != 0 or any(b[0] != x[1] + 1 for x, b in zip(r, r[1:])):
            sys.exit(f"partition {p}: offsets not covered once from 0: {r} (the dev broker keeps ~5 MiB "
                     "per partition: lower --kafka-events or raise --kafka-partitions)")
    assigned = first_assignment(logs)
    cpu = sum(u.ru_utime + u.ru_stime for u in usage) / (done - assigned)
    rss = max(u.ru_maxrss for u in usage) / 1024
    return done - t0, done - assigned, rss, cpu, broker_cpu / (done - assigned)


def kafka_section(a, events_path, key, n_events):
    broker = subprocess.Popen(
        [a.msma, "dev-broker", "--partitions", str(a.kafka_partitions), "--topic", "events",
         "--topic", "events.dead-letters"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        bootstrap = broker.stdout.readline().strip().removeprefix("bootstrap: ")
        started = time.perf_counter()
        pushed = subprocess.run(
            [a.msma, "push", "--brokers", bootstrap, "--topic", "events", events_path],
            capture_output=True, text=True, check=True,
        ).stdout
        push_secs = time.perf_counter() - started
        acked = int(pushed.split(", ")[1].split()[0])  # "N lines: S sent, A acknowledged, ..."
        base = os.path.join(a.work, "kafka")
        rows = []
        # One core per worker, as the targets count; then one worker on every core.
        nproc = os.cpu_count() or 1
        for workers, threads in ((1, 1), (2, 1), (1, nproc)):
            results = []
            for run in range(a.runs):
                run_base = os.path.join(base, f"{workers}w{threads}t-run{run}")
                results.append(drain(a, bootstrap, key, workers, threads, acked, run_base, broker.pid))
                print(f"  kafka run {run + 1}/{a.runs} {workers} worker(s) x {threads} thread(s) "
                      f"{results[-1][0]:7.2f} s", file=sys.stderr)
            if a.check:
                # The drained zone against a file ingest of the same events.
                file_zone = os.path.join(base, f"{workers}w{threads}t-file-zone")
                file_dead = os.path.join(base, f"{workers}w{threads}t-file-identified", "dead.ndjson")
                os.makedirs(os.path.dirname(file_dead), exist_ok=True)
                subprocess.run([a.msma, "-q", "ingest", "--input", events_path, "--out", file_zone, "--keys", key,
                                "--study", STUDY, "--dead-letter", file_dead],
                               check=True, stdout=subprocess.DEVNULL)
                check = subprocess.run([sys.executable, f"{HERE}/same_output.py", file_zone,
                                        os.path.join(run_base, "zone")], capture_output=True, text=True)
                print(f"  {workers} worker(s) vs file ingest: {check.stdout.strip()}", file=sys.stderr)
                if check.returncode:
                    sys.exit("the Kafka zone differs from a file ingest of the same events")
            rows.append((workers, threads, results))
    finally:
        broker.terminate()
        broker.wait()

    print(f"\n### Kafka: {acked:,} events on {a.kafka_partitions} partitions of `msma dev-broker`, "
          f"median of {a.runs} run(s)\n")
    print(f"`msma push`: {push_secs:.2f} s ({acked / push_secs:,.0f} events/s, producer and in-memory broker "
          "on the same machine). Drain: from the workers' start to the commit log covering every offset "
          "(consumer group join included); the next column starts at the first partition assignment.\n")
    print("| workers | threads per worker | drain (s) | events/s | events/s from first assignment "
          "| CPU used from first assignment (cores, all workers) | CPU used by the broker (cores) "
          "| peak RSS per worker (MiB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for workers, threads, r in rows:
        secs = statistics.median(x[0] for x in r)
        assigned = statistics.median(x[1] for x in r)
        print(f"| {workers} | {threads} | {secs:.2f} | {acked / secs:,.0f} | {acked / assigned:,.0f} | "
              f"{statistics.median(x[3] for x in r):.2f} | {statistics.median(x[4] for x in r):.2f} | "
              f"{max(x[2] for x in r):.0f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--msma", default=os.path.join(ROOT, "target", "release", "msma"))
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these tools (msma, msma-1core, python, "
                    "duckdb-1thread, duckdb-2threads, duckdb-novalidation-1thread, "
                    "duckdb-novalidation-2threads)")
    ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "msma-bench"),
                    help="cache of events and key, and scratch space")
    ap.add_argument("--no-check", dest="check", action="store_false",
                    help="skip the same_output.py check of the last run's outputs")
    ap.add_argument("--kafka", action="store_true", help="also time the Kafka path")
    ap.add_argument("--kafka-only", action="store_true", help="only the Kafka path")
    ap.add_argument("--kafka-events", type=int, default=1_000_000, help="events pushed")
    ap.add_argument("--rss-sizes", type=int, nargs="+", metavar="N",
                    help="only the peak RSS of msma's file ingest for these input sizes (events)")
    ap.add_argument("--kafka-partitions", type=int, default=64,
                    help="partitions of the topic (the dev broker keeps only ~5 MiB per partition: "
                         "64 hold 1,000,000 events)")
    a = ap.parse_args()
    a.msma = os.path.abspath(a.msma)
    if not os.access(a.msma, os.X_OK):
        sys.exit(f"{a.msma}: not found; build it with `cargo build --release`")

    print(f"Machine: {machine()}")
    with scratch(a):
        if a.rss_sizes:
            rss_section(a)
            return
        if not a.kafka_only:
            events, key = prepare(a, a.events)
            file_section(a, events, key, a.events)
        if a.kafka or a.kafka_only:
            n = min(a.events, a.kafka_events)
            events, key = prepare(a, n)
            kafka_section(a, events, key, n)


@contextlib.contextmanager
def scratch(a):
    """The runs' outputs, deleted only once every run is over: on ext4 without a journal,
    creating files soon after deleting thousands makes the kernel search for inodes that
    were not deleted in the last seconds (`recently_deleted`): a Kafka drain took 5.1 s
    instead of 3.9 s when each run deleted the previous one's zone."""
    dirs = [os.path.join(a.work, d) for d in ("runs", "kafka")]
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)
    try:
        yield
    finally:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
