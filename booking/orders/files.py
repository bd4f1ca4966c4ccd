"""Order files (report, data, sample photos): checked for size and type by their content, not
only their name, stored under the instance's upload folder by a random name, and read back
only through the order's pages (which check who may see them)."""
import os
import secrets

from flask import current_app
from werkzeug.datastructures import FileStorage

from booking.accounts.models import User
from booking.core import audit
from booking.core.problems import Refused, _l
from booking.orders.models import Order, OrderFile, Sample

MAX_BYTES = 8 * 1024 * 1024  # per file; the request as a whole is bounded by MAX_CONTENT_LENGTH
MAX_FILES = 10  # data files per upload

#: extension -> (content type, a check of the first bytes)
REPORT_TYPES = {"pdf": ("application/pdf", lambda head: head.startswith(b"%PDF-"))}
PHOTO_TYPES = {
    "jpg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    "jpeg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    "png": ("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
}


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:  # a multi-byte character cut at the end is fine
        return error.start >= len(head) - 3 and b"\x00" not in head
    return b"\x00" not in head


DATA_TYPES = {
    **REPORT_TYPES, **PHOTO_TYPES,
    "csv": ("text/csv", _is_text), "txt": ("text/plain", _is_text),
    "xy": ("text/plain", _is_text), "dat": ("text/plain", _is_text),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             lambda head: head.startswith(b"PK\x03\x04")),
    "zip": ("application/zip", lambda head: head.startswith(b"PK\x03\x04")),
    "tif": ("image/tiff", lambda head: head[:4] in (b"II*\x00", b"MM\x00*")),
    "tiff": ("image/tiff", lambda head: head[:4] in (b"II*\x00", b"MM\x00*")),
}
KIND_TYPES = {"report": REPORT_TYPES, "data": DATA_TYPES, "photo": PHOTO_TYPES}


class FileRefused(Refused):
    """An upload of the wrong type or size (nothing was stored)."""


def folder() -> str:
    path = os.path.join(current_app.config["UPLOAD_DIR"], "orders")
    os.makedirs(path, exist_ok=True)
    return path


def path_of(stored: OrderFile) -> str:
    return os.path.join(folder(), stored.stored_name)


def display_name(filename: str | None) -> str:
    """The uploaded file's own name, as shown and offered on download: no folders, no control
    characters, at most 200 characters. (werkzeug's secure_filename keeps ASCII only: it
    turned 检测报告.pdf into "pdf", which then had no extension.) Files are stored under a
    random name, never under this one."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().lstrip(".")
    return name[-200:]


def _read(upload: FileStorage, kind: str) -> tuple[bytes, str, str]:
    """The file's bytes, extension and content type, or FileRefused."""
    name = display_name(upload.filename) or "file"
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    types = KIND_TYPES[kind]
    if extension not in types:
        raise FileRefused.one("file_type", _l(
            "%(name)s: this type of file is not accepted (allowed: %(types)s)."),
            name=name, types=", ".join(sorted(types)))
    data = upload.stream.read(MAX_BYTES + 1)
    if not data:
        raise FileRefused.one("file_empty", _l("%(name)s is empty."), name=name)
    if len(data) > MAX_BYTES:
        raise FileRefused.one("file_too_large", _l("%(name)s is larger than %(mb)d MB."),
                              name=name, mb=MAX_BYTES // (1024 * 1024))
    content_type, looks_right = types[extension]
    if not looks_right(data[:512]):
        raise FileRefused.one("file_content", _l(
            "%(name)s does not contain what its name says (%(ext)s)."),
            name=name, ext=extension)
    return data, extension, content_type


def store(order: Order, upload: FileStorage, kind: str, actor: User,
          sample: Sample | None = None) -> OrderFile:
    """Check and write one file; the row joins the order in the caller's transaction (a
    rolled-back request leaves a stray file on disk at worst, never a row without a file)."""
    data, extension, content_type = _read(upload, kind)
    stored_name = f"{order.id}-{secrets.token_hex(16)}.{extension}"
    with open(os.path.join(folder(), stored_name), "xb") as handle:
        handle.write(data)
    original = display_name(upload.filename) or f"{kind}.{extension}"
    row = OrderFile(kind=kind, filename=original[:200], stored_name=stored_name,
                    content_type=content_type, size_bytes=len(data), uploaded_by_id=actor.id,
                    sample_id=sample.id if sample is not None else None)
    order.files.append(row)
    audit.record("order.file_uploaded", actor=actor, obj=order, kind=kind, size=len(data))
    return row


def check_all(uploads: list[FileStorage], kind: str) -> None:
    """Refuse the whole upload when any file is wrong, before anything is stored."""
    if len(uploads) > MAX_FILES:
        raise FileRefused.one("too_many_files", _l("Upload at most %(max)d files at once."),
                              max=MAX_FILES)
    problems = []
    for upload in uploads:
        try:
            _read(upload, kind)
        except FileRefused as refused:
            problems += refused.problems
        upload.stream.seek(0)
    if problems:
        raise FileRefused(problems)
