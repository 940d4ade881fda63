"""The console's uploads: a multipart body streamed straight into the account's upload area.

Every upload lives in DATA_DIR/uploads/<account id>/<upload id>/ and nowhere else: file names from the
browser are reduced to safe relative paths (a folder upload keeps its tree; `..`, absolute paths and
empty parts are refused), the body is counted as it arrives and refused past the limit, and nothing is
ever spooled to the system's temporary folder. An upload is kept while a model imported from it exists
(a retry reads it again) and is removed with the model; one that was only checked, or never used, is
removed STALE_AFTER later.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from drmodels.errors import InvalidRequest
from drmodels.rules.limits import human_size

UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
STALE_AFTER = 24 * 3600
"""Seconds after which an upload no model was imported from is removed."""
IN_USE = ".in-use"
"""Marks an upload a model was imported from (kept until the model is deleted)."""
MAX_FIELD_BYTES = 64 * 1024
MAX_FILES = 10_000


class UploadTooLarge(InvalidRequest):
    """The body passed the console's upload limit."""


@dataclass
class Received:
    """A form read into an upload folder: its text fields, and the files saved per field name."""

    folder: Path
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, list[Path]] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return self.fields.get(name, "").strip()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def safe_relative(filename: str) -> PurePosixPath:
    """A browser's file name (a folder upload's relative path) as a path that stays inside its folder."""
    parts = filename.replace("\\", "/").split("/")
    if not filename or "\x00" in filename or any(p in ("", ".", "..") for p in parts) or len(filename) > 1024:
        raise InvalidRequest("archive", f"file name {filename[:120]!r} is not a plain relative path")
    return PurePosixPath(*parts)


class UploadArea:
    """DATA_DIR/uploads: one folder per account, one folder per upload."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root.absolute()
        self.max_bytes = max_bytes

    def account(self, account_id: str) -> Path:
        return self.root / account_id

    def find(self, account_id: str, upload_id: str) -> Path:
        """An upload of this account by id; another account's, or a malformed id, is not found."""
        folder = self.account(account_id) / upload_id
        if not UPLOAD_ID.match(upload_id) or not folder.is_dir():
            raise InvalidRequest(
                "upload", "that upload is gone (uploads not imported are kept a day); upload again"
            )
        return folder

    def holds(self, account_id: str, location: str) -> Path | None:
        """The upload folder a model's recorded source lies in, when it is one of this account's."""
        path = Path(location)
        base = self.account(account_id)
        if path.is_absolute() and path.is_relative_to(base) and len(path.relative_to(base).parts) >= 1:
            return base / path.relative_to(base).parts[0]
        return None

    def shown(self, account_id: str, text: str) -> str:
        """`text` with the server's paths of this account's uploads as the user named them ("upload:
        racer.tar.gz"): the data dir's layout is not the user's business."""
        pattern = re.escape(str(self.account(account_id))) + r"/[0-9a-f]{32}/(?:files/[a-z]+|batch)/"
        return re.sub(pattern, "upload: ", text)

    def mark_used(self, folder: Path) -> None:
        (folder / IN_USE).touch()

    def sweep(self, account_id: str) -> None:
        """Remove this account's uploads that no model uses and that are older than STALE_AFTER."""
        base = self.account(account_id)
        if not base.is_dir():
            return
        now = time.time()
        for folder in base.iterdir():
            if (
                folder.is_dir()
                and not (folder / IN_USE).exists()
                and now - folder.stat().st_mtime > STALE_AFTER
            ):
                shutil.rmtree(folder, ignore_errors=True)

    async def receive(self, request: Request, account_id: str) -> Received:
        """Stream the request's multipart body into a new upload folder of the account."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large(int(declared), self.max_bytes)
        kind, params = parse_options_header(request.headers.get("content-type", ""))
        boundary = params.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise InvalidRequest("form", "this form must be sent as multipart/form-data")
        self.sweep(account_id)
        folder = self.account(account_id) / uuid.uuid4().hex
        (folder / "files").mkdir(parents=True)
        received = Received(folder)
        try:
            await _Reader(received, boundary, self.max_bytes).read(request)
        except BaseException:
            received.discard()
            raise
        return received


def too_large(size: int | None, max_bytes: int) -> UploadTooLarge:
    has = human_size(size) if size is not None else f"more than {human_size(max_bytes)}"
    return UploadTooLarge(
        "archive",
        f"the upload has {has}; this server takes at most {human_size(max_bytes)} at once "
        "(DRMODELS_MODEL_MAX_BYTES). Import a larger model from S3 instead.",
    )


class _Reader:
    """python-multipart's streaming parser, each part to a field or to a file in the upload folder."""

    def __init__(self, received: Received, boundary: bytes, max_bytes: int) -> None:
        self.received = received
        self.max_bytes = max_bytes
        self.seen = 0
        self.header_name = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.name = ""
        self.text: bytearray | None = None
        self.out: IO[bytes] | None = None
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": lambda d, s, e: self._header(name=d[s:e]),
                "on_header_value": lambda d, s, e: self._header(value=d[s:e]),
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    async def read(self, request: Request) -> None:
        try:
            async for chunk in request.stream():
                self.seen += len(chunk)
                if self.seen > self.max_bytes:
                    raise too_large(None, self.max_bytes)
                self.parser.write(chunk)
            self.parser.finalize()
        except FormParserError as exc:
            raise InvalidRequest("form", f"the form's body cannot be read ({exc})") from None
        finally:
            if self.out is not None:
                self.out.close()

    def _begin(self) -> None:
        self.headers, self.header_name, self.header_value = {}, b"", b""

    def _header(self, name: bytes = b"", value: bytes = b"") -> None:
        self.header_name += name
        self.header_value += value

    def _header_end(self) -> None:
        self.headers[self.header_name.lower()] = self.header_value
        self.header_name, self.header_value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is None:
            self.text = bytearray()
            return
        if not filename:  # a file input left empty
            self.text = None
            self.out = None
            return
        files = self.received.files.setdefault(self.name, [])
        if sum(len(f) for f in self.received.files.values()) >= MAX_FILES:
            raise InvalidRequest(self.name, f"more than {MAX_FILES} files in one upload")
        relative = safe_relative(filename.decode("utf-8", "replace"))
        target = self.received.folder / "files" / self.name / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise InvalidRequest(self.name, f"the file {relative} is in the upload twice")
        self.out = target.open("xb")
        files.append(target)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.out is not None:
            self.out.write(data[start:end])
        elif self.text is not None:
            self.text += data[start:end]
            if len(self.text) > MAX_FIELD_BYTES:
                raise InvalidRequest(self.name, f"more than {MAX_FIELD_BYTES} bytes")

    def _end(self) -> None:
        if self.out is not None:
            self.out.close()
            self.out = None
        elif self.text is not None:
            self.received.fields[self.name] = self.text.decode("utf-8", "replace")
            self.text = None
