"""What dynamokit adds to a Lambda deployment package: `pip install --target DIR` of the tree (its
dependencies included), less what the Lambda Python runtime already provides, in MB (10**6 bytes), with the
largest distributions.

The headline is the size with bytecode (`.pyc`), because that is what pip writes by default (`pip install
--target` compiles); the size without it (`--no-compile`, or .pyc stripped) is printed beside it.

    python bench/lambda_size.py                    # this tree, core dependencies
    python bench/lambda_size.py --extras cli       # with an extra (here: what `dynamokit` the command adds)
    python bench/lambda_size.py --ref main         # a commit of this repository (git archive), to compare
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The Lambda Python runtimes bundle boto3 and its dependencies.
LAMBDA_PROVIDES = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
LIMIT_MB = 15


def source(ref: str | None, into: str) -> str:
    """A copy of the tree (or of commit `ref`) to build from, so the build writes nothing into the repository."""
    tree = os.path.join(into, "src-tree")
    if ref:
        os.makedirs(tree)
        archive = subprocess.run(["git", "-C", REPO, "archive", ref], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
    else:
        shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "build", "dist", "*.egg-info", "bench", "tests", "docs"))
    return tree


def normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def sizes(target: str) -> dict[str, tuple[int, int]]:
    """Bytes per installed distribution, (all files, .pyc files): each file goes to the distribution whose
    RECORD or dist-info holds it; files no RECORD names (pip's bytecode may be among them) to the
    distribution that owns their folder's top level, or else to "(unrecorded)"."""
    owner: dict[str, str] = {}
    tops: dict[str, str] = {}
    for entry in os.listdir(target):
        if entry.endswith(".dist-info"):
            dist = normalize(entry[: -len(".dist-info")].rsplit("-", 1)[0])
            tops[entry] = dist
            with open(os.path.join(target, entry, "RECORD"), newline="") as record:
                for row in csv.reader(record):
                    if row and not row[0].startswith(".."):
                        path = os.path.normpath(row[0])
                        owner[path] = dist
                        tops.setdefault(path.split(os.sep)[0], dist)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for dirpath, _, files in os.walk(target):
        for name in files:
            path = os.path.relpath(os.path.join(dirpath, name), target)
            dist = owner.get(path) or tops.get(path.split(os.sep)[0], "(unrecorded)")
            size = os.path.getsize(os.path.join(dirpath, name))
            totals[dist][0] += size
            totals[dist][1] += size if name.endswith(".pyc") else 0
    return {dist: (every, pyc) for dist, (every, pyc) in totals.items()}


def mb(count: int) -> str:
    return f"{count / 1e6:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="measure this commit (git archive) instead of the working tree")
    parser.add_argument("--extras", default="", help="extras to install too, e.g. cli")
    parser.add_argument("--top", type=int, default=10, help="how many distributions to list")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        tree = source(args.ref, work)
        target = os.path.join(work, "target")
        spec = tree + (f"[{args.extras}]" if args.extras else "")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", target, spec],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            sys.exit(done.stdout + done.stderr)
        per_dist = sizes(target)
    counted = {dist: size for dist, size in per_dist.items() if dist not in LAMBDA_PROVIDES}
    every = sum(size[0] for size in counted.values())
    pyc = sum(size[1] for size in counted.values())
    what = f"{args.ref or 'working tree'}{f' [{args.extras}]' if args.extras else ''}"
    print(f"dynamokit {what}: {mb(every)} MB with .pyc (headline: pip's default), {mb(every - pyc)} MB "
          f"without; limit {LIMIT_MB} MB: {'OK' if every <= LIMIT_MB * 1e6 else 'OVER'}")
    print(f"not counted (the Lambda runtime provides them): {', '.join(sorted(LAMBDA_PROVIDES & set(per_dist)))}")
    print(f"{'distribution':<24}{'MB':>7}{'MB no .pyc':>12}")
    for dist, (size, compiled) in sorted(counted.items(), key=lambda item: -item[1][0])[: args.top]:
        print(f"{dist:<24}{mb(size):>7}{mb(size - compiled):>12}")


if __name__ == "__main__":
    main()
