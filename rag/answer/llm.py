"""A local transformers model that writes answers: loaded from disk, bounded, streamable.

Nothing is downloaded and no code from the model directory runs (`trust_remote_code=False`);
the weights (safetensors, or a GGUF file) are checked first (`rag.answer.llm_files`).
Generation is greedy, limited in new tokens and in seconds, can be cancelled between tokens,
and streams its text as it is produced. One generation runs at a time per process: on a CPU,
two at once only take turns on the same cores.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from rag.answer.llm_files import generative_weights
from rag.errors import ModelError
from rag.settings import GenerationSettings

log = logging.getLogger(__name__)
Stop = Literal["end", "length", "time", "cancelled"]


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user"]
    content: str


@dataclass(frozen=True)
class Generated:
    text: str
    new_tokens: int
    stopped: Stop
    seconds: float


class LanguageModel(Protocol):
    """What the generative composer needs from a model."""

    @property
    def model_id(self) -> str: ...

    def count_tokens(self, text: str) -> int: ...

    def generate(
        self,
        messages: Sequence[Message],
        *,
        on_text: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Generated: ...


class TransformersLanguageModel:
    """A causal LM (GPT-2, Llama, Qwen, Phi, Mistral, ...) or a seq2seq model (T5, BART, ...)."""

    def __init__(self, model: Any, tokenizer: Any, settings: GenerationSettings, model_id: str) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._settings = settings
        self._model_id = model_id
        self._seq2seq = bool(getattr(model.config, "is_encoder_decoder", False))
        self._lock = threading.Lock()

    @classmethod
    def load(cls, settings: GenerationSettings) -> TransformersLanguageModel:
        """Locate and check the configured weights (`rag.answer.llm_files`), then load them offline."""
        weights = generative_weights(settings)
        directory = str(weights.directory)
        os.environ["HF_HUB_OFFLINE"] = "1"  # every file must already be on disk
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        options: dict[str, Any] = {
            "local_files_only": True,
            "trust_remote_code": False,
            "gguf_file": weights.gguf_file,  # a GGUF file holds the config, tokenizer and weights
        }
        try:
            config = AutoConfig.from_pretrained(directory, **options)
            kind = AutoModelForSeq2SeqLM if config.is_encoder_decoder else AutoModelForCausalLM
            # GGUF weights are dequantized on load; otherwise only safetensors are read.
            safetensors = {} if weights.gguf_file else {"use_safetensors": True}
            model = kind.from_pretrained(directory, config=config, **safetensors, **options).eval()
            tokenizer = AutoTokenizer.from_pretrained(directory, **options)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"cannot load the generative model {weights.model_id}: {exc}") from exc
        log.info("loaded generative model %s (sha256 %.12s)", weights.model_id, weights.sha256)
        return cls(model, tokenizer, settings, weights.model_id)

    @property
    def model_id(self) -> str:
        return self._model_id

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt_text(self, messages: Sequence[Message]) -> str:
        """The chat template where the tokenizer has one; plain text otherwise."""
        from jinja2.exceptions import TemplateError

        chat = [{"role": m.role, "content": m.content} for m in messages]
        if not getattr(self._tokenizer, "chat_template", None):
            return "\n\n".join(m.content for m in messages) + "\n"
        template = self._tokenizer.apply_chat_template
        try:
            return str(template(chat, tokenize=False, add_generation_prompt=True))
        except TemplateError as exc:  # some templates (Gemma's) refuse a system turn: fold it in
            log.debug("the chat template refused a system message (%s); folding it into the user turn", exc)
            merged = [{"role": "user", "content": "\n\n".join(m.content for m in messages)}]
            return str(template(merged, tokenize=False, add_generation_prompt=True))

    def generate(
        self,
        messages: Sequence[Message],
        *,
        on_text: Callable[[str], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> Generated:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class Cancel(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return bool(cancelled and cancelled())

        settings = self._settings
        inputs = self._tokenizer(
            self.prompt_text(messages), return_tensors="pt", add_special_tokens=self._seq2seq
        )
        streamer = TextIteratorStreamer(
            self._tokenizer,
            skip_prompt=not self._seq2seq,
            skip_special_tokens=True,
            timeout=settings.timeout_s + 30,
        )
        pad = (
            self._tokenizer.pad_token_id
            if self._tokenizer.pad_token_id is not None
            else self._tokenizer.eos_token_id
        )
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                with torch.inference_mode():
                    outcome["ids"] = self._model.generate(
                        **inputs,
                        max_new_tokens=settings.max_new_tokens,
                        max_time=settings.timeout_s,
                        do_sample=False,
                        pad_token_id=pad,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([Cancel()]),
                    )
            except BaseException as exc:  # re-raised in the calling thread below
                outcome["error"] = exc
                streamer.end()  # type: ignore[no-untyped-call]

        with self._lock:
            clock = time.perf_counter()
            worker = threading.Thread(target=run, name="rag-generate", daemon=True)
            worker.start()
            pieces = []
            for piece in streamer:
                pieces.append(piece)
                if on_text is not None and piece:
                    on_text(piece)
            worker.join()
            seconds = time.perf_counter() - clock
        if "error" in outcome:
            raise ModelError(f"generation failed: {outcome['error']}") from outcome["error"]
        produced = outcome["ids"][0]
        new_tokens = len(produced) - (1 if self._seq2seq else inputs["input_ids"].shape[1])
        stopped: Stop = "end"
        if cancelled and cancelled():
            stopped = "cancelled"
        elif new_tokens >= settings.max_new_tokens:
            stopped = "length"
        elif seconds >= settings.timeout_s:
            stopped = "time"
        return Generated("".join(pieces), new_tokens, stopped, seconds)
