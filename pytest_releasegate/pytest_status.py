"""How a gated pytest run ended, and which exit status the process gets (SPEC §14).

The gate's exit code replaces pytest's only where the policy judged the reason
for it: test failures, collection errors, a run pytest stopped early. Anything
else that made pytest's status non-zero — another plugin's failure (pytest-cov's
`fail_under`), a conftest setting `session.exitstatus`, an internal error,
`pytest.exit()`, Ctrl-C, SIGTERM — is never turned into 0; interrupts keep
pytest's own status (2) whatever the verdict.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, NamedTuple

import pytest


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into pytest's interrupt handling so the session can still finish."""


class Stop(NamedTuple):
    """Why the run ended before every collected test reported (or None: it did not)."""

    reason: str
    #: An interrupt from outside the run (Ctrl-C, SIGTERM, `pytest.exit()`): keep pytest's status.
    external: bool


def classify_interrupt(excinfo: Any) -> Stop:
    """`pytest_keyboard_interrupt`'s exception, as a reason and whether it came from outside."""
    value = excinfo.value
    if isinstance(value, Terminated):
        return Stop("the pytest run was terminated (SIGTERM)", external=True)
    if isinstance(value, pytest.exit.Exception):
        return Stop(f"pytest.exit() was called: {getattr(value, 'msg', value)}", external=True)
    if type(value) is KeyboardInterrupt:
        return Stop("the pytest run was interrupted (Ctrl-C)", external=True)
    # pytest's own early stop (collection errors, --sw, xdist's -x): judged by the gate.
    return Stop(f"the pytest run stopped early: {value}", external=False)


def unjudged_status(
    status: int, *, argument: int, testsfailed: int, failed_reports: int, stop: Stop | None
) -> str | None:
    """Why pytest's status `status` is non-zero for a reason the policy does not judge, or None.

    `argument` is the status pytest passed to `pytest_sessionfinish` (a plugin or
    conftest may have changed `session.exitstatus` since); `testsfailed` is
    `session.testsfailed`; `failed_reports` the failed test and collection
    reports the gate recorded (what pytest itself adds to `testsfailed`).
    """
    if status == pytest.ExitCode.OK:
        return None
    if status != argument:
        return f"a plugin or conftest set pytest's exit status to {status}"
    if stop is not None and stop.external:
        return stop.reason
    if status == pytest.ExitCode.INTERNAL_ERROR:
        return "pytest hit an internal error"
    if status == pytest.ExitCode.NO_TESTS_COLLECTED:
        return "pytest collected no tests"
    if status == pytest.ExitCode.TESTS_FAILED and testsfailed > failed_reports:
        n = testsfailed - failed_reports
        return (
            f"pytest counted {n} failure{'s' if n != 1 else ''} that is not a test result "
            "(another plugin, e.g. pytest-cov's fail-under)"
        )
    if status in (pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.INTERRUPTED):
        return None  # test failures, collection errors, an early stop: the gate judged them
    return f"pytest's exit status is {status}"


def final_status(status: int, gate_code: int, unjudged: str | None, stop: Stop | None) -> int:
    """The process exit status: the gate's, unless pytest's stands (see the module docstring)."""
    if unjudged is None:
        return gate_code
    if (stop is not None and stop.external) or status == pytest.ExitCode.INTERNAL_ERROR:
        return status  # interrupts and internal errors keep pytest's own status
    return status if gate_code == 0 else gate_code


class SigtermGuard:
    """While a gated session runs, SIGTERM ends it like Ctrl-C, so the verdict is written.

    Installed only in the main thread and only over the default handler (another
    tool's handler is left alone). A second SIGTERM gets the default action.
    """

    def __init__(self) -> None:
        self.previous: Any = None
        self.installed = False

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return
        self.previous = signal.signal(signal.SIGTERM, self._handle)
        self.installed = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process
        raise Terminated()

    def restore(self) -> None:
        if self.installed and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.previous)
            self.installed = False
