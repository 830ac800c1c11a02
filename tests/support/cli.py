"""The `rag` command run as a user runs it: a subprocess, its output and its exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.conftest import CORPUS, ROOT


def rag(
    *args: str, index: Path, corpus: Path = CORPUS, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed `rag` command over `index`; `env`: more environment variables."""
    env = {**os.environ, "RAG_INDEX_DIR": str(index), "RAG_CORPUS_DIR": str(corpus), **(env or {})}
    return subprocess.run(
        [str(Path(sys.executable).with_name("rag")), *args],  # the installed command
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
