"""Citizen HTML: sanitised with nh3 under size and nesting bounds, and converted to plain text."""

import re
from html import escape, unescape

import nh3

from backend.mail.headers import Defects

MAX_HTML_CHARS = 2_000_000
# html5ever's work grows with the square of the nesting depth: 100,000 nested <div> take a minute.
MAX_NESTING = 1_000

_CLEANER = nh3.Cleaner(clean_content_tags={"script", "style"})
# The document title is text the sender wrote, and help desks show it (Zammad keeps it): it
# becomes the first paragraph instead of vanishing with the <head>.
_TITLE_OPEN = re.compile(r"<title\b[^>]*>", re.IGNORECASE)
_TITLE_CLOSE = re.compile(r"</title\s*>", re.IGNORECASE)
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr", "keygen", "command", "basefont", "frame", "isindex"}
)
# Elements that close their open siblings, so that repeating them does not nest.
_SELF_CLOSING_SIBLINGS = frozenset(
    {"p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody", "tfoot"}
)
_SKIPPED = frozenset({"script", "style", "template", "noscript"})
_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol", "dl", "pre"}
    | {"hr", "address", "figure", "fieldset"}
)
_LINES = frozenset(
    {"div", "li", "tr", "dt", "dd", "article", "aside", "section", "header", "footer", "main"}
    | {"nav", "center", "caption", "figcaption", "details", "summary", "form", "dir", "menu"}
)
_CELLS = frozenset({"td", "th"})
_TAG_START = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)")
_NOT_NESTING = _VOID | _SELF_CLOSING_SIBLINGS
# A tag of serialised (sanitised) HTML: attribute values are always double-quoted there.
_SANITISED_TAG = re.compile(r'<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"]|"[^"]*")*)>')
_ANY_TAG = re.compile(r"<[^<>]*>")
_BREAK_TAG = re.compile(
    r"<(?:br|/?(?:p|div|li|tr|h[1-6]|table|blockquote|ul|ol|pre))\b[^<>]*>", re.IGNORECASE
)
_SKIPPED_OPEN = re.compile(r"<(script|style|template)\b", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_WHITESPACE = re.compile(r"\s+")
_AROUND_NEWLINE = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")


def sanitise_html(html: str, *, defects: Defects) -> str:
    """HTML safe to show an agent: no scripts, handlers or styles; bounded in size and time."""
    if len(html) > MAX_HTML_CHARS:
        defects.add(f"HTML part larger than {MAX_HTML_CHARS} characters truncated")
        html = html[:MAX_HTML_CHARS]
    html = _TITLE_CLOSE.sub("</p>", _TITLE_OPEN.sub("<p>", html))
    if _nesting_exceeds(html, limit=MAX_NESTING):
        defects.add(f"HTML nested deeper than {MAX_NESTING} elements replaced by its text")
        return f"<pre>{escape(_strip_tags(html))}</pre>"
    return _CLEANER.clean(html)


def html_to_text(html: str) -> str:
    """Plain text of any HTML: sanitised first, so that the conversion is linear."""
    return sanitised_html_to_text(sanitise_html(html, defects=Defects()))


def sanitised_html_to_text(html: str) -> str:
    """Plain text of sanitised HTML: blocks and <br> become line breaks, entities unescaped."""
    extractor = _TextExtractor()
    position = 0
    for tag in _SANITISED_TAG.finditer(html):
        extractor.text(html[position : tag.start()])
        extractor.tag(tag.group(2).lower(), closing=bool(tag.group(1)))
        position = tag.end()
    extractor.text(html[position:])
    return tidy_text("".join(extractor.chunks))


def tidy_text(text: str) -> str:
    """No spaces around line breaks, at most one blank line, none at the ends."""
    text = _AROUND_NEWLINE.sub("\n", text.replace("\xa0", " "))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _nesting_exceeds(html: str, *, limit: int) -> bool:
    """Whether elements may nest deeper than limit (an over-estimate, in linear time)."""
    if html.count("<") <= limit:
        return False
    depth = 0
    for slash, name in _TAG_START.findall(html):
        name = name.lower()
        if name in _NOT_NESTING:
            continue
        if slash:
            depth = depth - 1 if depth else 0
        else:
            depth += 1
            if depth > limit:
                return True
    return False


def _strip_tags(html: str) -> str:
    """Plain text of HTML too deep to sanitise, by regular expressions that scan it once."""
    html = _drop_skipped(html)
    html = _ANY_TAG.sub("", _BREAK_TAG.sub("\n", html))
    text = _SPACES.sub(" ", unescape(html))
    return tidy_text(text)


def _drop_skipped(html: str) -> str:
    """HTML without the content of script, style and template elements."""
    lower = html.lower()
    kept = []
    position = 0
    while (match := _SKIPPED_OPEN.search(html, position)) is not None:
        kept.append(html[position : match.start()])
        close = lower.find(f"</{match.group(1).lower()}", match.end())
        if close < 0:
            return "".join(kept)
        end = lower.find(">", close)
        position = len(html) if end < 0 else end + 1
    kept.append(html[position:])
    return "".join(kept)


class _TextExtractor:
    """Collects the text of HTML, with line breaks for block elements."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self._skipping = 0
        self._preformatted = 0
        self._breaks = 0  # line breaks owed before the next text

    def tag(self, name: str, *, closing: bool) -> None:
        """An opening or closing tag: skip, break or separate as its kind asks."""
        step = -1 if closing else 1
        if name in _SKIPPED:
            self._skipping = max(0, self._skipping + step)
        elif name == "pre":
            self._preformatted = max(0, self._preformatted + step)
        if name == "br":
            self._breaks += 1
        elif name in _PARAGRAPHS:
            self._breaks = max(self._breaks, 2)
        elif name in _LINES:
            self._breaks = max(self._breaks, 1)
        elif name in _CELLS and not self._breaks:
            self.chunks.append(" ")

    def text(self, raw: str) -> None:
        """Text between tags, its whitespace collapsed outside <pre>."""
        if self._skipping or not raw:
            return
        data = unescape(raw) if "&" in raw else raw
        if not self._preformatted:
            data = _WHITESPACE.sub(" ", data)
            if self._breaks and data == " ":
                return  # the whitespace between two blocks
        if self._breaks:
            self.chunks.append("\n" * self._breaks)
            self._breaks = 0
        self.chunks.append(data)
