"""Reading an HTML report back: every reference, every element, the text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

#: Attributes that make a browser fetch or navigate.
URL_ATTRS = frozenset(
    {
        "src",
        "href",
        "xlink:href",
        "action",
        "formaction",
        "srcset",
        "poster",
        "data",
        "background",
        "manifest",
        "ping",
        "longdesc",
        "codebase",
        "cite",
        "icon",
        "lowsrc",
    }
)


class Page(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, Any]]] = []
        self.styles: list[str] = []
        self.text: list[str] = []
        self._in: list[str] = []
        self.svgs: list[dict[str, Any]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if a.get("style"):
            self.styles.append(a["style"] or "")
        if tag == "svg":
            self.svgs.append({"attrs": a, "title": None, "desc": None, "marks": 0})
        self._in.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        while self._in:
            if self._in.pop() == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "style":
            self.styles.append(data)
        self.text.append(data)
        if self.svgs and "svg" in self._in and self._in[-1] in ("title", "desc"):
            chart = self.svgs[-1]
            # the chart's own title/desc are its first two children
            if chart[self._in[-1]] is None and self._in[-2] == "svg":
                chart[self._in[-1]] = data

    def external_references(self) -> list[str]:
        found = []
        for tag, attrs in self.elements:
            for name, value in attrs.items():
                if (
                    name in URL_ATTRS
                    and value is not None
                    and not (value.startswith("#") or value.startswith("data:"))
                ):
                    found.append(f"<{tag} {name}={value!r}>")
            if tag in (
                "script",
                "link",
                "iframe",
                "object",
                "embed",
                "base",
                "img",
                "audio",
                "video",
                "source",
                "track",
                "frame",
                "applet",
                "portal",
            ):
                found.append(f"<{tag}>")
            if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
                found.append("<meta http-equiv=refresh>")
        for css in self.styles:
            for url in re.findall(r"url\(\s*['\"]?([^'\")]*)", css, flags=re.I):
                if not (url.startswith("#") or url.startswith("data:")):
                    found.append(f"url({url})")
            if re.search(r"@import", css, flags=re.I):
                found.append("@import")
        return found

    def all_text(self) -> str:
        return "".join(self.text)
