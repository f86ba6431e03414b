"""What keeps a job's tests inside their job (SPEC §13): the process-level guards.

The code under test decides its own tests' outcomes, and nothing more. The
worker and the Lambda handler use these helpers so that it gains no
credential, no other job's files and no process that outlives its job:

* :func:`make_non_dumpable` — ``prctl(PR_SET_DUMPABLE, 0)``: processes of the
  same uid can no longer read this process's memory, environment or command
  line through ``/proc``, nor ptrace it;
* :func:`become_subreaper` — ``prctl(PR_SET_CHILD_SUBREAPER, 1)``: a daemon
  that double-forks out of its job is re-parented to the worker, not to init,
  so it stays findable (:func:`descendants`) and is reaped (:func:`reap_orphans`);
* :func:`can_switch_users` and :class:`UidSlots` — one unprivileged uid per
  concurrency slot (``--child-uids``), when the worker may switch users;
* :func:`kill_uid` / :func:`kill_leftovers` — every process of a slot's uid
  (or, without that privilege, every descendant the job left, told apart by
  its tag when other jobs run beside it) killed after its job, however it
  detached itself.

Linux only where the kernel is involved; elsewhere the helpers report that
they did nothing and the docs say what that leaves open.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3
PR_SET_CHILD_SUBREAPER = 36
#: Capability bits (linux/capability.h).
CAP_SETGID = 6
CAP_SETUID = 7
#: ``--child-uids`` default: above the usual ranges of system and human users.
DEFAULT_CHILD_UIDS = "61000-61063"
#: The environment variable that tags a shared-uid job's processes (not a secret:
#: it only tells the worker which leftovers to kill).
JOB_TAG_ENV = "RELEASEGATE_JOB_TAG"


def _prctl(option: int, arg: int) -> int | None:
    """``prctl(option, arg, 0, 0, 0)``; None when there is no prctl (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    result: int = libc.prctl(
        ctypes.c_int(option),
        ctypes.c_ulong(arg),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
    )
    return result


def make_non_dumpable() -> bool:
    """Make this process non-dumpable; True when the kernel says it is now."""
    if _prctl(PR_SET_DUMPABLE, 0) != 0:
        return False
    return _prctl(PR_GET_DUMPABLE, 0) == 0


def become_subreaper() -> bool:
    """Adopt orphaned descendants (they stay in this process's tree); True when done."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1) == 0


# -- users -------------------------------------------------------------------------


def _effective_capabilities() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


def can_switch_users() -> bool:
    """Whether this process may run children as other users (root, or CAP_SETUID+CAP_SETGID)."""
    if not hasattr(os, "setuid"):
        return False
    if os.geteuid() == 0:
        return True
    caps = _effective_capabilities()
    return bool(caps & (1 << CAP_SETUID)) and bool(caps & (1 << CAP_SETGID))


class UidRangeError(ValueError):
    """``--child-uids`` is not ``START-END`` of unprivileged uids."""


def parse_uid_range(text: str) -> range:
    """``"61000-61063"`` → ``range(61000, 61064)``; a single uid is a range of one."""
    start_s, sep, end_s = text.partition("-")
    try:
        start = int(start_s)
        end = int(end_s) if sep else start
    except ValueError:
        raise UidRangeError(
            f"--child-uids {text!r}: expected START-END, e.g. {DEFAULT_CHILD_UIDS}"
        ) from None
    if start < 1000 or end < start or end >= 2**31 - 1:
        raise UidRangeError(
            f"--child-uids {text!r}: uids from 1000 up, START ≤ END (system uids are refused)"
        )
    return range(start, end + 1)


@dataclass
class UidSlots:
    """One uid per concurrency slot, taken for a job and given back after its cleanup.

    With ``lock_dir``, a uid is also locked (``flock`` on ``lock_dir/<uid>.lock``)
    while a job runs as it, so that two workers on one host with overlapping
    ``--child-uids`` never hand one uid to two jobs (each kills every process of
    its uid after a job: a shared uid would let one job's daemon reach the next).
    """

    uids: range
    lock_dir: Path | None = None
    _free: list[int] = field(default_factory=list)
    _held: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._free = list(self.uids)

    def acquire(self) -> int:
        with self._lock:
            for uid in list(self._free):
                if self._lock_uid(uid):
                    self._free.remove(uid)
                    return uid
            raise RuntimeError(
                "no free child uid: every uid of --child-uids is in use (by this worker's "
                "jobs or another worker's on this host): give each worker its own range"
            )

    def release(self, uid: int) -> None:
        with self._lock:
            fd = self._held.pop(uid, None)
            if fd is not None:
                os.close(fd)  # closing releases the flock
            if uid in self.uids and uid not in self._free:
                self._free.append(uid)

    def _lock_uid(self, uid: int) -> bool:
        if self.lock_dir is None:
            return True
        import fcntl

        fd = os.open(self.lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._held[uid] = fd
        return True


def uid_lock_dir(base: Path | None = None) -> Path | None:
    """The directory of the child-uid locks: ``<tmp>/releasegate-uids-<euid>``, ``0700``,
    created when missing; None when it exists but is not this user's alone."""
    import tempfile

    path = (base or Path(tempfile.gettempdir())) / f"releasegate-uids-{os.geteuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        return None
    return path


# -- processes ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    uids: tuple[int, ...]  # real, effective, saved, filesystem


def processes() -> Iterator[ProcInfo]:
    """Every process /proc shows (those that vanish while read are skipped)."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return
    for name in names:
        if not name.isdigit():
            continue
        try:
            text = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        ppid = 0
        uids: tuple[int, ...] = ()
        for line in text.splitlines():
            if line.startswith("PPid:"):
                ppid = int(line.split()[1])
            elif line.startswith("Uid:"):
                uids = tuple(int(v) for v in line.split()[1:5])
        yield ProcInfo(int(name), ppid, uids)


def descendants(root: int, table: Iterable[ProcInfo] | None = None) -> set[int]:
    """The pids whose parent chain reaches ``root`` (not ``root`` itself)."""
    children: dict[int, list[int]] = {}
    for p in table if table is not None else processes():
        children.setdefault(p.ppid, []).append(p.pid)
    found: set[int] = set()
    stack = list(children.get(root, ()))
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, ()))
    return found


def _has_tag(pid: int, tag: str) -> bool:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{JOB_TAG_ENV}={tag}".encode() in raw.split(b"\0")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _kill_until_gone(find: Callable[[], Iterable[int]], rounds: int = 50) -> int:
    """SIGKILL what ``find()`` returns until it returns nothing (bounded); returns the count.

    One scan of /proc when nothing is left, the usual case after a job."""
    killed: set[int] = set()
    me = os.getpid()
    for _ in range(rounds):
        pids = {p for p in find() if p != me}
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed |= pids
        time.sleep(0.01)
    return len(killed)


def kill_uid(uid: int) -> int:
    """SIGKILL every process whose real, effective or saved uid is ``uid``, repeatedly,
    until none is left (a fork bomb of that uid cannot outrun it for long: it runs as
    one uid and each round kills all of it). Returns how many were killed."""

    def find() -> list[int]:
        return [p.pid for p in processes() if uid in p.uids[:3] and _alive(p.pid)]

    return _kill_until_gone(find)


def kill_leftovers(
    tag: str | None, keep: Callable[[], Iterable[int]] = tuple, root: int | None = None
) -> int:
    """SIGKILL the descendants of ``root`` (default: this process) that a job left: those
    carrying its ``tag`` in their initial environment, or every one when ``tag`` is None
    — but never ``keep()`` (other jobs' running children) nor theirs. As a subreaper
    the runner keeps double-forked daemons among its descendants. Returns the count."""
    base = os.getpid() if root is None else root

    def find() -> list[int]:
        table = list(processes())
        spared: set[int] = set()
        for pid in keep():
            spared |= {pid, *descendants(pid, table)}
        return [
            pid
            for pid in descendants(base, table)
            if pid not in spared and _alive(pid) and (tag is None or _has_tag(pid, tag))
        ]

    return _kill_until_gone(find)


def reap_orphans(known: Iterable[int] = ()) -> int:
    """Collect the exit statuses of zombie children that no Popen waits for.

    Orphans adopted as a subreaper end as zombies here; ``subprocess`` only reaps
    its own. ``waitid(WNOWAIT)`` peeks at a zombie first: one in ``known`` (a
    running Popen child) is left to its Popen, and the peeking stops there
    (what is behind it is reaped next time). Returns how many were reaped.
    """
    skip = set(known)
    reaped = 0
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except (ChildProcessError, OSError):
            return reaped
        if info is None or info.si_pid in skip:
            return reaped
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(info.si_pid, os.WNOHANG)
        reaped += 1


# -- files the child could have tampered with ------------------------------------------

#: The most the runner reads of a file the gate child wrote.
READ_LIMIT = 64 << 20


class UnsafeFile(Exception):
    """A file the child left is not a plain file inside the job (a link, a FIFO, too big)."""


def read_inside(base: Path, relative: str, limit: int = READ_LIMIT) -> bytes | None:
    """The bytes of ``base/relative`` without following a link on the way or at the end;
    None when it does not exist. UnsafeFile when a component is a link, or the file is
    not a regular file, or larger than ``limit``.

    The child owns its job directory and can swap a name for a link to another job's
    file or to a system file while the runner is root: every step is opened with
    ``O_NOFOLLOW`` relative to the one before.
    """
    parts = [p for p in Path(relative).parts if p not in ("", ".")]
    if not parts or ".." in parts:
        raise UnsafeFile(f"{relative!r} is not a path inside the job")
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    directory = getattr(os, "O_DIRECTORY", 0)
    fds: list[int] = []
    try:
        try:
            fds.append(os.open(base, os.O_RDONLY | directory))
            for part in parts[:-1]:
                fds.append(os.open(part, os.O_RDONLY | directory | nofollow, dir_fd=fds[-1]))
            fd = os.open(parts[-1], os.O_RDONLY | nofollow | os.O_NONBLOCK, dir_fd=fds[-1])
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UnsafeFile(
                f"{relative} is not a plain file of the job ({exc.strerror})"
            ) from None
        fds.append(fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{relative} is not a regular file")
        if info.st_size > limit:
            raise UnsafeFile(f"{relative} is larger than {limit} bytes")
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise UnsafeFile(f"{relative} is larger than {limit} bytes")
        return data
    finally:
        for fd in fds:
            os.close(fd)


def chown_tree(root: Path, uid: int, gid: int) -> None:
    """Give ``root`` and everything under it (no links followed) to ``uid:gid``."""
    os.chown(root, uid, gid, follow_symlinks=False)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


# -- the sandbox of a runner ------------------------------------------------------------


@dataclass
class Slot:
    """One job's place to run: its uid (None: the runner's own) and its tag."""

    uid: int | None
    tag: str
    #: Set once its processes were killed after the child ended: none can be left.
    swept: bool = False

    def popen_user(self) -> dict[str, object]:
        """``subprocess.Popen`` keywords that drop the child to the slot's uid."""
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.uid, "extra_groups": []}


@dataclass
class Sandbox:
    """How a runner separates its gate children (SPEC §13).

    With ``uids`` (the worker can switch users): each job runs as a uid of its
    own for its duration, in a job directory that uid owns (``0700``); after
    the job every process of that uid is killed. Without: children share the
    runner's uid; after the job every process of that uid carrying the job's
    tag is killed — and, when ``exclusive`` (no other job can be running, the
    worker at ``--concurrency 1``), every descendant of the runner.
    """

    uids: UidSlots | None = None
    exclusive: bool = False
    _active: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def switches_users(self) -> bool:
        return self.uids is not None

    def open(self) -> Slot:
        uid = self.uids.acquire() if self.uids is not None else None
        with self._lock:
            self._active += 1
        return Slot(uid, os.urandom(12).hex())

    def prepare(self, slot: Slot, job_dir: Path) -> None:
        """Hand the job directory to the slot's uid (``0700``), its parent traversable."""
        os.chmod(job_dir, 0o700)
        if slot.uid is not None:
            chown_tree(job_dir, slot.uid, slot.uid)
            os.chmod(job_dir.parent, 0o711)

    def sweep(self, slot: Slot, keep: Callable[[], Iterable[int]] = tuple) -> int:
        """Kill whatever the job left running; returns how many processes."""
        if slot.uid is not None:
            killed = kill_uid(slot.uid)
        else:
            with self._lock:
                alone = self.exclusive and self._active <= 1
            killed = kill_leftovers(None if alone else slot.tag, keep)
        slot.swept = True
        return killed

    def close(self, slot: Slot, keep: Callable[[], Iterable[int]] = tuple) -> None:
        """Sweep (unless the job's processes were swept already) and give the uid back."""
        try:
            if not slot.swept:
                self.sweep(slot, keep)
        finally:
            with self._lock:
                self._active -= 1
            if slot.uid is not None and self.uids is not None:
                self.uids.release(slot.uid)
