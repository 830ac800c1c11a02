"""Local export of the embedding model for ONNX Runtime and OpenVINO, cached by the weights' hash.

Nothing is downloaded: the transformer is loaded from the verified safetensors weights with
transformers, traced to ONNX with torch, then optionally fused for ONNX Runtime (attention,
layer norm and GELU as single kernels), quantized to int8, or converted to OpenVINO IR.

Cache layout (`RAG_EMBEDDING__EXPORT_DIR`, default `index/models/`):
    <first 16 hex of the weights SHA-256>/
        exports.json        source weights SHA-256, and per variant its files' sizes and SHA-256
        onnx-fp32.onnx  onnx-int8.onnx  openvino-fp32.xml/.bin  openvino-int8.xml/.bin
        LOCK                held while exporting, so two processes never export at once
An exported file whose checksum no longer matches the record is exported again; a record made
for other weights is never used.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from rag.durable import fsync_dir, sha256_file, write_atomic, writer_lock
from rag.embed.model_files import ModelLayout
from rag.errors import ModelError

log = logging.getLogger(__name__)
RECORD_FILE = "exports.json"
EXPORT_LOCK_TIMEOUT_S = 900.0
OPSET = 17
VARIANT_FILES = {
    ("onnx", "fp32"): ("onnx-fp32.onnx",),
    ("onnx", "int8"): ("onnx-int8.onnx",),
    ("openvino", "fp32"): ("openvino-fp32.xml", "openvino-fp32.bin"),
    ("openvino", "int8"): ("openvino-int8.xml", "openvino-int8.bin"),
}
TOOLS = ("torch", "transformers", "onnx", "onnxruntime", "openvino", "nncf")


@dataclass(frozen=True)
class ExportRequest:
    layout: ModelLayout
    weights_sha256: str
    backend: str
    precision: str
    cache_root: Path

    @property
    def directory(self) -> Path:
        return self.cache_root / self.weights_sha256[:16]

    @property
    def files(self) -> tuple[str, ...]:
        return VARIANT_FILES[(self.backend, self.precision)]


def exported_model(request: ExportRequest) -> Path:
    """The path of the exported model file for `request`, exporting it first if needed."""
    found = _verified(request)
    if found is not None:
        return found
    request.directory.mkdir(parents=True, exist_ok=True)
    with writer_lock(request.directory / "LOCK", EXPORT_LOCK_TIMEOUT_S):
        found = _verified(request)  # another process may have exported it while we waited
        if found is not None:
            return found
        clock = time.perf_counter()
        _export(request)
        log.info(
            "exported %s %s model to %s in %.1f s",
            request.backend,
            request.precision,
            request.directory,
            time.perf_counter() - clock,
        )
    return request.directory / request.files[0]


def _verified(request: ExportRequest) -> Path | None:
    record = _read_record(request.directory)
    if record.get("source_sha256") != request.weights_sha256:
        return None
    entry = record.get("variants", {}).get(request.files[0])
    if not isinstance(entry, dict):
        return None
    for name in request.files:
        path = request.directory / name
        expected = entry.get("files", {}).get(name, {})
        if not path.is_file() or path.stat().st_size != expected.get("bytes"):
            log.warning("%s is missing or has the wrong size; exporting it again", path)
            return None
        if sha256_file(path) != expected.get("sha256"):
            log.warning("%s does not match its recorded SHA-256; exporting it again", path)
            return None
    return request.directory / request.files[0]


def _read_record(directory: Path) -> dict[str, Any]:
    path = directory / RECORD_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        log.warning("%s is unreadable; exporting again", path)
        return {}
    return data if isinstance(data, dict) else {}


def _export(request: ExportRequest) -> None:
    with tempfile.TemporaryDirectory(dir=request.directory, prefix=".export-") as tmp:
        work = Path(tmp)
        plain = work / "plain.onnx"
        export_onnx(request.layout, plain)
        produced = work / request.files[0]
        if request.backend == "onnx":
            fused = work / "fused.onnx"
            fuse_for_onnxruntime(plain, fused, request.layout)
            if request.precision == "int8":
                quantize_int8(fused, produced)
            else:
                fused.replace(produced)
        else:
            convert_to_openvino(plain, produced, int8=request.precision == "int8")
        files = {}
        for name in request.files:
            target = request.directory / name
            os.replace(work / name, target)
            files[name] = {"bytes": target.stat().st_size, "sha256": sha256_file(target)}
        fsync_dir(request.directory)
    record = _read_record(request.directory)
    if record.get("source_sha256") != request.weights_sha256:
        record = {"source_sha256": request.weights_sha256, "variants": {}}
    record["variants"][request.files[0]] = {
        "files": files,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tools": {name: _version(name) for name in TOOLS},
    }
    write_atomic(request.directory / RECORD_FILE, json.dumps(record, indent=2).encode())


def export_onnx(layout: ModelLayout, out: Path) -> None:
    """Trace the transformer (token vectors out, pooling left to the caller) to ONNX."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        model = AutoModel.from_pretrained(
            str(layout.transformer_dir),
            local_files_only=True,
            trust_remote_code=False,
            use_safetensors=True,
            # The explicit attention graph is what ONNX Runtime's fusion recognizes.
            attn_implementation="eager",
        ).eval()
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load {layout.transformer_dir} for export: {exc}") from exc
    inputs = ["input_ids", "attention_mask"]
    if "token_type_ids" in inspect.signature(model.forward).parameters:
        inputs.append("token_type_ids")

    class TokenVectors(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(inputs, tensors, strict=True))).last_hidden_state  # type: ignore[no-any-return]

    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in inputs)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*inputs, "token_embeddings"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python control flow
        torch.onnx.export(
            TokenVectors(),
            example,
            str(out),
            input_names=inputs,
            output_names=["token_embeddings"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


def fuse_for_onnxruntime(source: Path, out: Path, layout: ModelLayout) -> None:
    """Fuse attention, layer norms and GELU into ONNX Runtime's own kernels (1.2-1.5x on CPU)."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((layout.transformer_dir / "config.json").read_text(encoding="utf-8"))
    heads, hidden = int(config.get("num_attention_heads", 0)), int(config.get("hidden_size", 0))
    with _quiet(logging.getLogger("onnxruntime.transformers")):
        optimized = optimize_model(
            str(source), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
        )
    optimized.save_model_to_file(str(out))


def quantize_int8(source: Path, out: Path) -> None:
    """Dynamic int8 quantization of the weights (activations are quantized per call).

    Per-channel scales keep the vectors close to fp32 (cosine ≥ 0.98 on this corpus);
    reduce_range avoids the saturation of AVX2's u8×s8 multiply on CPUs without VNNI."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet(logging.getLogger()):  # its "consider pre-processing" advice goes to the root logger
        quantize_dynamic(
            str(source),
            str(out),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # for the fused kernels' outputs
        )


def convert_to_openvino(source: Path, out: Path, *, int8: bool) -> None:
    from rag.embed.runtimes import import_openvino

    ov = import_openvino()

    model = ov.convert_model(str(source))
    if int8:
        try:
            import nncf
        except ImportError as exc:
            raise ModelError(
                "OpenVINO int8 needs the nncf package",
                "pip install '.[openvino]', or set RAG_EMBEDDING__PRECISION=fp32",
            ) from exc
        # nncf reports its progress and a statistics table on stdout; rag's stdout is the user's.
        with _quiet(logging.getLogger("nncf")), contextlib.redirect_stdout(io.StringIO()):
            model = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    ov.save_model(model, str(out), compress_to_fp16=False)


@contextlib.contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
