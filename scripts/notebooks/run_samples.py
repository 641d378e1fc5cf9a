#!/usr/bin/env python3
"""Runs AWS's amazon-personalize-samples notebooks against a fresh Attune
and a local S3 server (versitygw, installed by scripts/install-test-tools.sh)
and prints a Markdown table for docs/compatibility.md.

  scripts/notebooks/run_samples.py --samples /path/to/amazon-personalize-samples \\
      getting_started/notebooks/1.Building_Your_First_Campaign.ipynb ...

Each argument is a notebook path inside the samples checkout; notebooks
separated by "+" form a series run in one work folder, sharing %store
variables (e.g. the four getting-started notebooks). The notebooks are
read from the checkout and never copied into this repository. Per-cell
JSON reports land in --out."""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KEY, SECRET, REGION = "AKIDATTUNESAMPLES", "attune-samples-secret-key-0123456789", "us-east-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited early")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"{what} did not listen within 60s")


def start_s3(a, tmp, k):
    """Starts versitygw with the samples' buckets; returns it and the
    environment that points boto3 (and Attune) at it."""
    s3_root = os.path.join(tmp, f"s3-{k}")
    os.makedirs(s3_root)
    s3_port = free_port()
    s3 = subprocess.Popen([a.versitygw, "--port", f"127.0.0.1:{s3_port}", "--access", KEY, "--secret", SECRET,
                           "--region", REGION, "--quiet", "posix", s3_root])
    wait_port(s3_port, s3, "versitygw")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_DEFAULT_REGION=REGION,
               AWS_REGION=REGION, AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{s3_port}", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    buckets = [a.bucket] + [b for b in a.buckets.split(",") if b]
    subprocess.run([sys.executable, "-c", f"import boto3\nfor b in {buckets!r}: boto3.client('s3').create_bucket(Bucket=b)"],
                   env=env, check=True)
    return s3, env


def run_series(a, tmp, k, series, binary, out):
    """Runs the notebooks of one series against a fresh Attune and S3
    server, as a fresh account: names, buckets and quotas do not carry
    over from a notebook whose clean-up did not run."""
    rows = []
    s3, env = start_s3(a, tmp, k)
    port = free_port()
    attune = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir",
                               os.path.join(tmp, f"data-{k}"), "--log-level", "warn"],
                              env=dict(env, ATTUNE_ROOT_ACCESS_KEY_ID=KEY, ATTUNE_ROOT_SECRET_ACCESS_KEY=SECRET),
                              stdout=open(os.path.join(tmp, f"attune-{k}.log"), "w"), stderr=subprocess.STDOUT)
    try:
        wait_port(port, attune, "attune")
        url = f"http://127.0.0.1:{port}"
        env.update(AWS_ENDPOINT_URL_PERSONALIZE=url, AWS_ENDPOINT_URL_PERSONALIZE_RUNTIME=url,
                   AWS_ENDPOINT_URL_PERSONALIZE_EVENTS=url)
        work = os.path.join(tmp, "work", str(k))
        for nb in series.split("+"):
            src = os.path.join(a.samples, nb)
            # Cells read files next to the notebook (schemas, helper modules).
            shutil.copytree(os.path.dirname(src), work, dirs_exist_ok=True)
            report = os.path.join(out, nb.replace("/", "__").replace(".ipynb", ".json"))
            subprocess.run([sys.executable, os.path.join(HERE, "run_notebook.py"), src, "--workdir", work,
                            "--report", report, "--bucket", a.bucket, "--cell-timeout", str(a.cell_timeout)],
                           env=env, cwd=work)
            with open(report) as f:
                rows.append((nb, json.load(f)))
    finally:
        attune.terminate()
        s3.terminate()
        attune.wait()
        s3.wait()
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--samples", required=True, help="a checkout of aws-samples/amazon-personalize-samples")
    p.add_argument("--out", default=None, help="folder for per-notebook JSON reports (default: a temp folder)")
    p.add_argument("--versitygw", default=os.path.expanduser("~/.cache/attune-tools/bin/versitygw"))
    p.add_argument("--bucket", default="attune-samples", help="the bucket the CloudFormation stand-in names")
    p.add_argument("--buckets", default="personalize-demo",
                   help="more buckets to create first, comma-separated: those notebooks expect to exist")
    p.add_argument("--cell-timeout", type=int, default=900)
    p.add_argument("notebooks", nargs="+")
    a = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="attune-samples-")
    out = a.out or os.path.join(tmp, "reports")
    os.makedirs(out, exist_ok=True)
    binary = os.path.join(tmp, "attune")
    subprocess.run(["go", "build", "-o", binary, "./cmd/attune"], cwd=ROOT, check=True)
    rows = []
    for k, series in enumerate(a.notebooks):
        rows += run_series(a, tmp, k, series, binary, out)
    print("\n| notebook | code cells | ok | failed because of Attune | failed otherwise | skipped |")
    print("|---|---|---|---|---|---|")
    for nb, r in rows:
        cells = r["cells"]
        att = [c for c in cells if c["status"] == "failed" and c.get("attune")]
        other = [c for c in cells if c["status"] == "failed" and not c.get("attune")]
        skipped = [c for c in cells if c["status"] == "skipped" and c.get("reason") != "empty"]
        fmt = lambda cs, key: "; ".join(f"{c['cell']}: {c.get(key, '')[:120]}" for c in cs) or "0"
        print(f"| {nb} | {len(cells)} | {r['summary']['ok']} | {len(att)} {fmt(att, 'error') if att else ''} | "
              f"{len(other)} {fmt(other, 'error') if other else ''} | {len(skipped)} {fmt(skipped, 'reason') if skipped else ''} |")
    print(f"\nreports: {out}; server logs: {tmp}/attune-*.log")


if __name__ == "__main__":
    main()
