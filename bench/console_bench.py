"""The console's items page with 1,000 items: time to produce it on the server, and to load and render it in
headless Chromium.

    python bench/console_bench.py [--items 1000] [--repeat 15]

A table of `--items` items (8 attributes, ~250 bytes each) behind an in-process `dynamokit serve`; the page is
`/console/tables/bench/items?mode=scan&limit=N` (one Scan of every item, all rendered). Printed, as median and
worst of `--repeat` runs: the Scan alone (engine.call), the whole page over HTTP (request to last byte), and
in Chromium (over the DevTools pipe, tests/console/cdp.py) the navigation's responseEnd, DOMContentLoaded, load
and the first frame painted after load (two requestAnimationFrame callbacks), all from navigation start; and
the CPU time each side used (this process for the server; Chromium's process tree, from /proc, for the
browser), which a busy machine inflates less than the wall times. Target: the page renders in under a second.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import time

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(_REPO, "src"), _REPO]

from dynamokit import Engine
from dynamokit.server._http import Server
from tests.console.cdp import BINARY, Chromium

NAVIGATION = """new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => {
    const n = performance.getEntriesByType("navigation")[0];
    done([n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd, performance.now(),
          document.querySelectorAll("#items tbody tr").length]);
})))"""


def fill(engine: Engine, count: int) -> None:
    engine.call("CreateTable", {"TableName": "bench", "BillingMode": "PAY_PER_REQUEST",
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                                              {"AttributeName": "sk", "KeyType": "RANGE"}],
                                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                                         {"AttributeName": "sk", "AttributeType": "S"}]})
    for i in range(count):
        engine.call("PutItem", {"TableName": "bench", "Item": {
            "pk": {"S": f"CUSTOMER#{i % 50:03}"}, "sk": {"S": f"ORDER#{i:06}"}, "status": {"S": "SHIPPED"},
            "total": {"N": f"{i * 1.37:.2f}"}, "email": {"S": f"customer{i % 50}@example.com"},
            "note": {"S": "Leave at the door, ring twice <please>"}, "gift": {"BOOL": i % 3 == 0},
            "tags": {"L": [{"S": "priority"}, {"S": f"batch-{i % 7}"}]}}})


def page(port: int, path: str) -> tuple[float, int]:
    """Seconds from sending the request to the last byte, and the page's size."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    start = time.perf_counter()
    connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - start
    connection.close()
    assert response.status == 200, response.status
    return elapsed, len(body)


def tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by process `root` and its descendants, the exited ones its
    processes waited for included (Linux /proc)."""
    parents, used = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            used[int(entry)] = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    tree, grew = {root}, True
    while grew:
        grown = tree | {pid for pid, parent in parents.items() if parent in tree}
        grew, tree = grown != tree, grown
    return sum(used.get(pid, 0.0) for pid in tree)


def summary(label: str, seconds: list[float]) -> str:
    return f"{label:<44} median {statistics.median(seconds) * 1000:7.1f} ms   worst {max(seconds) * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    path = f"/console/tables/bench/items?mode=scan&limit={args.items}"
    with Engine() as engine, Server(engine) as server:
        fill(engine, args.items)
        scans, pages, cpu = [], [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            answer = engine.call("Scan", {"TableName": "bench", "Limit": args.items})
            scans.append(time.perf_counter() - start)
            assert answer["Count"] == args.items
            used = time.process_time()
            elapsed, size = page(server.port, path)
            cpu.append(time.process_time() - used)
            pages.append(elapsed)
        print(f"items page with {args.items} items: {size / 1024:.0f} KB of HTML; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(summary("server: the Scan alone", scans))
        print(summary("server: the whole page over HTTP", pages))
        print(summary("server: CPU time of the whole page", cpu))
        if BINARY is None:
            print("chromium not installed: no browser times")
            return
        browser = Chromium(width=1280, height=900)
        try:
            url = f"http://127.0.0.1:{server.port}{path}"
            timings = []
            for n in range(args.repeat):  # a new URL each time (`run` is ignored), the same renderer process
                used = tree_cpu(browser.process.pid)
                browser.open(f"{url}&run={n}")
                *marks, rows = browser.evaluate(NAVIGATION)
                assert rows == args.items, rows
                timings.append([mark / 1000 for mark in marks] + [tree_cpu(browser.process.pid) - used])
        finally:
            browser.close()
        for n, label in enumerate(("browser: response received (responseEnd)", "browser: DOMContentLoaded",
                                   "browser: load", "browser: first frame painted after load",
                                   "browser: CPU time of all its processes")):
            print(summary(label, [t[n] for t in timings]))


if __name__ == "__main__":
    main()
