"""The MIME tree: which parts make the body (RFC 8621's algorithm) and which are attachments."""

import re
from dataclasses import dataclass, field
from html import escape

from backend.mail.charsets import decode_declared
from backend.mail.headers import (
    Defects,
    collapse_whitespace,
    decode_encoded_words,
    decode_header,
    decode_raw_8bit,
    parse_parameters,
    unfold,
)
from backend.mail.html import sanitise_html, sanitised_html_to_text
from backend.mail.message import ParsedAttachment
from backend.mail.mime import MimeNode, split_header
from backend.mail.tnef import TnefError, unpack_tnef
from backend.mail.transfer import decode_transfer

_TEXT_TYPES = frozenset({"text/plain", "text/html"})
_MESSAGE_FILES = frozenset({"message/rfc822", "message/global"})
_LINE_END = re.compile(r"\r\n?")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_PATH_CHARACTERS = re.compile(r"[\x00-\x1f\x7f/\\]+")
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


@dataclass(frozen=True, slots=True)
class PartInfo:
    """What the body and attachment rules need to know of one leaf part."""

    node: MimeNode
    content_type: str
    headers: dict[str, str]
    params: dict[str, str]
    disposition: str | None
    filename: str | None
    content_id: str | None


@dataclass(slots=True)
class Body:
    """The body text, sanitised HTML and attachments of a message."""

    text: str
    html: str | None
    attachments: list[ParsedAttachment]
    charset_hint: str | None


def extract_body(root: MimeNode, *, defects: Defects) -> Body:
    """Body and attachments of a parsed message."""
    collector = _Collector(defects=defects)
    collector.walk([root], kind="", in_alternative=False, text=collector.text, html=collector.html)
    renderer = _Renderer(defects=defects)
    text = _joined_text(collector.text, renderer=renderer)
    has_html = any(info.content_type == "text/html" for info in collector.html)
    html = "".join(renderer.html(info) for info in collector.html) if has_html else None
    if not text and has_html:
        text = _joined_text(collector.html, renderer=renderer)  # an empty plain alternative
    attachments = [a for info in collector.attachments for a in renderer.attachments(info)]
    return Body(text=text, html=html, attachments=attachments, charset_hint=collector.hint())


def _joined_text(parts: list["PartInfo"], *, renderer: "_Renderer") -> str:
    """The plain text of body parts, a blank line between parts."""
    return "\n\n".join(text for text in map(renderer.text, parts) if text)


@dataclass(slots=True)
class _Collector:
    """Walks the MIME tree as RFC 8621 section 4.1.4 does, sorting leaves into three lists."""

    defects: Defects
    text: list[PartInfo] = field(default_factory=list)
    html: list[PartInfo] = field(default_factory=list)
    attachments: list[PartInfo] = field(default_factory=list)
    leaves: list[PartInfo] = field(default_factory=list)

    def walk(
        self,
        parts: list[MimeNode],
        *,
        kind: str,
        in_alternative: bool,
        text: list[PartInfo] | None,
        html: list[PartInfo] | None,
    ) -> None:
        """Sort parts; text or html is None where that body takes no more parts."""
        text_length = len(text) if text is not None else -1
        html_length = len(html) if html is not None else -1
        for index, part in enumerate(parts):
            if part.children is not None:
                subtype = part.content_type.partition("/")[2]
                self.walk(
                    part.children,
                    kind=subtype,
                    in_alternative=in_alternative or subtype == "alternative",
                    text=text,
                    html=html,
                )
                continue
            info = part_info(part, defects=self.defects)
            self.leaves.append(info)
            if not _is_inline_text(info, index=index, kind=kind):
                self.attachments.append(info)
                continue
            if kind == "alternative":
                target = text if info.content_type == "text/plain" else html
                if target is not None:
                    target.append(info)
                continue
            if in_alternative:
                html = None if info.content_type == "text/plain" else html
                text = None if info.content_type == "text/html" else text
            for target in (text, html):
                if target is not None:
                    target.append(info)
        if kind == "alternative" and html is not None and text is not None:
            if text_length == len(text) and html_length != len(html):
                text.extend(html[html_length:])
            if html_length == len(html) and text_length != len(text):
                html.extend(text[text_length:])

    def hint(self) -> str | None:
        """The first charset a text part declares: the likeliest one of undeclared 8-bit text."""
        for info in self.leaves:
            charset = info.params.get("charset", "").lower()
            if charset and charset not in {"us-ascii", "ascii", "utf-8"}:
                return charset
        return None


def _is_inline_text(info: PartInfo, *, index: int, kind: str) -> bool:
    """Whether a leaf belongs to the body: inline text without a file name."""
    return (
        info.content_type in _TEXT_TYPES
        and info.disposition != "attachment"
        and info.filename is None
        and (index == 0 or kind != "related")
    )


def part_info(part: MimeNode, *, defects: Defects) -> PartInfo:
    """The headers, parameters and names of a leaf part."""
    headers, params, content_type = part.headers, part.params, part.content_type
    where = f"{content_type} part"
    disposition, disposition_params = _parameters(
        headers.get("content-disposition"), where=where, defects=defects
    )
    filename = disposition_params.get("filename") or params.get("name")
    return PartInfo(
        node=part,
        content_type=content_type,
        headers=headers,
        params=params,
        disposition=disposition or None,
        filename=_clean_filename(filename, where=where, defects=defects),
        content_id=_content_id(headers.get("content-id")),
    )


