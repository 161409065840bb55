"""What the harness reads from the hub's HTML forms, with the standard library's HTML parser (attributes in any
order, character references decoded once): a named field's value, a select's options."""
from __future__ import annotations

from html.parser import HTMLParser


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}                           # name -> the first non-empty value
        self.selects: list[tuple[str, list[tuple[str, str]]]] = []   # (name, [(option text, option value)])
        self._option: tuple[str | None, list[str]] | None = None     # (value attribute, text so far)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "select":
            self._end_option()
            self.selects.append((a.get("name", ""), []))
        elif tag == "option":
            self._end_option()
            self._option = (dict(attrs).get("value"), [])
        elif a.get("name") and a.get("value"):
            self.values.setdefault(a["name"], a["value"])

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("option", "select"):
            self._end_option()

    def _end_option(self) -> None:
        if self._option is not None and self.selects:
            value, text = self._option
            label = "".join(text).strip()
            self.selects[-1][1].append((label, label if value is None else value))   # no value: its text (HTML)
        self._option = None


def _fields(html: str) -> _Fields:
    parser = _Fields()
    parser.feed(html)
    parser.close()
    parser._end_option()
    return parser


def field_value(html: str, name: str) -> str | None:
    """The value of the first element named `name` that has a non-empty one (an input's)."""
    return _fields(html).values.get(name)


def select_options(html: str, name: str) -> list[tuple[str, str]] | None:
    """The options of the first select named `name`, in order: [(text, value)]; None when there is no such
    select."""
    return next((options for n, options in _fields(html).selects if n == name), None)
