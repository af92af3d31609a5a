"""The batch page for sales ops: upload a prospect list, see the mapping, run, download.

The upload is parsed as it arrives (python-multipart's streaming parser) and the
file's bytes go straight to disk in the job's folder, so a 50 MB sheet never sits
in memory; the body is bounded by security.UPLOAD_LIMIT (413 past it).
"""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException

from ..i18n import tr
from .batch_jobs import FORMATS, Job, extension
from .pages import check_csrf, page, request_lang, require_login, see_other, web
from .security import CSRF_FIELD

router = APIRouter(dependencies=[Depends(require_login)])
FIELD_LIMIT = 4096


class _Upload:
    """Callbacks of the streaming parser: small fields kept, the file written to `target` as it comes."""

    def __init__(self, target_for) -> None:
        self.target_for = target_for
        self.fields: dict[str, str] = {}
        self.headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._name: str | None = None
        self._file = None
        self._buffer = bytearray()
        self.filename: str | None = None
        self.path: Path | None = None
        self.size = 0

    def on_part_begin(self) -> None:
        self.headers, self._name, self._buffer = {}, None, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def on_headers_finished(self) -> None:
        _disp, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in params and self._name == "file" and self._file is None:
            self.filename = params[b"filename"].decode("utf-8", "replace")
            self.path = self.target_for(self.filename)
            self._file = open(self.path, "wb") if self.path is not None else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._name == "file" and self._file is not None:
            self._file.write(data[start:end])
            self.size += end - start
        elif self._name != "file" and len(self._buffer) < FIELD_LIMIT:
            self._buffer += data[start:end]

    def on_part_end(self) -> None:
        if self._name == "file" and self._file is not None:
            self._file.close()
            self._file = None
        elif self._name:
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


@router.get("/batch")
def batch_form(request: Request) -> Response:
    return page(request, "batch.html", problem=None)


@router.post("/batch")
async def upload(request: Request) -> Response:
    lang = request_lang(request)
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        return page(request, "batch.html", status=422, problem=tr(lang, "Choose a file first."))
    jobs = web(request).batches
    job: dict[str, Job] = {}

    def target_for(filename: str) -> Path | None:
        fmt = extension(filename)
        if fmt is None:
            return None
        job["job"] = jobs.new(fmt, lang)
        return job["job"].input

    sink = _Upload(target_for)
    callbacks = {name: getattr(sink, name) for name in (
        "on_part_begin", "on_header_field", "on_header_value", "on_header_end", "on_headers_finished",
        "on_part_data", "on_part_end")}
    parser = MultipartParser(boundary, callbacks)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    finally:
        sink.close()
    made = job.get("job")
    try:
        check_csrf(request, sink.fields.get(CSRF_FIELD))
    except Exception:
        if made is not None:
            _discard(made)
            jobs.forget(made)
        raise
    if made is None or not sink.size:
        if made is not None:
            _discard(made)
            jobs.forget(made)
        message = (tr(lang, "Choose a file first.") if not sink.filename else
                   tr(lang, "This page reads CSV, XLSX or JSONL files (.csv, .xlsx, .jsonl)."))
        return page(request, "batch.html", status=422, problem=message)
    await run_in_threadpool(jobs.explain, made)
    if made.mapping_ok:
        jobs.start(made)  # the mapping is shown beside the run: a sheet nothing maps to does not run
    return see_other(f"/batch/{made.id}")


def _discard(job: Job) -> None:
    for f in job.folder.iterdir():
        f.unlink()
    job.folder.rmdir()


def _job(request: Request, job_id: str) -> Job:
    job = web(request).batches.get(job_id)
    if job is None:
        raise HTTPException(404)
    return job


@router.get("/batch/{job_id}")
def show(request: Request, job_id: str) -> Response:
    job = _job(request, job_id)
    return page(request, "batch_job.html", job=job, formats=FORMATS)


@router.get("/batch/{job_id}/result")
def result(request: Request, job_id: str) -> Response:
    job = _job(request, job_id)
    if job.state != "done" or not job.result.exists():
        raise HTTPException(404)
    return FileResponse(job.result, filename=f"zhike-result.{job.fmt}")


@router.get("/batch/{job_id}/rejects")
def rejects(request: Request, job_id: str) -> Response:
    job = _job(request, job_id)
    if job.state != "done" or not job.has_rejects:
        raise HTTPException(404)
    return FileResponse(job.rejects, filename=f"zhike-rejects.{job.fmt}")

