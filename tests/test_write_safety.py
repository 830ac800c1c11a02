"""Writes a user can trust: refused from other sites, never lost to a name clash, never a dead
request, a bad file reported as such (over the app in-process, with the fake embedder)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.jobs import JobStore, ProgressReporter
from api.schemas import WriteResult
from tests.support.app_clients import AUTH, KEY, PAPER, make_client

EVIL = "https://evil.example"
NOTE = {"doc_id": "note", "title": "Ward note", "text": "Sorafenib was stopped after grade 3 rash."}


def document_ids(client: TestClient) -> list[str]:
    return sorted(d["doc_id"] for d in client.get("/documents").json()["documents"])


def writes() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/documents", {"json": NOTE}),
        ("POST", "/documents", {"files": {"file": ("planted.md", b"# Planted\n\nThe maximum dose is 9 g.")}}),
        ("DELETE", "/documents/sorafenib", {}),
        ("POST", "/ingest", {"json": {}}),
        ("POST", "/ask", {"json": {"question": "What was the median PFS?"}}),
    ]


def test_writes_sent_by_a_page_of_another_origin_are_refused(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    with client:
        before = document_ids(client)
        for headers in (
            {"Origin": EVIL},
            {"Origin": "null"},  # a sandboxed frame or a file:// page
            {"Origin": "http://127.0.0.1:9999"},  # another port of this machine is another origin
            {"Sec-Fetch-Site": "cross-site"},  # a browser that names no Origin still marks it
            {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "cross-site"},
        ):
            for method, path, kwargs in writes():
                response = client.request(method, path, headers=headers, **kwargs)
                assert response.status_code == 403, (method, path, headers, response.text)
                assert response.json()["detail"].startswith("cross-site request refused: ")
                assert "RAG_CORS_ORIGINS" in response.json()["detail"]
        assert document_ids(client) == before
        # Reads stay open to any page (CORS decides whether it may see the response).
        assert client.get("/documents", headers={"Origin": EVIL}).status_code == 200
        # The service's own page, and clients that are not browsers, write as before.
        own = client.post("/documents", json=NOTE, headers={"Origin": "http://127.0.0.1"})
        assert own.status_code == 200, own.text
        same_site = {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"}
        assert client.post("/ask", json={"question": "What dose?"}, headers=same_site).status_code == 200
        assert client.delete("/documents/note").status_code == 200  # no Origin: curl, the CLI


def test_an_api_key_does_not_let_another_site_write_and_listed_origins_may(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path / "keyed", api_key=KEY)
    with client:
        refused = client.post("/documents", json=NOTE, headers={**AUTH, "Origin": EVIL})
        assert refused.status_code == 403 and "note" not in document_ids(client)
    lab = "https://lab.example"
    client, _ = make_client(tmp_path / "cors", cors_origins=[lab])
    with client:
        listed = client.post("/documents", json=NOTE, headers={"Origin": lab, "Sec-Fetch-Site": "cross-site"})
        assert listed.status_code == 200, listed.text
        assert listed.headers["access-control-allow-origin"] == lab
        assert client.post("/documents", json=PAPER, headers={"Origin": EVIL}).status_code == 403


def test_only_loopback_host_names_are_answered_on_a_loopback_address(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path / "loopback")
    with client:
        for host in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost"):
            assert client.get("/health", headers={"Host": host}).status_code == 200, host
        rebound = client.get("/documents", headers={"Host": "attacker.example:8000"})
        assert rebound.status_code == 400
        assert "RAG_ALLOWED_HOSTS" in rebound.json()["detail"]
    client, _ = make_client(tmp_path / "named", allowed_hosts=["qa.lab.example"])
    with client:
        assert client.get("/health", headers={"Host": "qa.lab.example"}).status_code == 200
        assert client.get("/health", headers={"Host": "127.0.0.1:8000"}).status_code == 400
    client, _ = make_client(tmp_path / "public", host="0.0.0.0")
    with client:
        assert client.get("/health", headers={"Host": "qa.lab.example"}).status_code == 200


def follow(client: TestClient, response: Any) -> dict[str, Any]:
    """The job of a 202 answer, polled until it ends."""
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == job["status_url"] == f"/jobs/{job['job_id']}"
    deadline = time.monotonic() + 30
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(job["status_url"]).json()
    return dict(job)


def test_a_write_that_takes_longer_than_the_wait_is_a_job_to_poll(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path, write_wait_s=0)
    with client:
        job = follow(
            client, client.post("/documents", files={"file": ("trial.md", b"# Trial\n\nPFS 5 months.")})
        )
        assert job["state"] == "done" and job["kind"] == "upload" and job["files"] == ["trial.md"]
        assert job["result"]["added"] == ["uploads--trial"] and job["result"]["generation"] >= 2
        assert job["progress"] is None and job["error"] is None
        assert "uploads--trial" in document_ids(client)
        assert (tmp_path / "corpus" / "uploads" / "trial.md").is_file()
        # A job that fails says why, with the status the request would have had.
        taken = follow(client, client.post("/documents", json={**PAPER, "doc_id": "sorafenib"}))
        assert taken["state"] == "failed" and taken["error"]["status"] == 409
        assert "already belongs to" in taken["error"]["detail"]
        ingest = follow(client, client.post("/ingest", json={}))
        assert ingest["kind"] == "ingest" and ingest["state"] == "done"
        assert ingest["result"]["unchanged"] == 2 and len(ingest["result"]["files"]) == 2
        for unknown in ("0" * 32, "not-a-job", ".." + job["job_id"]):
            missing = client.get(f"/jobs/{unknown}")
            assert missing.status_code == 404 and "no job" in missing.json()["detail"]
        assert client.get("/jobs/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_a_job_whose_process_died_reads_as_failed(tmp_path: Path) -> None:
    client, pipeline = make_client(tmp_path, write_wait_s=0)
    with client:
        job = follow(client, client.post("/documents", json=NOTE))
        record = pipeline.settings.jobs_dir / f"{job['job_id']}.json"
        stale = {**json.loads(record.read_text()), "state": "running", "pid": _exited_pid()}
        record.write_text(json.dumps(stale))
        failed = client.get(job["status_url"]).json()
        assert failed["state"] == "failed" and failed["error"]["status"] == 500
        assert "stopped before it finished" in failed["error"]["detail"]


def _exited_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_uploads_whose_names_slug_alike_stay_apart(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    uploads = tmp_path / "corpus" / "uploads"
    notes = {
        "研究.md": "Sorafenib was given at 400 mg twice daily in the first study.",
        "論文.md": "Regorafenib improved overall survival in the second study.",
        "a b.md": "Hand-foot skin reaction was seen in thirty percent of patients.",
        "a-b.md": "Diarrhoea was the most common adverse event of all grades.",
    }
    with client:
        added: list[str] = []
        for name, text in notes.items():
            response = client.post("/documents", files={"file": (name, f"# {name}\n\n{text}".encode())})
            assert response.status_code == 200, response.text
            assert response.json()["updated"] == [] and len(response.json()["added"]) == 1, name
            added += response.json()["added"]
        assert len(set(added)) == 4 and set(added) <= set(document_ids(client))
        assert "uploads--a-b" in added  # a name that is already safe keeps its id
        assert len(list(uploads.iterdir())) == 4
        # The same name again replaces its own document, and only it.
        again = client.post("/documents", files={"file": ("研究.md", b"# Revised\n\nThe dose was 200 mg.")})
        assert again.json()["updated"] == [added[0]] and again.json()["removed"] == []
        assert set(added) <= set(document_ids(client)) and len(list(uploads.iterdir())) == 4


def test_a_file_nested_too_deeply_is_a_422_and_nothing_is_kept(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    uploads = tmp_path / "corpus" / "uploads"
    hostile = {
        "deep.jsonl": b"[" * 100_000 + b"]" * 100_000 + b"\n",
        "deep.md": b"---\nx: " + b"[" * 100_000 + b"]" * 100_000 + b"\n---\nText.\n",
        "deep.html": b"<html><body>"
        + b"<div>" * 100_000
        + b"Text."
        + b"</div>" * 100_000
        + b"</body></html>",
    }
    with client:
        for name, data in hostile.items():
            response = client.post("/documents", files={"file": (name, data)})
            if response.status_code == 202:  # parsing took longer than the wait (a busy machine)
                error = follow(client, response)["error"]
                status, detail = error["status"], error["detail"]
            else:
                status, detail = response.status_code, response.json()["detail"]
            assert status == 422 and "deep" in detail and "nest" in detail, (name, detail)
        assert not uploads.exists() or list(uploads.iterdir()) == []
        fine = client.post("/documents", files={"file": ("fine.md", b"# Fine\n\nThe PFS was 5.5 months.")})
        assert fine.status_code == 200 and fine.json()["added"] == ["uploads--fine"]


def test_server_side_ingest_of_a_path_removes_nothing_else(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    corpus = tmp_path / "corpus"
    (corpus / "trials").mkdir()
    for name in ("one", "two"):
        (corpus / "trials" / f"{name}.md").write_text(
            f"# Trial {name}\n\nTrial {name} enrolled {len(name)}0 patients."
        )
    with client:
        assert client.post("/ingest", json={}).json()["added"] == ["trials--one", "trials--two"]
        (corpus / "sorafenib.md").unlink()
        (corpus / "trials" / "two.md").unlink()
        (corpus / "trials" / "three.md").write_text("# Trial three\n\nTrial three used axitinib.")
        one_path = client.post("/ingest", json={"paths": ["trials/three.md"]}).json()
        assert one_path["added"] == ["trials--three"] and one_path["removed"] == []
        kept = client.post("/ingest", json={"paths": ["trials"]}).json()
        assert kept["removed"] == []  # files under the path are gone, but prune was not asked for
        pruned = client.post("/ingest", json={"paths": ["trials"], "prune": True}).json()
        assert pruned["removed"] == ["trials--two"]  # under the path only: sorafenib stays
        assert "sorafenib" in document_ids(client)
        whole = client.post("/ingest", json={}).json()  # the whole corpus prunes by default
        assert whole["removed"] == ["sorafenib"]
        assert document_ids(client) == ["trials--one", "trials--three"]


def test_models_lists_only_what_can_answer_and_bad_json_names_the_body(tmp_path: Path) -> None:
    client, _ = make_client(tmp_path)
    with client:
        names = [m["id"] for m in client.get("/v1/models").json()["data"]]
        assert names == ["cited-rag", "cited-rag-extractive"]  # no generative model configured
        truncated = client.post(
            "/ask", content=b'{"question": "What was the PFS', headers={"Content-Type": "application/json"}
        )
        assert truncated.status_code == 422
        (error,) = truncated.json()["errors"]
        assert error["field"] == "body" and error["message"].startswith("not valid JSON at character ")


def test_an_orderly_shutdown_stops_a_running_job_at_its_next_step(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs")
    steps: list[int] = []

    def work(progress: ProgressReporter) -> WriteResult:
        advance = progress("chunks", 1000)
        for _ in range(1000):
            time.sleep(0.01)
            advance(1)
            steps.append(1)
        raise AssertionError("not stopped")

    job, future = store.start("upload", ["big.txt"], work)
    while not steps:
        time.sleep(0.01)
    store.shutdown()
    assert future.exception() is not None and len(steps) < 1000
    failed = store.read(job.job_id)
    assert failed.state == "failed" and failed.error is not None and failed.error.status == 503
    assert failed.error.detail.startswith("the server stopped before this job finished")
