"""Request validation for the CodePipeline emulator, driven by botocore's own model.

botocore checks required members, Python types and ``min`` constraints before
sending; the service checks the rest (``max``, patterns, enums, map sizes).
:class:`ShapeValidator` walks the same service model and checks all of them,
so a request that the real service would refuse with ``ValidationException``
is refused here too, even when it was sent around botocore (raw HTTP, or a
client with ``parameter_validation=False``).

Lengths count UTF-16 code units, as the service (Java) does: an emoji counts
twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.model import ServiceModel, Shape

#: Shown instead of the value of a member the model marks ``sensitive``.
REDACTED = "*** Sensitive Data Redacted ***"


class ServiceError(Exception):
    """An error answer in the service's own terms: ``{"__type": code, "message": ...}``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def utf16_len(text: str) -> int:
    """The length the service measures: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@cache
def codepipeline_model() -> ServiceModel:
    """botocore's CodePipeline model, loaded once per process (it is read-only)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("codepipeline")


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _show(value: object, sensitive: bool) -> str:
    if sensitive:
        return REDACTED
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        text = "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    elif isinstance(value, list):
        text = "[" + ", ".join(str(v) for v in value) + "]"
    else:
        text = str(value)
    if len(text) > 100:
        text = text[:100] + "..."
    return f"'{text}'"


class ShapeValidator:
    """Validate operation input against the CodePipeline service model."""

    def __init__(self, service_model: ServiceModel | None = None) -> None:
        self.service_model = service_model or codepipeline_model()

    def operation_names(self) -> list[str]:
        return list(self.service_model.operation_names)

    def check_input(self, operation: str, params: object) -> None:
        """Raise :class:`ServiceError` unless *params* is valid input for *operation*.

        A JSON type that does not fit the shape is a ``SerializationException``
        (the service cannot read it); every constraint broken is collected into
        one ``ValidationException`` worded like the service's.
        """
        shape = self.service_model.operation_model(operation).input_shape
        if shape is None:
            return
        problems: list[str] = []
        self._check(shape, params, "", problems, sensitive=False)
        if problems:
            count = len(problems)
            noun = "error" if count == 1 else "errors"
            raise ServiceError(
                "ValidationException",
                f"{count} validation {noun} detected: " + "; ".join(problems),
            )

    def check_shape(self, shape_name: str, value: object, path: str) -> None:
        """Like :meth:`check_input` for a named shape (used for control-API input)."""
        problems: list[str] = []
        self._check(self.service_model.shape_for(shape_name), value, path, problems, False)
        if problems:
            raise ServiceError("ValidationException", "; ".join(problems))

    # -- the walk ---------------------------------------------------------------------

    def _check(
        self, shape: Shape, value: object, path: str, problems: list[str], sensitive: bool
    ) -> None:
        sensitive = sensitive or bool(shape.metadata.get("sensitive"))
        kind = shape.type_name
        where = path or shape.name
        if kind == "structure":
            self._check_structure(shape, value, path, problems, sensitive)
        elif kind == "list":
            items = _expect(value, list, where)
            self._check_size(shape, value, len(items), where, problems, sensitive)
            member = shape.member  # type: ignore[attr-defined]
            for index, item in enumerate(items, start=1):
                self._check(member, item, f"{where}.{index}.member", problems, sensitive)
        elif kind == "map":
            entries = _expect(value, dict, where)
            self._check_size(shape, value, len(entries), where, problems, sensitive)
            self._check_map(shape, entries, where, problems, sensitive)
        elif kind == "string":
            self._check_string(shape, _expect(value, str, where), where, problems, sensitive)
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _unreadable(where, value)
            self._check_size(shape, value, value, where, problems, sensitive, "value")
        elif kind == "boolean":
            _expect(value, bool, where)
        elif kind in ("double", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _unreadable(where, value)
        elif kind == "timestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise _unreadable(where, value)
        elif kind == "blob":
            _expect(value, str, where)

    def _check_structure(
        self, shape: Shape, value: object, path: str, problems: list[str], sensitive: bool
    ) -> None:
        fields = _expect(value, dict, path or shape.name)
        members: Mapping[str, Shape] = shape.members  # type: ignore[attr-defined]
        required = set(shape.required_members)  # type: ignore[attr-defined]
        for name, member in members.items():
            member_path = f"{path}.{name}" if path else name
            if name not in fields or fields[name] is None:
                if name in required:
                    problems.append(
                        f"Value null at '{member_path}' failed to satisfy constraint: "
                        "Member must not be null"
                    )
                continue
            self._check(member, fields[name], member_path, problems, sensitive)
        # Members the model does not know are ignored, as the service's JSON reader does.

    def _check_map(
        self,
        shape: Shape,
        entries: dict[Any, Any],
        where: str,
        problems: list[str],
        sensitive: bool,
    ) -> None:
        key_shape: Shape = shape.key  # type: ignore[attr-defined]
        value_shape: Shape = shape.value  # type: ignore[attr-defined]
        for key, item in entries.items():
            key_problems: list[str] = []
            self._check(key_shape, key, where, key_problems, sensitive)
            if key_problems:
                problems.append(
                    f"Value {_show(entries, sensitive)} at '{where}' failed to satisfy "
                    f"constraint: Map keys must satisfy constraint: "
                    f"[{_constraint_only(key_problems)}]"
                )
            if item is None:
                continue
            value_problems: list[str] = []
            self._check(value_shape, item, f"{where}.{key}", value_problems, sensitive)
            if value_problems:
                problems.append(
                    f"Value {_show(entries, sensitive)} at '{where}' failed to satisfy "
                    f"constraint: Map value must satisfy constraint: "
                    f"[{_constraint_only(value_problems)}]"
                )

    def _check_string(
        self, shape: Shape, text: str, where: str, problems: list[str], sensitive: bool
    ) -> None:
        enum = shape.enum  # type: ignore[attr-defined]
        if enum and text not in enum:
            problems.append(
                f"Value {_show(text, sensitive)} at '{where}' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(enum)}]"
            )
        self._check_size(shape, text, utf16_len(text), where, problems, sensitive)
        pattern = shape.metadata.get("pattern")
        if pattern and not _compiled(pattern).fullmatch(text):
            problems.append(
                f"Value {_show(text, sensitive)} at '{where}' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {pattern}"
            )

    def _check_size(
        self,
        shape: Shape,
        value: object,
        size: int,
        where: str,
        problems: list[str],
        sensitive: bool,
        measure: str = "length",
    ) -> None:
        """The model's ``min``/``max``: a length (strings, lists, maps) or a *measure* "value"."""
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        for broken, bound, relation in (
            (low is not None and size < low, low, "greater"),
            (high is not None and size > high, high, "less"),
        ):
            if broken:
                problems.append(
                    f"Value {_show(value, sensitive)} at '{where}' failed to satisfy constraint: "
                    f"Member must have {measure} {relation} than or equal to {bound}"
                )


def _constraint_only(problems: list[str]) -> str:
    marker = "failed to satisfy constraint: "
    return ", ".join(p.split(marker, 1)[-1] for p in problems)


def _unreadable(where: str, value: object) -> ServiceError:
    return ServiceError(
        "SerializationException",
        f"Cannot read the value at '{where}': unexpected JSON {type(value).__name__}",
    )


def _expect(value: object, kind: type[Any], where: str) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise _unreadable(where, value)
    if not isinstance(value, kind):
        raise _unreadable(where, value)
    return value
