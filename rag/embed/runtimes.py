"""Embedders that run an exported transformer with ONNX Runtime or OpenVINO.

They do what sentence-transformers does around the transformer (tokenize with the model's own
tokenizer, pool the token vectors, L2-normalize) with the `tokenizers` library and numpy, so a
query never touches PyTorch. Both runtimes release the GIL and their sessions may be called
from several threads at once; the tokenizer is configured once and never changed afterwards,
so concurrent calls need no lock either.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from rag.embed.model_files import ModelLayout
from rag.embed.weights import ModelLocation, VerifiedModel
from rag.errors import ModelError
from rag.text import fold_ligatures

if TYPE_CHECKING:
    from numpy.typing import NDArray


class TokenVectorRunner(Protocol):
    """Runs the exported transformer: token ids in, one vector per token out."""

    input_names: tuple[str, ...]

    def __call__(self, feeds: dict[str, NDArray[np.int64]]) -> NDArray[np.float32]: ...


class OnnxRuntimeRunner:
    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle pool threads would otherwise spin for a while after each call, taking the core
        # that the server's own Python work (retrieval, scoring, HTTP) needs next.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = tuple(node.name for node in self._session.get_inputs())

    def __call__(self, feeds: dict[str, NDArray[np.int64]]) -> NDArray[np.float32]:
        return self._session.run(None, feeds)[0]  # type: ignore[no-any-return]


class OpenVinoRunner:
    def __init__(self, path: Path, threads: int) -> None:
        ov = import_openvino()

        core = ov.Core()
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self._compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        self.input_names = tuple(port.get_any_name() for port in self._compiled.inputs)
        self._output = self._compiled.output(0)
        # An infer request holds its own buffers: one per calling thread.
        self._requests = threading.local()

    def __call__(self, feeds: dict[str, NDArray[np.int64]]) -> NDArray[np.float32]:
        request = getattr(self._requests, "request", None)
        if request is None:
            request = self._requests.request = self._compiled.create_infer_request()
        result = request.infer(feeds)
        return np.array(result[self._output], dtype=np.float32)


def import_openvino() -> Any:
    try:
        import openvino
    except ImportError as exc:
        raise ModelError(
            "RAG_EMBEDDING__BACKEND=openvino needs the openvino package",
            "pip install '.[openvino]', or choose the onnx backend",
        ) from exc
    return openvino


class ExportedEmbedder(VerifiedModel):
    """The Embedder over an exported model: same tokenizer, pooling and normalization as
    sentence-transformers, so chunk boundaries and vectors match the torch backend."""

    def __init__(
        self,
        runner: TokenVectorRunner,
        layout: ModelLayout,
        location: ModelLocation,
        weights_sha256: str,
        *,
        backend: str,
        precision: str,
        batch_size: int,
    ) -> None:
        from tokenizers import Tokenizer

        super().__init__(location, weights_sha256)
        self._runner = runner
        self._layout = layout
        self._batch_size = batch_size
        self.backend = backend
        self.precision = precision
        self._counter = Tokenizer.from_file(str(layout.tokenizer_file))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._encoder = Tokenizer.from_file(str(layout.tokenizer_file))
        self._encoder.enable_truncation(max_length=layout.max_seq_length)
        self._encoder.no_padding()  # batches are padded here, each to its own longest text
        self._pad_id = self._encoder.token_to_id(layout.pad_token) or 0
        self._special_tokens = len(self._counter.encode("", add_special_tokens=True).ids)
        self._dimension = int(self._embed_batch(["warm-up"]).shape[1])  # the first call is the slow one

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_seq_length(self) -> int:
        return self._layout.max_seq_length

    def count_pieces(self, text: str) -> int:
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def count_tokens(self, text: str) -> int:
        return self.count_pieces(text) + self._special_tokens

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> NDArray[np.float32]:
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        encodings = self._encoder.encode_batch([fold_ligatures(text) for text in texts])
        for rows in length_batches([len(e.ids) for e in encodings], self._batch_size):
            vectors[rows] = self._embed_encoded([encodings[i] for i in rows])
        return vectors

    def _embed_batch(self, texts: list[str]) -> NDArray[np.float32]:
        return self._embed_encoded(self._encoder.encode_batch(texts))

    def _embed_encoded(self, encodings: list[Any]) -> NDArray[np.float32]:
        longest = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), longest), self._pad_id, dtype=np.int64)
        types = np.zeros((len(encodings), longest), dtype=np.int64)
        mask = np.zeros((len(encodings), longest), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            size = len(encoding.ids)
            ids[row, :size], types[row, :size], mask[row, :size] = encoding.ids, encoding.type_ids, 1
        columns = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        tokens = self._runner({name: columns[name] for name in self._runner.input_names})
        if self._layout.pooling == "cls":
            pooled = tokens[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (tokens * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return np.ascontiguousarray(pooled / norms, dtype=np.float32)


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches, longest first, a new batch whenever a text is at most half
    as long as its batch's first: a batch costs its size times its longest text, so a question
    padded together with single words costs twice what the two batches cost apart."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        batch = batches[-1] if batches else None
        if batch is None or len(batch) >= batch_size or 2 * lengths[index] <= lengths[batch[0]]:
            batches.append([index])
        else:
            batch.append(index)
    return batches
