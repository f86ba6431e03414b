"""Reading other tools' coverage reports: our readers against diff-cover and pycobertura.

Generates a 300,000-line LCOV tracefile and the equivalent Cobertura XML
(1,000 files of 300 lines; 70 % of lines hit; every 10th line a two-way
branch), with the source files present so every path maps. Each reader runs
in a fresh child process, in turns, and prints its best in-process time and
peak RSS (ru_maxrss):

  lcov          pytest_releasegate: Gate.run() over --input-coverage lcov.info
                (parse + map + evaluate 3 coverage rules)
  cobertura     the same over the Cobertura file
  diff-cover    diff-cover's XmlCoverageReporter over the same Cobertura (ElementTree
                parse as diff-cover's tool does), measured lines and violations of
                every file: what a diff touching every file asks (anchor)
  pycobertura   pycobertura.Cobertura: per-file statements and line statuses (anchor)
  expat         pyexpat over the Cobertura with handlers that only count <line>: what
                calling Python for every element costs, before any reading
  python        an empty child (the interpreter's own RSS)

    python benchmarks/bench_polycov.py                 # 300k lines, 3 rounds
    python benchmarks/bench_polycov.py --lines 60000 --rounds 1

Needs `pip install diff-cover pycobertura`. Every reader's counts (measured
lines, missed lines) must agree or the benchmark stops. Targets (issue 14):
parse + evaluate <= 0.5 x diff-cover's time, peak RSS <= 150 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODES = ("lcov", "cobertura", "diff-cover", "pycobertura", "expat", "python")
PER_FILE = 300
POLICY = """
[[rule]]
name = "lines"
metric = "coverage.line_percent"
min = 10
[[rule]]
name = "worst file"
metric = "coverage.min_file_line_percent"
min = 1
[[rule]]
name = "missing"
metric = "coverage.missing_lines"
max = 100000000
"""


def _name(i: int) -> str:
    return f"src/pkg{i % 20}/module_{i}.py"


def generate(root: Path, lines: int) -> None:
    files = lines // PER_FILE
    for i in range(files):
        path = root / _name(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    with (root / "lcov.info").open("w") as lcov, (root / "coverage.xml").open("w") as xml:
        xml.write('<?xml version="1.0" ?>\n<coverage version="7" line-rate="0.7">\n')
        xml.write(f"\t<sources>\n\t\t<source>{root}</source>\n\t</sources>\n\t<packages>\n")
        xml.write('\t\t<package name="src" line-rate="0.7">\n\t\t\t<classes>\n')
        for i in range(files):
            name = _name(i)
            lcov.write(f"TN:\nSF:{name}\n")
            xml.write(f'\t\t\t\t<class name="module_{i}.py" filename="{name}" line-rate="0.7">\n')
            xml.write("\t\t\t\t\t<methods/>\n\t\t\t\t\t<lines>\n")
            for n in range(1, PER_FILE + 1):
                hits = 0 if (n * 7 + i) % 10 < 3 else (n % 5) + 1
                lcov.write(f"DA:{n},{hits}\n")
                if n % 10 == 0:
                    taken = 1 if hits else 0
                    lcov.write(
                        f"BRDA:{n},0,0,{taken}\nBRDA:{n},0,1,{hits and 1 if n % 20 else 0}\n"
                    )
                    both = taken + (1 if hits and n % 20 else 0)
                    xml.write(
                        f'\t\t\t\t\t\t<line number="{n}" hits="{hits}" branch="true" '
                        f'condition-coverage="{both * 50}% ({both}/2)"/>\n'
                    )
                else:
                    xml.write(f'\t\t\t\t\t\t<line number="{n}" hits="{hits}"/>\n')
            lcov.write(f"LF:{PER_FILE}\nLH:0\nend_of_record\n")
            xml.write("\t\t\t\t\t</lines>\n\t\t\t\t</class>\n")
        xml.write("\t\t\t</classes>\n\t\t</package>\n\t</packages>\n</coverage>\n")


# -- children -----------------------------------------------------------------


def _child_ours(root: Path, report: str) -> dict[str, int]:
    from pytest_releasegate.engine import Gate, GateOptions
    from pytest_releasegate.manager import get_plugin_manager, known_metrics
    from pytest_releasegate.policy import load_policy

    pm = get_plugin_manager(entry_points=False)
    policy = load_policy(str(root / "bench-policy.toml"), rootdir=root, metrics=known_metrics(pm))
    gate = Gate(policy, GateOptions(input_coverage=[report]), rootdir=root, pm=pm)
    verdict = gate.run()
    if verdict.verdict.value != "pass" or verdict.warnings:
        raise SystemExit(
            f"unexpected verdict {verdict.verdict}: {verdict.rules} {verdict.warnings}"
        )
    missing = int(verdict.metrics["coverage.missing_lines"])
    measured = sum(
        len(f.measured) for s in gate.data["polycov"].sources.values() for f in s.files.values()
    )
    return {"measured": measured, "missing": missing}


def _child_lcov(root: Path) -> dict[str, int]:
    return _child_ours(root, "lcov.info")


def _child_cobertura(root: Path) -> dict[str, int]:
    return _child_ours(root, "coverage.xml")


def _child_diff_cover(root: Path) -> dict[str, int]:
    import xml.etree.ElementTree as etree

    from diff_cover.git_path import GitPathTool
    from diff_cover.violationsreporters.violations_reporter import XmlCoverageReporter

    os.chdir(root)
    GitPathTool.set_cwd(str(root))
    document = etree.parse("coverage.xml")
    reporter = XmlCoverageReporter([document])
    measured = missing = 0
    for i in range(len(list(root.glob("src/*/*.py")))):
        name = _name(i)
        measured += len(reporter.measured_lines(name) or ())
        missing += len(reporter.violations(name))
    return {"measured": measured, "missing": missing}


def _child_pycobertura(root: Path) -> dict[str, int]:
    from pycobertura import Cobertura

    cov = Cobertura(str(root / "coverage.xml"))
    measured = missing = 0
    for name in cov.files():
        measured += cov.total_statements(name)
        # total_misses() also counts partly covered branch lines; count lines not run.
        missing += sum(1 for _, status in cov.line_statuses(name) if status == "miss")
    return {"measured": measured, "missing": missing}


def _child_expat(root: Path) -> dict[str, int]:
    from xml.parsers import expat

    counts = {"measured": 0, "missing": 0}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag == "line":
            counts["measured"] += 1
            if attrs["hits"] == "0":
                counts["missing"] += 1

    def end(tag: str) -> None:
        pass

    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    with open(root / "coverage.xml", "rb") as f:
        parser.ParseFile(f)
    return counts


def child(mode: str, root: str) -> None:
    start = time.perf_counter()
    counts: dict[str, int] = {}
    if mode != "python":
        counts = globals()[f"_child_{mode.replace('-', '_')}"](Path(root))
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "rss_mib": rss / 1024, "counts": counts}))


# -- driver -------------------------------------------------------------------


def run_child(mode: str, root: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(root)],
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
    ap.add_argument("--lines", type=int, default=300_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("MODE", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        generate(root, args.lines)
        (root / "bench-policy.toml").write_text(POLICY)
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        lcov_mb = (root / "lcov.info").stat().st_size / 1e6
        xml_mb = (root / "coverage.xml").stat().st_size / 1e6
        print(
            f"{args.lines:,} lines in {args.lines // PER_FILE:,} files: LCOV {lcov_mb:.1f} MB, "
            f"Cobertura {xml_mb:.1f} MB; {args.rounds} rounds, python {sys.version.split()[0]}"
        )
        results: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
        for _ in range(args.rounds):
            for mode in MODES:
                results[mode].append(run_child(mode, root))

    counts = {m: r[0]["counts"] for m, r in results.items() if m != "python"}
    if len({json.dumps(c, sort_keys=True) for c in counts.values()}) != 1:
        raise SystemExit(f"readers disagree: {counts}")
    print(f"counts (all readers agree): {counts['lcov']}")
    best = {m: min(r["seconds"] for r in rs) for m, rs in results.items()}
    peak = {m: min(r["rss_mib"] for r in rs) for m, rs in results.items()}
    print(
        f"{'reader':<12} {'time s':>7} {'peak MiB':>9} {'t/diff-cover':>13} {'t/pycobertura':>14}"
    )
    for mode in MODES:
        if mode == "python":
            print(f"{mode:<12} {'':>7} {peak[mode]:>9.1f}   (interpreter alone)")
            continue
        print(
            f"{mode:<12} {best[mode]:>7.3f} {peak[mode]:>9.1f} "
            f"{best[mode] / best['diff-cover']:>13.2f} {best[mode] / best['pycobertura']:>14.2f}"
        )
    for mode in ("lcov", "cobertura"):
        ratio = best[mode] / best["diff-cover"]
        print(
            f"target {mode} <= 0.5 x diff-cover: {'met' if ratio <= 0.5 else 'MISSED'} "
            f"({ratio:.2f}); <= 150 MiB: {'met' if peak[mode] <= 150 else 'MISSED'} "
            f"({peak[mode]:.1f} MiB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
