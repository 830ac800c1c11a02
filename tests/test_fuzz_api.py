"""Fuzz the HTTP API against its own OpenAPI schema (schemathesis, in-process over ASGI).

Every operation gets generated requests, valid ones and (negative mode) invalid ones. Every
response must be free of server errors, with a documented status code, a documented content
type and a body that matches the documented schema. A fake embedder keeps it fast; the index
and the corpus (uploads included) live in a temporary directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import CheckFunction, not_a_server_error
from schemathesis.python.asgi import Receive, Scope, Send, get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp

from api.app import create_app
from api.settings import ServerSettings
from rag.pipeline import Pipeline
from rag.testing import FakeEmbedder

CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
DOCS = {
    "sorafenib": (
        "Sorafenib in advanced kidney cancer",
        "Sorafenib was given at 400 mg twice daily. The median PFS was 5.5 months.\n\n"
        "Hand-foot skin reaction occurred in 30% of patients. Diarrhoea was common.",
    ),
    "regorafenib": (
        "Regorafenib after sorafenib in liver cancer",
        "Regorafenib improved overall survival. The hazard ratio was 0.63 (95% CI 0.50-0.79).\n"
        "Median overall survival was 10.6 months versus 7.8 months with placebo.",
    ),
    "fever": (
        "Fever and outcome during immunotherapy",
        "Fever within two weeks predicted a better outcome. Of 120 patients, 42 had fever.",
    ),
    "psoriasis": (
        "Psoriasis remission on a kinase inhibitor",
        "Psoriasis went into remission during sorafenib treatment. The PASI score fell by 75%.",
    ),
}
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,  # nothing written into the (shared) working tree
    derandomize=True,  # the same requests on every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)


def make_settings(root: Path) -> ServerSettings:
    # Explicit: no API key, no CORS, whatever the environment or a .env file says.
    return ServerSettings(
        corpus_dir=root / "corpus",
        index_dir=root / "index",
        api_key=None,
        auth_reads=False,
        cors_origins=[],
        allowed_hosts=["testserver"],  # the in-process client's host name
        max_upload_bytes=256 * 1024,
        write_lock_timeout_s=5.0,
    )


# The schema is the one the app serves; an app built without a pipeline loads nothing.
schema = schemathesis.openapi.from_dict(create_app(make_settings(Path("unused"))).openapi())
UPLOAD = schema["/documents"]["POST"]


class ServerErrorsAsResponses:
    """What a real server does: the client gets the 500 and the traceback goes to the log.

    Starlette re-raises an unhandled exception after sending the 500; in-process that would
    abort the test with the exception instead of reporting the request that caused it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(dict(message))

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if scope["type"] != "http" or not started:
                raise


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerErrorsAsResponses]:
    root = tmp_path_factory.mktemp("fuzz")
    corpus = root / "corpus"
    corpus.mkdir()
    for doc_id, (title, text) in DOCS.items():
        (corpus / f"{doc_id}.md").write_text(f"---\ntitle: {title}\n---\n{text}\n", encoding="utf-8")
    config = make_settings(root)
    pipeline = Pipeline(config, FakeEmbedder(), None)
    pipeline.ingest()
    application: FastAPI = create_app(config, pipeline)
    yield ServerErrorsAsResponses(application)
    pipeline.close()


@schema.parametrize()
@FUZZ
def test_api_conforms_to_its_schema(case: Case[Any], app: ServerErrorsAsResponses) -> None:
    """No 5xx; status code, content type and body as documented, for generated requests."""
    case.call_and_validate(app=app, checks=CHECKS)


# --- inputs the fuzzer found, kept as fixed cases ------------------------------------------
# Each one failed when this file was written; they stay here so that the failure does not
# depend on what the generator happens to produce first.

FOUND: list[tuple[str, str, dict[str, Any]]] = [
    # 422 bodies are {"detail": "<text>", "errors": [...]}; the schema says HTTPValidationError.
    ("POST", "/ask", {"body": {}}),
    ("POST", "/search", {"body": {"query": " "}}),
    ("GET", "/documents", {"query": {"offset": -1}}),
    # Deleting an unknown document answers 404, which the operation does not document.
    ("DELETE", "/documents/{doc_id}", {"path_parameters": {"doc_id": "no-such-document"}}),
    # A path component longer than the file system allows: OSError (ENAMETOOLONG) -> 500.
    ("POST", "/ingest", {"body": {"paths": ["a" * 300]}}),
]


@pytest.mark.parametrize(
    ("method", "path", "parts"), FOUND, ids=[f"{m} {p} {json.dumps(k)[:40]}" for m, p, k in FOUND]
)
def test_found_inputs_conform(
    app: ServerErrorsAsResponses, method: str, path: str, parts: dict[str, Any]
) -> None:
    case = schema[path][method].Case(**parts)
    case.call_and_validate(app=app, checks=CHECKS)


RAW_BODIES = [
    # Not UTF-8: FastAPI answers 400 "There was an error parsing the body", undocumented.
    ("/ask", "application/json", b"\xff"),
    ("/search", "application/json", b"\xff"),
    ("/ingest", "application/json", b"\xff"),
    # A broken multipart body: Starlette answers 400 "Invalid multipart data.", undocumented.
    ("/documents", "multipart/form-data; boundary=b", b"--b\r\nNone--b--\r\n"),
]


