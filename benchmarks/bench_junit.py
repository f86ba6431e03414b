"""Reading a large JUnit file: our streaming parser against two anchors.

Generates a 100k-testcase, ~40 MB JUnit file (1,000 suites; 88 % passed,
5 % failed with a traceback, 2 % errors, 5 % skipped; a third carry
<system-out>), then measures each reader in a fresh child process, in
turns (A B C D, A B C D, …), and prints the best in-process time and the
CPU time and the peak RSS (ru_maxrss) of each, with ratios against both
anchors (CPU time is the steadier figure on a busy machine):

  lxml         lxml.etree.iterparse(tag="testcase"), clearing as it goes (anchor)
  junitparser  junitparser.JUnitXml.fromfile: the whole tree (anchor)
  expat        pyexpat with start/end handlers that only count: the floor of
               any parser that calls Python once per element
  lxmlrec      lxml's iterparse building the same compact records as `parse` (only
               the common rules: failure/error/skipped, classname, time, file):
               a lower bound for an optional lxml reader (issue 17 measured it)
  parse        pytest_releasegate.sources.junit.read_junit: records for every testcase
  evaluate     the whole evaluation: policy, Gate.run() over --input-junit, 5 tests.* rules
  python       an empty child that imports nothing (the interpreter's own RSS)

    python benchmarks/bench_junit.py                  # 100k testcases, 5 rounds
    python benchmarks/bench_junit.py --cases 20000 --rounds 3
    python benchmarks/bench_junit.py --keep big.xml   # keep the generated file

Each child counts outcomes so no reader can skip the work; the counts of
all readers must agree or the benchmark stops. Targets (issue 4): evaluate
≤ 0.45 s and ≤ 40 MiB peak.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODES = ("lxml", "junitparser", "expat", "lxmlrec", "parse", "evaluate", "python")
POLICY = """
[[rule]]
name = "failures"
metric = "tests.failed"
max = 1000000
[[rule]]
name = "errors"
metric = "tests.errors"
max = 1000000
[[rule]]
name = "ran"
metric = "tests.total"
min = 1
[[rule]]
name = "pass rate"
metric = "tests.pass_rate"
min = 50
[[rule]]
name = "api"
metric = "tests.failed"
select = { source = "junit:default", classname = "pkg.sub1.*" }
max = 1000000
"""


def generate(path: Path, cases: int = 100_000, per_suite: int = 100, seed: int = 4) -> None:
    rnd = random.Random(seed)
    frames = '  File "pkg/mod.py", line 12, in check\n    assert result == expected\n'
    tb = ("Traceback (most recent call last):\n" + frames * 3 + "AssertionError: 1 &lt; 2\n") * 4
    out = "captured output line from the test under measurement, with a little detail\n" * 5
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<testsuites name="bench">\n')
        for s in range(cases // per_suite):
            f.write(f'  <testsuite name="suite{s}" tests="{per_suite}" time="1.0">\n')
            f.write('    <properties><property name="python" value="3.11"/></properties>\n')
            for i in range(per_suite):
                n = s * per_suite + i
                head = (
                    f'    <testcase classname="pkg.sub{s % 50}.test_module_{s}.TestThing" '
                    f'name="test_case_number_{n}" file="pkg/sub{s % 50}/test_module_{s}.py" '
                    f'line="{i * 10}" time="{rnd.random():.4f}"'
                )
                r = rnd.random()
                if r < 0.05:
                    body = f'<failure message="assert 1 == 2" type="AssertionError">{tb}</failure>'
                    f.write(f"{head}>\n      {body}\n      <system-out>{out}</system-out>\n")
                    f.write("    </testcase>\n")
                elif r < 0.07:
                    f.write(f'{head}>\n      <error message="fixture failed">{tb}</error>\n')
                    f.write("    </testcase>\n")
                elif r < 0.12:
                    f.write(f'{head}>\n      <skipped type="pytest.skip" message="not here"/>\n')
                    f.write("    </testcase>\n")
                elif r < 0.40:
                    f.write(f"{head}>\n      <system-out>{out}</system-out>\n    </testcase>\n")
                else:
                    f.write(f"{head}/>\n")
            f.write("  </testsuite>\n")
        f.write("</testsuites>\n")


# -- children -----------------------------------------------------------------


def _child_lxml(path: str) -> dict[str, int]:
    from lxml import etree  # type: ignore[import-untyped]

    counts = {"total": 0, "failed": 0, "error": 0, "skipped": 0}
    for _event, el in etree.iterparse(
        path, events=("end",), tag="testcase", resolve_entities=False, no_network=True
    ):
        counts["total"] += 1
        for child in el:
            tag = child.tag
            if tag == "failure":
                counts["failed"] += 1
            elif tag == "error":
                counts["error"] += 1
            elif tag == "skipped":
                counts["skipped"] += 1
        el.clear(keep_tail=False)
        while el.getprevious() is not None:
            del el.getparent()[0]
    return counts


def _child_junitparser(path: str) -> dict[str, int]:
    from junitparser import Error, Failure, JUnitXml, Skipped

    counts = {"total": 0, "failed": 0, "error": 0, "skipped": 0}
    for suite in JUnitXml.fromfile(path):
        for case in suite:
            counts["total"] += 1
            for result in case.result:
                if isinstance(result, Failure):
                    counts["failed"] += 1
                elif isinstance(result, Error):
                    counts["error"] += 1
                elif isinstance(result, Skipped):
                    counts["skipped"] += 1
    return counts


def _child_expat(path: str) -> dict[str, int]:
    from xml.parsers import expat

    counts = {"total": 0, "failed": 0, "error": 0, "skipped": 0}
    keys = {"testcase": "total", "failure": "failed", "error": "error", "skipped": "skipped"}

    def start(tag: str, attrs: dict[str, str]) -> None:
        key = keys.get(tag)
        if key:
            counts[key] += 1

    def end(tag: str) -> None:
        pass

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    with open(path, "rb") as f:
        parser.ParseFile(f)
    return counts


def _child_lxmlrec(path: str) -> dict[str, int]:
    from lxml import etree

    from pytest_releasegate.records import RecordTable
    from pytest_releasegate.sources.junit import count_outcomes

    table = RecordTable("junit:default")
    add = table.add
    interned: dict[str, str] = {}
    flag_of = {"failure": 1, "error": 2, "skipped": 4}
    for _event, el in etree.iterparse(
        path,
        events=("end",),
        tag="testcase",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    ):
        flags = 0
        for child in el:
            flags |= flag_of.get(child.tag, 0)
        attrs = el.attrib
        if not flags:
            outcome = "passed"
        elif flags & 1:
            outcome = "failed"
        elif flags & 2:
            outcome = "error"
        else:
            outcome = "skipped"
        classname = attrs.get("classname")
        if classname:
            classname = interned.setdefault(classname, classname)
        time_ = attrs.get("time")
        add(
            classname,
            attrs["name"],
            outcome,
            float(time_) if time_ else 0.0,
            False,
            classname,
            attrs.get("file"),
        )
        el.clear(keep_tail=False)
        parent = el.getparent()
        while el.getprevious() is not None:
            del parent[0]
    counts = count_outcomes(table.values())
    return {k: counts[k] for k in ("total", "failed", "error", "skipped")}


def _child_parse(path: str) -> dict[str, int]:
    from pytest_releasegate.sources.junit import count_outcomes, read_junit

    counts = count_outcomes(read_junit(path).values())
    return {k: counts[k] for k in ("total", "failed", "error", "skipped")}


def _child_evaluate(path: str) -> dict[str, int]:
    from pytest_releasegate.engine import Gate, GateOptions
    from pytest_releasegate.manager import get_plugin_manager, known_metrics
    from pytest_releasegate.policy import load_policy

    root = Path(path).parent
    policy_file = root / "bench-policy.toml"
    pm = get_plugin_manager(entry_points=False)
    policy = load_policy(str(policy_file), rootdir=root, metrics=known_metrics(pm))
    gate = Gate(policy, GateOptions(input_junit=[Path(path).name]), rootdir=root, pm=pm)
    verdict = gate.run()
    if verdict.verdict.value not in ("pass", "warn"):
        raise SystemExit(f"unexpected verdict {verdict.verdict}: {verdict.rules}")
    m = verdict.metrics
    return {
        "total": int(m["tests.total"]),
        "failed": int(m["tests.failed"]),
        "error": int(m["tests.errors"]),
        "skipped": int(m["tests.skipped"]),
    }


def child(mode: str, path: str) -> None:
    start = time.perf_counter()
    cpu = time.process_time()
    counts: dict[str, int] = {}
    if mode != "python":
        counts = globals()[f"_child_{mode}"](path)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu_seconds, "rss_mib": rss / 1024, "counts": counts}
        )
    )


# -- driver -------------------------------------------------------------------


def run_child(mode: str, path: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--keep", metavar="PATH", help="write the generated file here and keep it")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep).absolute() if args.keep else Path(tmp) / "big.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        generate(path, args.cases)
        (path.parent / "bench-policy.toml").write_text(POLICY)
        size = path.stat().st_size / 1e6
        print(
            f"{args.cases:,} testcases, {size:.1f} MB, {args.rounds} rounds, python {sys.version.split()[0]}"
        )
        results: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
        for _ in range(args.rounds):
            for mode in MODES:
                results[mode].append(run_child(mode, path))

    counts = {m: r[0]["counts"] for m, r in results.items() if m != "python"}
    if len({json.dumps(c, sort_keys=True) for c in counts.values()}) != 1:
        raise SystemExit(f"readers disagree: {counts}")
    print(f"counts (all readers agree): {counts['parse']}")
    best = {m: min(r["seconds"] for r in rs) for m, rs in results.items()}
    cpu = {m: min(r["cpu"] for r in rs) for m, rs in results.items()}
    peak = {m: min(r["rss_mib"] for r in rs) for m, rs in results.items()}
    print(
        f"{'reader':<12} {'time s':>7} {'cpu s':>6} {'peak MiB':>9} {'t/lxml':>7} {'t/jp':>6} {'m/lxml':>7} {'m/jp':>6}"
    )
    for mode in MODES:
        if mode == "python":
            print(f"{mode:<12} {'':>7} {'':>6} {peak[mode]:>9.1f}   (interpreter alone)")
            continue
        print(
            f"{mode:<12} {best[mode]:>7.3f} {cpu[mode]:>6.3f} {peak[mode]:>9.1f} "
            f"{best[mode] / best['lxml']:>7.2f} {best[mode] / best['junitparser']:>6.2f} "
            f"{peak[mode] / peak['lxml']:>7.2f} {peak[mode] / peak['junitparser']:>6.2f}"
        )
    ok_t = best["evaluate"] <= 0.45  # wall time; on a shared machine, read the cpu column too
    ok_m = peak["evaluate"] <= 40
    print(
        f"target evaluate <= 0.45 s: {'met' if ok_t else 'MISSED'} ({best['evaluate']:.3f} s); "
        f"<= 40 MiB: {'met' if ok_m else 'MISSED'} ({peak['evaluate']:.1f} MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
