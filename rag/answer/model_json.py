"""Reading a learned model's JSON file (the support model, the sentence ranker): the object it
holds and its SHA-256, which names the model in every answer. No pickle: a user may hand us
the file; what is wrong with it is a ConfigurationError naming the file and how to rebuild it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.errors import ConfigurationError


def read_model_json(path: Path, what: str, rebuild: str) -> tuple[dict[str, Any], str]:
    """The JSON object at `path` and the file's SHA-256 (hex). `what` the file should be
    ("support model"), `rebuild` the command that writes one."""
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except OSError as error:
        raise ConfigurationError(f"cannot read the {what} {path}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{path} is not JSON ({error}); rebuild it with `{rebuild}`") from error
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path} is not a {what}; rebuild it with `{rebuild}`")
    return data, hashlib.sha256(raw).hexdigest()


@contextmanager
def model_fields(where: str, what: str, rebuild: str) -> Iterator[None]:
    """Reading a model's fields from its JSON object: a missing key, a wrong type or a bad value
    becomes a ConfigurationError naming `where`, what it should be and how to rebuild it."""
    try:
        yield
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigurationError(f"{where} is not a {what} ({error}); rebuild it with `{rebuild}`") from error
