"""What a client of the API does with a write answered 202: follow its job to the end."""

from __future__ import annotations

import time
from typing import Any

import httpx


def settled(
    client: httpx.Client, response: httpx.Response, timeout_s: float = 300
) -> tuple[int, dict[str, Any]]:
    """(status, body) of a write: as answered, or for a 202, as its job ended (the status the
    request would have had: 200 when done, the error's status when failed)."""
    if response.status_code != 202:
        return response.status_code, response.json()
    location = response.headers["location"]
    assert location == response.json()["status_url"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(location).json()
        if job["state"] == "done":
            return 200, job["result"]
        if job["state"] == "failed":
            return job["error"]["status"], {"detail": job["error"]["detail"]}
        time.sleep(0.2)
    raise AssertionError(f"the job at {location} did not end within {timeout_s} s")
