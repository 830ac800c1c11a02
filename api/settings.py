"""The HTTP service's own settings, on top of the library's: where it listens, how many worker
processes, who may call it, how much they may send. The same RAG_ environment variables and
.env file as the library's."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from api.logs import LogFormat
from rag.settings import Settings

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
MAX_AUTO_WORKERS = 4  # each worker holds its own model and index readers (~300 MB)


class ServerSettings(Settings):
    """Every library setting, plus the server's. Unknown RAG_ names in a .env file are refused here."""

    model_config = SettingsConfigDict(**{**Settings.model_config, "extra": "forbid"})

    @classmethod
    def of(cls, settings: Settings | None) -> ServerSettings:
        """These settings: given, or the library's settings given (tests, an embedding program)
        with the server's read from the environment, or all from the environment."""
        if isinstance(settings, ServerSettings):
            return settings
        return cls() if settings is None else cls(**settings.model_dump())

    host: str = Field(default="127.0.0.1", description="Address `rag serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `rag serve` listens on.")
    workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Server processes, each with its own model and index readers; 0: one per core, "
        "at most 4. Writes from any of them go through the index's single-writer lock.",
    )
    corpus_roots: list[Path] = Field(
        default_factory=list,
        description="The only directories server-side ingestion (POST /ingest) may read. "
        "Empty: the corpus directory alone.",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="When set, requests that change the index, and GET /metrics, need "
        "`Authorization: Bearer <key>`.",
    )
    auth_reads: bool = Field(
        default=False,
        description="Require the API key on every endpoint except /health and the web page's files.",
    )
    cors_origins: list[str] = Field(
        default_factory=list,
        description='Origins allowed to call the API from a browser (JSON list, e.g. ["https://x.org"]). '
        "Empty: CORS is off.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description='Host names the service answers to (JSON list; ["*"]: any). Empty: the loopback '
        "names when it binds to a loopback address (a defence against DNS rebinding), else any.",
    )
    max_upload_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest request body (and uploaded file)."
    )
    log_format: LogFormat = Field(
        default="text",
        description="`text`: uvicorn's lines; `json`: one JSON object per log record (time, level, "
        "logger, message, request_id, pid; access lines add client, method, path, status).",
    )
    write_wait_s: float = Field(
        default=5.0,
        ge=0.0,
        le=60.0,
        description="How long an upload or POST /ingest waits for its result before answering "
        "202 with a job to poll (GET /jobs/{id}).",
    )

    @property
    def worker_count(self) -> int:
        return self.workers or min(os.cpu_count() or 1, MAX_AUTO_WORKERS)

    @property
    def worker_threads(self) -> int:
        """Model threads per server worker: the cores divided among the workers, unless set."""
        return self.embedding.threads or max(1, (os.cpu_count() or 1) // self.worker_count)

    @property
    def trusted_hosts(self) -> list[str]:
        if self.allowed_hosts:
            return self.allowed_hosts
        return list(dict.fromkeys([*LOOPBACK_NAMES, self.host])) if _is_loopback(self.host) else ["*"]

    @property
    def jobs_dir(self) -> Path:
        return self.index_dir / "jobs"

    @property
    def ingest_roots(self) -> list[Path]:
        return self.corpus_roots or [self.corpus_dir]


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name
        return False
