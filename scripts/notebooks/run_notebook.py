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
- time.sleep sleeps a twentieth of what it is asked, at most --max-sleep
  seconds, so that polling loops written for the real service's minutes
  finish in seconds.

Usage: run_notebook.py NOTEBOOK --workdir DIR [--report out.json]"""

import argparse
import contextlib
import io
import json
import os
import re
import shutil
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
        if s.startswith("!"):
            out.append(indent + f"_shell({s[1:]!r})")
            continue
        if s.startswith("%"):
            notes.append(f"magic not run: {s[:60]}")
            out.append(indent + "pass")
            continue
        out.append(line)
    return "\n".join(out), None, notes


def shell_func(ns, workdir, notes):
    """_shell(cmd) stands in for a notebook's !cmd at run time: $name and
    {name} expand from the notebook's variables; mkdir makes folders; cd
    DIR && ... applies to DIR; a download of a known data set gets its local
    stand-in; unzip of a stand-in zip does nothing; anything else is not run
    and noted."""

    def expand(cmd):
        cmd = re.sub(r"\$(\w+)", lambda m: str(ns.get(m.group(1), m.group(0))), cmd)
        return re.sub(r"\{(\w+)\}", lambda m: str(ns.get(m.group(1), m.group(0))), cmd)

    def aws_s3(args, where):
        """aws s3 mb / cp, done with boto3 against the same S3 server."""
        import boto3

        s3 = boto3.client("s3")
        args = [a for a in args if not a.startswith("--")]
        split = lambda u: u[5:].split("/", 1) + [""] if u.startswith("s3://") else None
        if args[0] == "mb":
            s3.create_bucket(Bucket=split(args[1])[0])
        elif args[0] == "rm" and args[1].startswith("s3://"):
            b, prefix = split(args[1])[:2]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b, Prefix=prefix):
                for o in page.get("Contents", []):
                    s3.delete_object(Bucket=b, Key=o["Key"])
        elif args[0] == "cp" and len(args) >= 3:
            src, dst = args[1], args[2]
            if dst.startswith("s3://") and not src.startswith("s3://"):
                b, k = split(dst)[:2]
                s3.upload_file(os.path.join(where, src), b, k or os.path.basename(src))
            elif src.startswith("s3://"):
                b, k = split(src)[:2]
                s3.download_file(b, k, os.path.join(where, dst if not dst.endswith("/") else dst + os.path.basename(k)))
        else:
            notes.append(f"shell line not run: aws s3 {' '.join(args)[:50]}")

    def shell(cmd):
        where = os.getcwd()
        for part in [p.strip() for p in expand(cmd).split("&&")]:
            words = part.split()
            if not words:
                continue
            if words[0] == "cd" and len(words) > 1:
                where = os.path.join(where, words[1])
            elif words[0] == "mkdir":
                for w in words[1:]:
                    if not w.startswith("-"):
                        os.makedirs(os.path.join(where, w), exist_ok=True)
            elif words[0] == "cp" and len(words) >= 3:
                shutil.copy(os.path.join(where, words[-2]), os.path.join(where, words[-1]))
            elif words[:2] == ["aws", "s3"] and len(words) > 3:
                aws_s3(words[2:], where)
            elif DOWNLOAD.search(part) and words[0] != "unzip":
                got = standins.provide(part, where)
                notes.append(f"download replaced by a local stand-in ({got})" if got else f"download not run: {part[:60]}")
            elif words[0] in ("unzip", "pip", "conda", "ls", "head", "tail", "cat", "wc", "rm", "echo", "pwd"):
                pass  # the stand-ins come unzipped; installs and listings change nothing here
            else:
                notes.append(f"shell line not run: {part[:60]}")

    return shell


SAGEMAKER_METADATA = "/opt/ml/metadata/resource-metadata.json"


def open_func(workdir):
    """open() for the cells: SageMaker's notebook-instance metadata file,
    which some notebooks read for the region, is a local stand-in."""
    import builtins
    import json as _json

    stand_in = os.path.join(workdir, ".resource-metadata.json")
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    with open(stand_in, "w") as f:
        _json.dump({"ResourceArn": f"arn:aws:sagemaker:{region}:{standins.ACCOUNT}:notebook-instance/attune",
                    "ResourceName": "attune"}, f)

    def notebook_open(file, *args, **kwargs):
        if file == SAGEMAKER_METADATA:
            file = stand_in
        return builtins.open(file, *args, **kwargs)

    return notebook_open


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
            data = pickle.dumps(ns[name])  # IPython's %store fails on what cannot be pickled, too
            with open(os.path.join(store_dir, name), "wb") as f:
                f.write(data)

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
    run_notes = []
    ns["_shell"] = shell_func(ns, workdir, run_notes)
    ns["open"] = open_func(workdir)
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
        run_notes.clear()
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
        if run_notes:
            entry.setdefault("notes", []).extend(run_notes)
        entry["seconds"] = round(time.time() - start, 2)
        entry["output_tail"] = out.getvalue()[-400:]
        results.append(entry)
    return results


def is_attune_error(e):
    """Whether the failure is an answer of a Personalize endpoint (Attune)."""
    resp = getattr(e, "response", None)
    op = getattr(e, "operation_name", "")
    # S3's operations all name a bucket or an object; Personalize's never do.
    return bool(resp and op and "Error" in resp and "Bucket" not in op and "Object" not in op)


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
