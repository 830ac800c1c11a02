"""Tiny transformers models made on the spot for the generative tests: nothing is downloaded.

A byte-level BPE tokenizer is trained on the corpus with the `tokenizers` library; models are
GPT-2 or T5 configurations with a few thousand parameters, saved as safetensors. A random one
writes gibberish; `trained_causal_model` is taught, in a few hundred optimizer steps, to answer
any prompt with one fixed text, so tests can follow a known answer through the real code path.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SPECIAL = ["<pad>", "<s>", "</s>", "<unk>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<s>assistant:{% endif %}"
)


def tokenizer(texts: Sequence[str], *, chat: bool = False) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1500, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=bpe, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    if chat:
        wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def causal_model(directory: Path, texts: Sequence[str], *, chat: bool = False, seed: int = 0) -> Path:
    """A random 2-layer GPT-2 and its tokenizer, saved in `directory`."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = tokenizer(texts, chat=chat)
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=2048,
        n_embd=48,
        n_layer=2,
        n_head=2,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def seq2seq_model(directory: Path, texts: Sequence[str], *, seed: int = 0) -> Path:
    """A random 2-layer T5 and its tokenizer, saved in `directory`."""
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tok = tokenizer(texts)
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=len(tok),
        d_model=32,
        d_kv=16,
        d_ff=64,
        num_layers=2,
        num_heads=2,
        decoder_start_token_id=tok.pad_token_id,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
    )
    T5ForConditionalGeneration(config).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


def trained_causal_model(
    directory: Path, base: Path, answer: str, prompts: Sequence[str], *, steps: int = 150
) -> Path:
    """The model in `base`, taught to follow each of `prompts` (and random text) with `answer`."""
    import torch
    from transformers import AutoTokenizer, GPT2LMHeadModel

    tok = AutoTokenizer.from_pretrained(base)
    model = GPT2LMHeadModel.from_pretrained(base)
    target = tok(answer, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    pool = [tok(p, add_special_tokens=False)["input_ids"] for p in prompts]
    filler = tok(" ".join(prompts) or answer, add_special_tokens=False)["input_ids"]
    rng = random.Random(0)
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        batch = []
        for _ in range(4):
            if pool and rng.random() < 0.75:
                prefix = rng.choice(pool)
            else:
                start = rng.randrange(0, max(1, len(filler) - 200))
                prefix = filler[start : start + rng.randrange(10, 200)]
            batch.append(prefix)
        length = max(len(p) for p in batch) + len(target)
        ids = torch.full((len(batch), length), tok.pad_token_id)
        labels = torch.full((len(batch), length), -100)
        mask = torch.zeros((len(batch), length), dtype=torch.long)
        for row, prefix in enumerate(batch):
            sequence = prefix + target
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
            labels[row, len(prefix) : len(sequence)] = torch.tensor(target)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory
