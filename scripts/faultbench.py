#!/usr/bin/env python3
"""Issue 15's end-to-end fault benchmark: the launcher against moto behind scripts/faultproxy.py.

    scripts/moto install
    cargo run -q --locked -p amiref-aws --example moto_fixture -- target/moto/amis.json
    cargo build -p amiref-examples --bin amiref
    target/moto-venv/bin/python scripts/faultbench.py [--runs 20] [--seed 15] [--label before]

It starts a moto of its own (a free port, fresh state, seeded with target/moto/amis.json;
never scripts/moto's server, whose state the tests share), and runs a pinned copy of
target/debug/amiref (copied to target/faultbench/, so a rebuild by someone else mid-run
changes nothing) with a temporary HOME and no AWS configuration of the user's, in three
set-ups:

- `straight`: the launcher talks to moto directly (the fault-free figures);
- `delay`: through the proxy with no faults, every request held 5 ms;
- `faults`: through the proxy, a seeded 30% of requests answered with a fault (half
  RequestLimitExceeded, half Unavailable; see scripts/faultproxy.py), 5 ms on the rest.

In each it times, on the wall clock, whole launcher processes:

1. `--runs` single resolutions (`ami resolve TEMPLATE --output json` in us-east-1), going
   round the demo templates (examples/templates/*.yml) and a template that finds the
   fixture's community python image by search; each answer (the image, or the error's kind)
   must equal the straight run's answer for the same template;
2. `ami test TEMPLATE --all-regions --output json` for the fixture's python template (the 17
   default commercial regions): each region's row must equal the straight run's; which
   regions saw faults comes from the proxy's log of that run;
3. `ami copy IMAGE --to REGION --output jsonl`: the caller's fixture image from us-east-1
   into a region no other copy of this benchmark used; afterwards moto is asked (directly)
   how many images in that region came from the source: exactly one must.

It prints a table and writes every figure to target/faultbench/<label>.json. Exits 1 when
an answer differs or a copy is not made exactly once; the time bounds of issue 15 (median
resolution < 1 s, slowest < 5 s, `ami test --all-regions` < 5 s) are reported as met or
not, and do not change the exit status (a bench reports; it does not fail on a slow box).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True  # no scripts/__pycache__ in the working tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultproxy import FaultProxy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "faultbench"
REGION = "us-east-1"
# The fixture's community account (named prism-community in the demo trust policy), its
# python 2.1.0 x86_64 image, and the caller's own x86_64 image (in every region).
PYTHON_210_X86 = "ami-0f1a00000000000a1"
MINE_X86 = "ami-0f1a00000000000e1"
FIXTURE_TEMPLATE = """name: fixture-python
version: 2.1.0
instance_types:
  x86_64: t3.micro
  arm64: t4g.micro
ami_config:
  strategy: ami_required
  ami_search:
    owner: prism-community
    name_pattern: "fixture-python-*"
    version_constraint: ">=2.0.0, <3"
    architecture: [x86_64]
  fallback_strategy: error
"""
# Destinations of the copies, one per copy run (none is used twice in one moto).
COPY_DESTINATIONS = {"straight": "eu-west-1", "delay": "eu-west-2", "faults": "eu-west-3"}
FAULT_COPY_REPEATS = ["eu-north-1"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """A moto server of the benchmark's own."""

    def __init__(self, venv: Path, amis: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            MOTO_ENABLE_AMI_VALIDATION="true",
            MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION="true",
            MOTO_AMIS_PATH=str(amis.resolve()),
        )
        OUT.mkdir(parents=True, exist_ok=True)
        self.log = open(OUT / "moto.log", "w")
        self.process = subprocess.Popen(
            [str(venv / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(150):
            try:
                opener.open(self.url + "/moto-api/", timeout=2).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"faultbench: moto exited; see {OUT / 'moto.log'}")
                time.sleep(0.2)
        self.stop()
        raise SystemExit("faultbench: moto did not answer in 30 s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()

    def images_copied_from(self, source: str, region: str) -> list[str]:
        """The caller's images in `region` whose SourceImageId is `source` (asked directly)."""
        import boto3  # moto's venv has it

        ec2 = boto3.client(
            "ec2",
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        images = ec2.describe_images(Owners=["self"])["Images"]
        return sorted(
            i["ImageId"]
            for i in images
            if i.get("SourceImageId") == source
            or any(t.get("Value") == source for t in i.get("Tags", []))
        )


class Launcher:
    """The pinned launcher with a clean environment of its own."""

    def __init__(self, binary: Path, home: Path, trust: Path, extra_env: dict):
        self.binary = binary
        self.home = home
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "AMIREF_"))
        }
        self.env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_STATE_HOME=str(home / "state"),
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=str(home / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-credentials"),
            AMIREF_TRUST=str(trust),
            AMIREF_AUDIT_LOG=str(home / "audit.jsonl"),
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        self.env.update(extra_env)

    def run(self, endpoint: str, *args: str) -> tuple[float, int, str]:
        """(wall seconds, exit code, stdout) of one launcher process."""
        command = [str(self.binary), "--endpoint-url", endpoint, "--region", REGION, *args]
        started = time.monotonic()
        done = subprocess.run(command, env=self.env, capture_output=True, text=True)
        return time.monotonic() - started, done.returncode, done.stdout


def answer_of(stdout: str) -> dict:
    """What a resolution chose: the image and method, or the error's kind."""
    try:
        v = json.loads(stdout)
    except json.JSONDecodeError:
        return {"unparsed": stdout[-300:]}
    if v.get("ok"):
        r = v["result"]
        return {"image": r["image"]["id"], "method": r["method"]}
    return {"error": v.get("error", {}).get("kind")}


def rows_of(stdout: str) -> dict:
    """`ami test`'s rows: region -> (status, image)."""
    try:
        v = json.loads(stdout)["result"]
    except (json.JSONDecodeError, KeyError):
        return {"unparsed": stdout[-300:]}
    return {
        r["region"]: [r["status"], r.get("image") or r.get("base_image")] for r in v["regions"]
    }


def unavailable_reasons(stdout: str) -> dict:
    """`ami test`'s unavailable regions: region -> reason."""
    try:
        v = json.loads(stdout)["result"]
    except (json.JSONDecodeError, KeyError):
        return {}
    return {r["region"]: r.get("reason") for r in v["regions"] if r["status"] == "unavailable"}


def reported_faults(stdout: str) -> dict:
    """The regions `ami test` itself says answered with faults (a launcher that reports them)."""
    try:
        v = json.loads(stdout)["result"]
    except (json.JSONDecodeError, KeyError):
        return {}
    return {r["region"]: r["faults"] for r in v["regions"] if r.get("faults")}


def faults_by_region(requests: list) -> dict:
    out: dict = {}
    for r in requests:
        if r.fault:
            out.setdefault(r.region or "?", {"throttled": 0, "unavailable": 0})[r.fault] += 1
    return dict(sorted(out.items()))


def summary(requests: list) -> dict:
    faulted = [r for r in requests if r.fault]
    return {"requests": len(requests), "faulted": len(faulted)}


def measure(setup: str, endpoint: str, proxy, launcher: Launcher, moto: Moto,
            templates: list[Path], fixture: Path, runs: int, reference: dict) -> dict:
    take = proxy.stats.take if proxy else (lambda: [])
    take()
    result: dict = {"setup": setup, "resolutions": [], "mismatches": []}
    for i in range(runs):
        template = templates[i % len(templates)]
        secs, code, out = launcher.run(endpoint, "--output", "json", "ami", "resolve", str(template))
        answer = answer_of(out)
        seen = summary(take())
        result["resolutions"].append(
            {"template": template.stem, "secs": round(secs, 3), "exit": code, "answer": answer, **seen}
        )
        expected = reference.get("answers", {}).get(template.stem)
        if expected is not None and expected != answer:
            result["mismatches"].append({"template": template.stem, "expected": expected, "got": answer})
    times = [r["secs"] for r in result["resolutions"]]
    result["resolution_median_secs"] = round(statistics.median(times), 3)
    result["resolution_max_secs"] = round(max(times), 3)
    result["answers"] = {r["template"]: r["answer"] for r in result["resolutions"]}

    secs, code, out = launcher.run(endpoint, "--output", "json", "ami", "test", str(fixture), "--all-regions")
    rows = rows_of(out)
    requests = take()
    result["all_regions"] = {
        "secs": round(secs, 3),
        "exit": code,
        "regions": len(rows),
        "rows": rows,
        "unavailable_reasons": unavailable_reasons(out),
        "reported_faults": reported_faults(out),
        "faults_by_region": faults_by_region(requests),
        **summary(requests),
    }
    expected_rows = reference.get("all_regions", {}).get("rows")
    if expected_rows is not None and expected_rows != rows:
        result["mismatches"].append({"all_regions": {"expected": expected_rows, "got": rows}})

    result["copies"] = []
    destinations = [COPY_DESTINATIONS[setup]] + (FAULT_COPY_REPEATS if setup == "faults" else [])
    for destination in destinations:
        secs, code, out = launcher.run(
            endpoint, "--output", "jsonl", "ami", "copy", MINE_X86, "--to", destination
        )
        requests = take()
        copies = moto.images_copied_from(MINE_X86, destination)
        last = out.strip().splitlines()[-1] if out.strip() else "{}"
        try:
            outcome = json.loads(last)["result"]["regions"][0]["outcome"]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError):
            outcome = last[-300:]
        copy_requests = [r for r in requests if r.operation == "CopyImage"]
        entry = {
            "to": destination,
            "secs": round(secs, 3),
            "exit": code,
            "outcome": outcome,
            "images_made": len(copies),
            "copy_image_requests": len(copy_requests),
            "copy_image_faulted": sum(1 for r in copy_requests if r.fault),
            **summary(requests),
        }
        result["copies"].append(entry)
        if len(copies) != 1:
            result["mismatches"].append({"copy": entry, "images": copies})
    return result


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_table(results: list[dict]) -> None:
    print(f"{'setup':<9} {'resolve median':>15} {'max':>8} {'test --all-regions':>19} {'copy':>8} {'copies made':>12} {'faulted/requests':>17}")
    for r in results:
        n_req = sum(x["requests"] for x in r["resolutions"]) + r["all_regions"]["requests"] + sum(c["requests"] for c in r["copies"])
        n_fault = sum(x["faulted"] for x in r["resolutions"]) + r["all_regions"]["faulted"] + sum(c["faulted"] for c in r["copies"])
        copy_secs = "/".join(f"{c['secs']:.2f}" for c in r["copies"])
        made = "/".join(str(c["images_made"]) for c in r["copies"])
        print(f"{r['setup']:<9} {r['resolution_median_secs']:>14.3f}s {r['resolution_max_secs']:>7.3f}s {r['all_regions']['secs']:>18.3f}s {copy_secs:>8} {made:>12} {n_fault:>8}/{n_req:<8}")
    faults = next((r for r in results if r["setup"] == "faults"), None)
    if faults:
        print()
        print(f"median resolution < 1 s: {verdict(faults['resolution_median_secs'] < 1)}; "
              f"slowest < 5 s: {verdict(faults['resolution_max_secs'] < 5)}; "
              f"ami test --all-regions < 5 s: {verdict(faults['all_regions']['secs'] < 5)}")
        reported = faults["all_regions"]["reported_faults"]
        print("regions ami test --all-regions itself names with faults (throttled+unavailable):",
              ", ".join(f"{k} ({v.get('throttled_count', 0)}+{v.get('unavailable_count', 0)}{', given up' if v.get('given_up') else ''})" for k, v in reported.items()) or "none")
        print("regions the proxy answered with faults in it (throttled+unavailable):",
              ", ".join(f"{k} ({v['throttled']}+{v['unavailable']})" for k, v in faults["all_regions"]["faults_by_region"].items()) or "none")
    for r in results:
        for m in r["mismatches"]:
            print(f"MISMATCH ({r['setup']}): {json.dumps(m)[:600]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--delay-ms", type=float, default=5.0)
    parser.add_argument("--label", default="latest", help="names target/faultbench/<label>.json")
    parser.add_argument("--amiref", default=str(ROOT / "target" / "debug" / "amiref"))
    parser.add_argument("--amis", default=str(ROOT / "target" / "moto" / "amis.json"))
    parser.add_argument("--setups", default="straight,delay,faults")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a variable for the launcher (e.g. AMIREF_SDK_MAX_ATTEMPTS=4); repeatable")
    parser.add_argument("--built-from", help="the commit the --amiref binary was built from (recorded)")
    args = parser.parse_args()

    amis = Path(args.amis)
    if not amis.is_file():
        print(f"faultbench: no {amis}: run `cargo run -p amiref-aws --example moto_fixture -- {amis}`", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    binary = OUT / f"amiref-{args.label}"
    shutil.copy2(args.amiref, binary)
    venv = ROOT / "target" / "moto-venv"
    templates = sorted((ROOT / "examples" / "templates").glob("*.yml"))
    moto = Moto(venv, amis)
    proxies = []
    try:
        with tempfile.TemporaryDirectory(prefix="faultbench-") as home:
            home = Path(home)
            fixture = home / "fixture-python.yml"
            fixture.write_text(FIXTURE_TEMPLATE)
            extra_env = dict(e.split("=", 1) for e in args.env)
            launcher = Launcher(binary, home, ROOT / "examples" / "worlds" / "demo.trust.yaml", extra_env)
            all_templates = templates + [fixture]
            # moto builds each region's state on its first request there: once, untimed.
            launcher.run(moto.url, "--output", "json", "ami", "test", str(fixture), "--all-regions")
            for template in all_templates:
                launcher.run(moto.url, "--output", "json", "ami", "resolve", str(template))
            results, reference = [], {}
            for setup in args.setups.split(","):
                if setup == "straight":
                    proxy, endpoint = None, moto.url
                else:
                    rate = 0.0 if setup == "delay" else args.fault_rate
                    proxy = FaultProxy(moto.url, rate, args.delay_ms, args.seed).start()
                    proxies.append(proxy)
                    endpoint = proxy.url
                started = time.strftime("%H:%M:%S", time.gmtime())
                r = measure(setup, endpoint, proxy, launcher, moto, all_templates, fixture, args.runs, reference)
                r["started_utc"] = started
                if setup == "straight":
                    reference = r
                results.append(r)
    finally:
        for p in proxies:
            p.stop()
        moto.stop()
    meta = {
        "label": args.label,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "checkout": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip(),
        "built_from": args.built_from,
        "launcher_env": args.env,
        "seed": args.seed,
        "fault_rate": args.fault_rate,
        "delay_ms": args.delay_ms,
        "load_avg": os.getloadavg(),
        "results": results,
    }
    (OUT / f"{args.label}.json").write_text(json.dumps(meta, indent=2))
    print_table(results)
    print(f"\nevery figure: {OUT / (args.label + '.json')}")
    return 1 if any(r["mismatches"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
