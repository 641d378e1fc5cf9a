#!/usr/bin/env python3
"""Runs the code cells of a Jupyter notebook in order, in one Python
namespace, against a running Attune, and reports each cell as ok, failed
(with the error) or skipped (with the reason). No Jupyter is needed: the
.ipynb JSON is read directly.

The environment must point boto3 at Attune and at an S3 server
(AWS_ENDPOINT_URL_PERSONALIZE, _PERSONALIZE_RUNTIME, _PERSONALIZE_EVENTS,
AWS_ENDPOINT_URL_S3, credentials, AWS_DEFAULT_REGION); run_samples.py does
that. What the runner changes in a notebook, and nothing else:

- shell escapes (!cmd) and line magics (%matplotlib, %pip) are not run;
  a download of a known data set gets a local stand-in (standins.py);
- cell magics: %%time / %%capture run their body, %%writefile writes its
  file, %%bash / %%sh cells are skipped;
- IAM, STS, KMS, SSM and sagemaker answer with syntactic ARNs (standins.py);
  a cell calling another AWS service (Lambda, Step Functions, Bedrock,
  CloudFormation, ...) is skipped, naming it;
- time.sleep sleeps at most --max-sleep seconds, so that polling loops
  written for the real service's minutes finish in seconds.

Usage: run_notebook.py NOTEBOOK --workdir DIR [--report out.json]"""

import argparse
import contextlib
import io
import json
import os
import re
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import standins  # noqa: E402

# Debian's python3-pandas serves the notebooks' pandas when the running
# python has none (same 3.11 ABI); appended, so pip's boto3 stays first.
if os.path.isdir("/usr/lib/python3/dist-packages"):
    sys.path.append("/usr/lib/python3/dist-packages")

DOWNLOAD = re.compile(r"\b(wget|curl|unzip|tar|aws\s+s3\s+(cp|sync))\b")


class CellTimeout(Exception):
    pass


def transform(src, workdir):
    """Returns (code to run, skip reason or None, notes) for one cell."""
    lines = src.split("\n")
    notes = []
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split()
        name = magic[0] if magic else ""
        if name in ("bash", "sh", "script", "system"):
            return "", f"shell cell (%%{name})", notes
        if name == "writefile":
            path = os.path.join(workdir, magic[-1])
            return f"open({path!r}, 'w').write({chr(10).join(lines[1:])!r})", None, notes
        lines = lines[1:]  # %%time, %%capture, %%timeit: run the body once
    out = []
    for line in lines:
        s = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if s.startswith("%store"):
            # %store passes variables between the notebooks of a series.
            args = s.split()[1:]
            if args and args[0] == "-r":
                out.append(indent + f"_store_restore({args[1:]!r})")
            elif args and not args[0].startswith("-"):
                out.append(indent + f"_store_save({args!r})")
            else:
                out.append(indent + "pass")
            continue
        if s.startswith("!") or s.startswith("%"):
            got = standins.provide(s, workdir) if DOWNLOAD.search(s) else None
            if got:
                notes.append(f"download replaced by a local stand-in ({got})")
            elif s.startswith("!"):
                notes.append(f"shell line not run: {s[:60]}")
            out.append(indent + "pass")
            continue
        out.append(line)
    return "\n".join(out), None, notes


def display(*objs, **_):
    """IPython's display, as text."""
    for o in objs:
        print(o)


def store_funcs(ns, store_dir):
    """%store and %store -r over pickles in store_dir, shared by the
    notebooks of a series run with the same --store-dir."""
    import pickle

    os.makedirs(store_dir, exist_ok=True)

    def save(names):
        for name in names:
            with open(os.path.join(store_dir, name), "wb") as f:
                pickle.dump(ns[name], f)

    def restore(names):
        for name in names or os.listdir(store_dir):
            with open(os.path.join(store_dir, name), "rb") as f:
                ns[name] = pickle.load(f)

    return save, restore