@pytest.mark.parametrize(("path", "content_type", "data"), RAW_BODIES, ids=[p for p, _, _ in RAW_BODIES])
def test_malformed_bodies_get_documented_answers(
    app: ServerErrorsAsResponses, path: str, content_type: str, data: bytes
) -> None:
    with get_client(app) as client:
        response = client.post(path, data=data, headers={"Content-Type": content_type})
    media_type = content_type.partition(";")[0]
    schema[path]["POST"].Case(media_type=media_type, body=data).validate_response(response, checks=CHECKS)


FOUND_UPLOADS = [
    # \uXXXX escapes decode to lone surrogates (YAML even splits a valid pair, JSON keeps a lone
    # one); hashing the document as UTF-8 then raises UnicodeEncodeError -> 500.
    ("surrogate-title.md", b'---\ntitle: "\\ud83d\\ude00"\n---\nThe median PFS was 5.5 months.\n'),
    ("surrogate.jsonl", b'{"title": "\\ud83d", "text": "The median PFS was 5.5 months."}\n'),
]


@pytest.mark.parametrize(("name", "data"), FOUND_UPLOADS, ids=[n for n, _ in FOUND_UPLOADS])
def test_found_uploads_conform(app: ServerErrorsAsResponses, name: str, data: bytes) -> None:
    with get_client(app) as client:
        response = client.post("/documents", files=[("file", (name, data))])
    form: dict[str, Any] = {"file": [data]}
    UPLOAD.Case(media_type="multipart/form-data", body=form).validate_response(response, checks=CHECKS)


# --- uploads with file names the service reads -------------------------------------------
# Generated multipart parts are named "file" or "file.<detected type>", which the service
# refuses (415) before reading them; these have the suffixes and contents it does read.

LINE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
SENTENCE = st.builds(
    lambda words, number, end: " ".join([*words, number]) + end,
    st.lists(st.sampled_from("The median PFS was months dose patients Fever improved".split()), max_size=8),
    st.sampled_from(["5.5", "0.63", "400 mg", "30%", "α-fetoprotein", "[1]", ""]),
    st.sampled_from([".", "!", "?", "", "\r\n", "\n\n"]),
)
BODY_TEXT = st.lists(st.one_of(SENTENCE, SENTENCE, LINE), min_size=1, max_size=6).map(" ".join)


@st.composite
def upload_files(draw: st.DrawFn) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from([".md", ".md", ".txt", ".jsonl", ".markdown", ".MD", ".pdf", ""]))
    stem = draw(st.sampled_from(["paper", "paper", "../escape", "C:\\dir\\notes", ".hidden", "ünï cödé"]))
    text = draw(BODY_TEXT)
    kinds = ["plain", "plain", "front-matter", "front-matter", "jsonl", "bad-yaml", "latin-1"]
    kind = draw(st.sampled_from(kinds))
    if kind == "front-matter":
        title = draw(st.one_of(LINE, st.just("A title")))
        doc_id = draw(st.sampled_from(["fuzz-doc", "fuzz-doc", "sorafenib", "x:y", "bad id", "", ""]))
        front = json.dumps({"title": title, "doc_id": doc_id} if doc_id else {"title": title})
        data = f"---\n{front}\n---\n{text}\n".encode()
    elif kind == "jsonl":
        record = st.fixed_dictionaries(
            {"text": st.one_of(BODY_TEXT, st.integers())},
            optional={"title": LINE, "doc_id": st.sampled_from(["j1", "j2", "sorafenib", "fuzz-doc"])},
        )
        data = "\n".join(json.dumps(r) for r in draw(st.lists(record, max_size=3))).encode()
    elif kind == "bad-yaml":
        data = f"---\ntitle: [unclosed\n---\n{text}".encode()
    elif kind == "latin-1":
        data = f"caf\xe9 {text}".encode("latin-1", "replace")
    else:
        data = text.encode()
    return stem + suffix, data


@given(files=st.lists(upload_files(), min_size=1, max_size=3))
@FUZZ
def test_multipart_uploads_conform_to_the_schema(
    app: ServerErrorsAsResponses, files: list[tuple[str, bytes]]
) -> None:
    """Uploads, and reading and deleting what they added, answer as documented."""
    with get_client(app) as client:
        response = client.post("/documents", files=[("file", (name, data)) for name, data in files])
        form: dict[str, Any] = {"file": [data for _, data in files]}
        UPLOAD.Case(media_type="multipart/form-data", body=form).validate_response(response, checks=CHECKS)
        assert response.status_code in {200, 409, 415, 422}, response.text
        if response.status_code != 200:
            return
        written = response.json()
        # Read back, then delete, what the upload wrote: the next example starts from the corpus.
        for doc_id in written["added"] + written["updated"]:
            for method, expected in (("GET", {200}), ("DELETE", {200, 409}), ("GET", {200, 404})):
                reply = client.request(method, f"/documents/{doc_id}")
                case = schema["/documents/{doc_id}"][method].Case(path_parameters={"doc_id": doc_id})
                case.validate_response(reply, checks=CHECKS)
                assert reply.status_code in expected, (method, doc_id, reply.text)