def _parameters(value: str | None, *, where: str, defects: Defects) -> tuple[str, dict[str, str]]:
    """Token and parameters of a raw structured header value ("" and {} when absent)."""
    if value is None:
        return "", {}
    text = decode_raw_8bit(unfold(value), hint=None, where=where, defects=defects)
    return parse_parameters(text, where=where, defects=defects)


def _clean_filename(value: str | None, *, where: str, defects: Defects) -> str | None:
    """A decoded file name, None when blank."""
    if value is None:
        return None
    name = collapse_whitespace(decode_encoded_words(value, where=where, defects=defects))
    # A file name is no path: "1234/../../1234.txt" must not reach a file system as one.
    return _PATH_CHARACTERS.sub("_", name).strip() or None


def _content_id(value: str | None) -> str | None:
    """A Content-ID without angle brackets, None when blank."""
    if value is None:
        return None
    return unfold(value).strip("<> \t") or None


def payload_bytes(info: PartInfo, *, defects: Defects) -> bytes:
    """A leaf's content, transfer encoding undone."""
    data = info.node.body
    encoding = info.headers.get("content-transfer-encoding")
    where = f"{info.content_type} part"
    return decode_transfer(data, encoding=encoding, where=where, defects=defects).content


@dataclass(slots=True)
class _Renderer:
    """Turns leaves into text, sanitised HTML and attachments, decoding each leaf once."""

    defects: Defects
    _texts: dict[int, str] = field(default_factory=dict)
    _html: dict[int, str] = field(default_factory=dict)

    def decoded(self, info: PartInfo) -> str:
        """A text leaf's content as text."""
        key = id(info.node)
        if key not in self._texts:
            data = payload_bytes(info, defects=self.defects)
            where = f"{info.content_type} part"
            result = decode_declared(data, charset=info.params.get("charset"), where=where)
            self.defects.add(result.defect)
            text = _without_nul(result.text, where=where, defects=self.defects)
            self._texts[key] = _LINE_END.sub("\n", text) if "\r" in text else text
        return self._texts[key]

    def sanitised(self, info: PartInfo) -> str:
        """An HTML leaf, sanitised."""
        key = id(info.node)
        if key not in self._html:
            self._html[key] = sanitise_html(self.decoded(info), defects=self.defects)
        return self._html[key]

    def text(self, info: PartInfo) -> str:
        """A body leaf as plain text."""
        if info.content_type == "text/html":
            return sanitised_html_to_text(self.sanitised(info))
        return self.decoded(info).strip()

    def html(self, info: PartInfo) -> str:
        """A body leaf as sanitised HTML."""
        if info.content_type == "text/html":
            return self.sanitised(info)
        return f"<pre>{escape(self.decoded(info))}</pre>"

    def attachments(self, info: PartInfo) -> list[ParsedAttachment]:
        """The attachments a leaf gives: itself, or the files of a winmail.dat."""
        content = payload_bytes(info, defects=self.defects)
        if info.content_type.startswith("multipart/") and not content.strip():
            return []  # a multipart whose boundary never came, and nothing in it
        filename = info.filename
        if filename is None and info.content_type in _MESSAGE_FILES:
            filename = f"{_nested_subject(content)}.eml"
        if info.content_type == "application/ms-tnef" or (filename or "").lower() == "winmail.dat":
            unpacked = self._unpack_tnef(content)
            if unpacked:
                return unpacked
        inline = info.disposition == "inline" or (
            info.disposition is None and info.content_id is not None
        )
        return [
            ParsedAttachment(
                filename=filename,
                content_type=info.content_type,
                content=content,
                content_id=info.content_id,
                is_inline=inline,
            )
        ]

    def _unpack_tnef(self, content: bytes) -> list[ParsedAttachment]:
        """The files of a winmail.dat; empty (with a defect) when it cannot be unpacked."""
        try:
            files = unpack_tnef(content)
        except TnefError as error:
            self.defects.add(f"winmail.dat not unpacked ({error}); kept as is")
            return []
        return [
            ParsedAttachment(
                filename=file.filename,
                content_type=file.content_type,
                content=file.content,
                content_id=None,
                is_inline=False,
            )
            for file in files
        ]


def _nested_subject(content: bytes) -> str:
    """A file name stem from a nested message's Subject ("message" when it has none)."""
    end = _HEADER_END.search(content)
    header = content[: end.end()] if end else content
    fields, _ = split_header(header, defects=Defects())
    subject = next((value for name, value in fields if name.lower() == "subject"), "")
    text = collapse_whitespace(decode_header(subject, hint=None, where="", defects=Defects()))
    return _UNSAFE_FILENAME.sub("_", text)[:150].strip(" ._") or "message"


def _without_nul(text: str, *, where: str, defects: Defects) -> str:
    """Text without NUL characters, which databases refuse."""
    if "\x00" not in text:
        return text
    defects.add(f"NUL characters removed from {where}")
    return text.replace("\x00", "")
