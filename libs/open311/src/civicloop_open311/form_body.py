"""An Open311 POST body read as it streams in, refused at the first thing it cannot hold (PR-01, G-10).

Starlette's form parsers decode what is not UTF-8 as Latin-1 (the text would be stored garbled) and keep file parts
that the gateway has no place for. This reader is strict instead, and stops at the first offence rather than
reading on: bytes that are not UTF-8, a file part (refused at its headers, before its content is read: photos
travel as `media_url` links, PR-07), more than `max_fields` parameters, a value over `max_value_bytes`. The body as
a whole is bounded before it gets here, by the service skeleton's limit (413).

`FormBody(content_type)`: `feed(chunk)` for each chunk, then `pairs()`; both raise `BadForm`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

URLENCODED = b"application/x-www-form-urlencoded"
MULTIPART = b"multipart/form-data"
# Beyond any real Open311 POST (a service's attributes are a few dozen); what clients send past it is abuse.
MAX_FIELDS = 1_000
# A description is at most 4,000 characters (16 KB of UTF-8); room left for long `media_url`s, `data:` ones too.
MAX_VALUE_BYTES = 256 * 1024

NOT_UTF8 = "The request body is not valid UTF-8; Open311 input must be UTF-8 (G-10)."
FILE_REFUSED = (
    "File uploads are not supported: a file part ({name!r}) was sent. Send each photo as a media_url link to "
    "where it is published instead (PR-07)."
)


class BadForm(Exception):
    """A POST body refused: its description says why (never the values: they may be personal)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class FormBody:
    """The (name, value) text pairs of a form-encoded or multipart/form-data body; any other type has none."""

    def __init__(
        self, content_type: str, *, max_fields: int = MAX_FIELDS, max_value_bytes: int = MAX_VALUE_BYTES
    ) -> None:
        kind, options = parse_options_header(content_type)
        self.max_fields, self.max_value_bytes = max_fields, max_value_bytes
        self._kind = kind.lower()
        self._buffer = bytearray()  # form-encoded: parsed whole at the end (it is bounded by the body limit)
        self._pairs: list[tuple[str, str]] = []
        self._multipart: _Multipart | None = None
        if self._kind == MULTIPART:
            boundary = options.get(b"boundary")
            if not boundary:
                raise BadForm("The multipart/form-data body has no boundary.")
            self._multipart = _Multipart(self, boundary)

    def feed(self, chunk: bytes) -> None:
        if self._multipart is not None:
            self._multipart.feed(chunk)
        elif self._kind == URLENCODED:
            self._buffer += chunk

    def pairs(self) -> list[tuple[str, str]]:
        if self._multipart is not None:
            self._multipart.finish()
        elif self._kind == URLENCODED:
            self._parse_urlencoded(bytes(self._buffer))
        return self._pairs

    def _parse_urlencoded(self, body: bytes) -> None:
        try:
            # Strict at both levels: raw bytes, then what the %-escapes stand for.
            pairs = parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="strict",
                max_num_fields=self.max_fields,
            )
        except UnicodeDecodeError:
            raise BadForm(NOT_UTF8) from None
        except ValueError:  # parse_qsl's "Max number of fields exceeded"
            raise BadForm(self.too_many()) from None
        for name, value in pairs:
            self.add(name, value, len(value.encode()))

    def add(self, name: str, value: str, size: int) -> None:
        if size > self.max_value_bytes:
            raise BadForm(f"The value of {name[:100]!r} is larger than {self.max_value_bytes} bytes.")
        if len(self._pairs) >= self.max_fields:
            raise BadForm(self.too_many())
        self._pairs.append((name, value))

    def too_many(self) -> str:
        return f"The request has more than {self.max_fields} parameters."


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadForm(NOT_UTF8) from None


class _Multipart:
    """python-multipart's streaming parser, with a callback for each piece of a part."""

    def __init__(self, form: FormBody, boundary: bytes) -> None:
        self.form = form
        self.parts = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._value = bytearray()
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
                "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
            },
        )

    def feed(self, chunk: bytes) -> None:
        try:
            self._parser.write(chunk)
        except FormParserError:
            raise BadForm("The multipart/form-data body is malformed.") from None

    def finish(self) -> None:
        self._parser.finalize()
        if self._parser.state is not MultipartState.END:
            raise BadForm("The multipart/form-data body is incomplete (no closing boundary).")

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > self.form.max_fields:
            raise BadForm(self.form.too_many())
        self._disposition, self._value = b"", bytearray()

    def _header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name")
        if name is None:
            raise BadForm("A multipart part has no name (Content-Disposition: form-data; name=...).")
        self._name = _utf8(name)
        if b"filename" in options:
            # Refused here, before a byte of the file is read.
            raise BadForm(FILE_REFUSED.format(name=self._name[:100]))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        self._value.extend(data[start:end])
        if len(self._value) > self.form.max_value_bytes:
            raise BadForm(
                f"The value of {self._name[:100]!r} is larger than {self.form.max_value_bytes} bytes."
            )

    def _part_end(self) -> None:
        self.form.add(self._name, _utf8(bytes(self._value)), len(self._value))