def run(nb_path, workdir, cell_timeout, max_sleep, bucket, role_arn, store_dir):
    with open(nb_path) as f:
        nb = json.load(f)
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    standins.install(bucket, role_arn, max_sleep)
    ns = {"__name__": "__main__", "display": display}
    ns["_store_save"], ns["_store_restore"] = store_funcs(ns, store_dir)
    results = []

    def on_alarm(*_):
        raise CellTimeout(f"cell ran over {cell_timeout}s")

    signal.signal(signal.SIGALRM, on_alarm)
    code_cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    for n, cell in enumerate(code_cells, 1):
        src = "".join(cell.get("source", []))
        if not src.strip():
            results.append({"cell": n, "status": "skipped", "reason": "empty"})
            continue
        code, skip, notes = transform(src, workdir)
        entry = {"cell": n, "first_line": src.strip().split("\n")[0][:80]}
        if notes:
            entry["notes"] = notes
        if skip:
            entry.update(status="skipped", reason=skip)
            results.append(entry)
            continue
        try:
            compiled = compile(code, f"<cell {n}>", "exec")
        except SyntaxError as e:
            # Some notebooks show CloudFormation YAML in code cells; Jupyter
            # fails them too. Such a cell is not Python to run.
            entry.update(status="skipped", reason=f"not Python ({e.msg}, line {e.lineno})")
            results.append(entry)
            continue
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            entry["saved_output_is_error"] = True
        out = io.StringIO()
        start = time.time()
        signal.alarm(cell_timeout)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(compiled, ns)
            entry["status"] = "ok"
        except standins.SkipCell as e:
            entry.update(status="skipped", reason=str(e))
        except BaseException as e:  # a notebook cell may raise anything, SystemExit included
            entry.update(status="failed", error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300],
                         attune=is_attune_error(e))
            entry["trace"] = traceback.format_exc(limit=-3)[-1500:]
        finally:
            signal.alarm(0)
        entry["seconds"] = round(time.time() - start, 2)
        entry["output_tail"] = out.getvalue()[-400:]
        results.append(entry)
    return results


def is_attune_error(e):
    """Whether the failure is an answer of a Personalize endpoint (Attune)."""
    resp = getattr(e, "response", None)
    op = getattr(e, "operation_name", "")
    return bool(resp and op and "Error" in resp and not any(
        op.startswith(p) for p in ("PutObject", "GetObject", "CreateBucket", "PutBucketPolicy", "HeadObject", "ListObjects")))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebook")
    p.add_argument("--workdir", required=True, help="scratch folder the cells run in (their relative paths land there)")
    p.add_argument("--report", help="write the per-cell results here as JSON")
    p.add_argument("--cell-timeout", type=int, default=900, help="seconds before a cell is failed")
    p.add_argument("--max-sleep", type=float, default=2, help="longest time.sleep, in seconds")
    p.add_argument("--bucket", default="attune-samples", help="S3 bucket the CloudFormation stand-in names")
    p.add_argument("--role-arn", default="arn:aws:iam::000000000000:role/PersonalizeRole")
    p.add_argument("--store-dir", help="where %%store keeps variables (default: WORKDIR/.store)")
    a = p.parse_args()
    nb = os.path.abspath(a.notebook)
    workdir = os.path.abspath(a.workdir)
    res = run(nb, workdir, a.cell_timeout, a.max_sleep, a.bucket, a.role_arn,
              os.path.abspath(a.store_dir) if a.store_dir else os.path.join(workdir, ".store"))
    summary = {s: sum(1 for r in res if r["status"] == s) for s in ("ok", "failed", "skipped")}
    summary["failed_attune"] = sum(1 for r in res if r["status"] == "failed" and r.get("attune"))
    for r in res:
        detail = r.get("error") or r.get("reason") or ""
        print(f"cell {r['cell']:3d} {r['status']:7s} {detail}", file=sys.__stdout__)
    print(json.dumps({"notebook": a.notebook, "cells": len(res), **summary}), file=sys.__stdout__)
    if a.report:
        with open(a.report, "w") as f:
            json.dump({"notebook": a.notebook, "cells": res, "summary": summary}, f, indent=1)


if __name__ == "__main__":
    main()
