"""Mapping the file names in coverage reports to paths relative to the project root.

In order (SPEC §9): Cobertura ``<sources>`` (each tried); JaCoCo
``package/File.java`` under each source root (default ``src/main/java``,
``src/main/kotlin``, ``src``; ``[tool.releasegate.coverage] source-roots``
replaces them, ``"."`` being the root), taken from the project root and then
from the report's folder and each folder above it (a module's own report);
Go import paths through the ``go.mod`` files in the project; the name
itself, absolute under the root, or relative to the root, then to the
report's own folder and each folder above it up to the root (Istanbul and
gcovr name files relative to the folder they ran in, and write their report
below it); then the policy's ``paths`` remaps (``{"web/" = ["/build/web/"]}``:
a name starting with an alias is re-rooted at the canonical prefix, as
coverage.py's ``[paths]``).
The first candidate that is an existing file under the root wins; a name
with none is *unmapped*: kept in the totals under its best guess, and
listed in the verdict.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator, Mapping, Sequence

from ..sections import DEFAULT_SOURCE_ROOTS

_SKIP_DIRS = frozenset(("node_modules", "vendor", "__pycache__", "build", "dist", "target"))
_MAX_WALK = 50_000


def _norm(name: str) -> str:
    if "\\" in name:
        name = name.replace("\\", "/")
    if name.startswith("file://"):
        name = name[7:]
    return name


class PathMapper:
    """Maps report names to project-relative paths, caching every answer."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        remaps: Mapping[str, Sequence[str]] | None = None,
        source_roots: Sequence[str] | None = None,
    ) -> None:
        self.root = os.path.realpath(root)
        pairs = [
            (_norm(alias), _norm(canonical))
            for canonical, aliases in (remaps or {}).items()
            for alias in aliases
        ]
        self.remaps = sorted(pairs, key=lambda p: -len(p[0]))
        self.source_roots = tuple(source_roots) if source_roots else DEFAULT_SOURCE_ROOTS
        self._modules: list[tuple[str, str]] | None = None
        self._isfile: dict[str, bool] = {}

    # -- candidates -----------------------------------------------------------

    def go_modules(self) -> list[tuple[str, str]]:
        """(module path, its directory relative to the root), longest module first."""
        if self._modules is None:
            found: list[tuple[str, str]] = []
            seen = 0
            for dirpath, dirnames, filenames in os.walk(self.root):
                seen += len(dirnames) + len(filenames)
                dirnames[:] = sorted(
                    d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS
                )
                if "go.mod" in filenames:
                    module = _module_path(os.path.join(dirpath, "go.mod"))
                    if module:
                        rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
                        found.append((module, "" if rel == "." else rel))
                if seen > _MAX_WALK:
                    break
            self._modules = sorted(found, key=lambda m: -len(m[0]))
        return self._modules

    def _direct(self, kind: str, name: str, sources: Sequence[str], here: str) -> Iterator[str]:
        root = self.root
        if kind == "cobertura":
            for source in sources:
                yield posixpath.join(_norm(source), name)
        elif kind == "jacoco":
            for src in self.source_roots:
                yield posixpath.join(root, _norm(src), name)
            # A module's report below the module (build/reports/jacoco/...): its
            # source roots are relative to the module, a folder above the report.
            for folder in self._folders(here):
                for src in self.source_roots:
                    yield posixpath.join(folder, _norm(src), name)
        elif kind == "go":
            if name.startswith("_/"):  # GOPATH-less packages outside a module
                yield name[1:]
            for module, folder in self.go_modules():
                if name.startswith(module + "/"):
                    yield posixpath.join(root, folder, name[len(module) + 1 :])
        if posixpath.isabs(name):
            yield name
        else:
            yield posixpath.join(root, name)
            for folder in self._folders(here):
                yield posixpath.join(folder, name)

    def _folders(self, here: str) -> Iterator[str]:
        """The report's folder and each folder above it, up to the root."""
        folder = here
        while True:
            yield folder
            if not folder.startswith(self.root + "/"):
                return
            folder = posixpath.dirname(folder)

    def _remapped(self, raw: str) -> Iterator[str]:
        # Without regard to case, as coverage.py's [paths] aliases match (Windows
        # tools write drive letters and folders in either case); the rest keeps its case.
        for alias, canonical in self.remaps:
            if raw[: len(alias)].lower() == alias.lower():
                rest = raw[len(alias) :]
                yield posixpath.join(self.root, canonical, rest)
                return

    def _relative(self, path: str) -> str | None:
        path = posixpath.normpath(path)
        if path.startswith(self.root + "/"):
            return path[len(self.root) + 1 :]
        return None

    def _exists(self, rel: str) -> bool:
        known = self._isfile.get(rel)
        if known is None:
            known = self._isfile[rel] = os.path.isfile(os.path.join(self.root, rel))
        return known

    # -- the answer -----------------------------------------------------------

    def map(
        self, kind: str, name: str, sources: Sequence[str] = (), report_dir: str = ""
    ) -> tuple[str, bool]:
        """(path relative to the root, or the best guess; whether it names an existing file)."""
        name = _norm(name)
        here = os.path.realpath(report_dir or self.root)
        direct = list(self._direct(kind, name, sources, here))
        guess: str | None = None
        for candidate in direct:
            rel = self._relative(candidate)
            if rel is not None:
                guess = guess or rel
                if self._exists(rel):
                    return rel, True
        for raw in (name, *direct):
            for candidate in self._remapped(raw):
                rel = self._relative(candidate)
                if rel is not None:
                    guess = guess or rel
                    if self._exists(rel):
                        return rel, True
        return (guess or name), False


def _module_path(gomod: str) -> str | None:
    try:
        with open(gomod, encoding="utf-8", errors="replace") as f:
            for line in f:
                words = line.split("//", 1)[0].split()
                if len(words) >= 2 and words[0] == "module":
                    return words[1].strip('"`')
    except OSError:
        return None
    return None
