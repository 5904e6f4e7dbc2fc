"""Install the peers into bench/.peers/ (gitignored), never into the product's environment.

    python -m bench.setup        # idempotent; a peer that fails to install is reported missing later

  bench/.peers/venv           moto[server] (in-process mock_aws and moto_server), matplotlib for the chart,
                              boto3/botocore pinned to the versions the product environment runs
  bench/.peers/node_modules   dynalite (npm), run with node
  wrk                         Debian package (apt-get), the non-boto3 load generator
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from importlib.metadata import version

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, ".peers")
VENV = os.path.join(PEERS, "venv")
PYTHON = os.path.join(VENV, "bin", "python")
MOTO_SERVER = os.path.join(VENV, "bin", "moto_server")
DYNALITE = os.path.join(PEERS, "node_modules", "dynalite", "cli.js")
MOTO_VERSION = "5.2.5"
DYNALITE_VERSION = "4.0.0"


def _run(what: str, argv: list[str]) -> bool:
    print(f"setup: {what}: {' '.join(argv)}", file=sys.stderr)
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode:
        print(f"setup: {what} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
    return done.returncode == 0


def setup() -> None:
    os.makedirs(PEERS, exist_ok=True)
    if not os.path.exists(PYTHON):
        venv.create(VENV, with_pip=True)
    pins = [f"boto3=={version('boto3')}", f"botocore=={version('botocore')}"]
    _run("moto + matplotlib", [PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               f"moto[server]=={MOTO_VERSION}", "matplotlib", *pins])
    if shutil.which("npm") and not os.path.exists(DYNALITE):
        _run("dynalite", ["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", PEERS,
                          f"dynalite@{DYNALITE_VERSION}"])
    if not shutil.which("wrk") and shutil.which("apt-get") and os.geteuid() == 0:
        _run("apt-get update", ["apt-get", "update", "-qq"])
        _run("wrk", ["apt-get", "install", "-y", "-qq", "wrk"])


if __name__ == "__main__":
    setup()
