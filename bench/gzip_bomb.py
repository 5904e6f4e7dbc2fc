"""Peak memory and answer time of `dynamokit serve` under a gzip bomb (199 KB inflating to 200 MB).

    python bench/gzip_bomb.py
"""
import gzip
import http.client
import re
import subprocess
import sys
import time

port = 8791  # a fixed loopback port
proc = subprocess.Popen([sys.executable, "-m", "dynamokit._cli", "serve", "--port", str(port), "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def hwm():
    return int(re.search(r"VmHWM:\s+(\d+)", open(f"/proc/{proc.pid}/status").read()).group(1)) // 1024
try:
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/"); c.getresponse().read(); break
        except OSError: time.sleep(0.1)
    before = hwm()
    bomb = gzip.compress(b"{" + b" " * (200 * 1024 * 1024) + b"}", compresslevel=9)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t = time.perf_counter()
    c.request("POST", "/", body=bomb, headers={"Content-Encoding": "gzip", "X-Amz-Target": "DynamoDB_20120810.ListTables"})
    r = c.getresponse(); body = r.read()
    took = time.perf_counter() - t
    print(f"compressed {len(bomb)//1024} KB; status {r.status}; answered in {took:.3f}s; peak RSS before {before} MB after {hwm()} MB")
finally:
    proc.terminate(); proc.wait()
