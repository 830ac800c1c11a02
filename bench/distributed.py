"""Distributed ingestion throughput: `rag ingest --engine ray` with 1 and 2 embedding actors,
side by side with the single-process `rag ingest`, on the same corpus in one run.

The corpus is PubMedQA's abstracts (200 in quick mode, all 1,000 otherwise; the seed corpus
when ../shared is absent). Each run builds a fresh index. Ray is started once, before the
runs (its start-up is reported apart); each Ray run includes starting its actor pools and
loading the model in every actor, as a real run does. Needs the `distributed` extra.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import pubmedqa
from rag.embed import load_embedder
from rag.evaluation.pubmedqa import load_dataset, write_corpus
from rag.settings import Settings

QUICK_DOCUMENTS = 200


def run(settings: Settings, *, quick: bool) -> dict[str, Any]:
    if importlib.util.find_spec("ray") is None:
        return {"skipped": "Ray is not installed (pip install '.[distributed]')"}
    from rag.ingest.distributed import start_ray
    from rag.pipeline import Pipeline

    embedder = load_embedder(settings.embedding, settings.model_cache_dir)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus, source = _corpus(settings, Path(tmp), quick=quick)
        clock = time.perf_counter()
        ray = start_ray(settings.ray)
        ray_start_s = time.perf_counter() - clock
        cpus = int(ray.cluster_resources().get("CPU", 0))
        for engine, actors in (("local", 0), ("ray", 1), ("ray", 2)):
            ray_settings = settings.ray.model_copy(update={"actors": max(actors, 1)})
            run_settings = settings.model_copy(
                update={
                    "corpus_dir": corpus,
                    "index_dir": Path(tmp) / f"index-{engine}-{actors}",
                    "ray": ray_settings,
                }
            )
            pipeline = Pipeline(run_settings, embedder, None)
            clock = time.perf_counter()
            result = pipeline.ingest(engine="ray" if engine == "ray" else "local")
            seconds = time.perf_counter() - clock
            report = result.report
            runs.append(
                {
                    "engine": engine,
                    "actors": actors,
                    "seconds": seconds,
                    "documents": len(report.added),
                    "chunks": report.chunks_added,
                    "texts_embedded": report.texts_embedded,
                    "documents_per_s": len(report.added) / seconds,
                    "texts_per_s": report.texts_embedded / seconds,
                    "stages_s": dict(report.timings_s),
                }
            )
            pipeline.close()
    ray.shutdown()
    local = runs[0]
    one, two = runs[1], runs[2]
    return {
        "corpus": source,
        "cluster_cpus": cpus,
        "ray_start_s": ray_start_s,
        "runs": runs,
        "ratios": {
            "two_actors_vs_one": one["seconds"] / two["seconds"],
            "two_actors_vs_single_process": local["seconds"] / two["seconds"],
            "one_actor_vs_single_process": local["seconds"] / one["seconds"],
        },
    }


def _corpus(settings: Settings, root: Path, *, quick: bool) -> tuple[Path, str]:
    if not pubmedqa.DEFAULT_DATA.is_file():
        return settings.corpus_dir, f"{settings.corpus_dir} (PubMedQA data not found)"
    records = list(load_dataset(pubmedqa.DEFAULT_DATA).records.values())
    if quick:
        records = records[:QUICK_DOCUMENTS]
    return write_corpus(records, root / "corpus"), f"PubMedQA abstracts ({len(records)})"


def to_markdown(result: dict[str, Any]) -> str:
    if "skipped" in result:
        return f"## Distributed ingestion (Ray)\n\nSkipped: {result['skipped']}.\n\n"
    lines = [
        "## Distributed ingestion (Ray)\n",
        f"{result['corpus']}, a local Ray instance with {result['cluster_cpus']} CPUs (started once, "
        f"{result['ray_start_s']:.1f} s, not counted below). Each run builds a fresh index; a Ray run "
        "includes starting its actors and loading the model in each.\n",
        "| engine | actors | seconds | documents/s | texts embedded/s | speed vs single process |",
        "|---|---|---|---|---|---|",
    ]
    local = result["runs"][0]["seconds"]
    for run in result["runs"]:
        actors = run["actors"] or "-"
        lines.append(
            f"| {run['engine']} | {actors} | {run['seconds']:.1f} | {run['documents_per_s']:.1f} | "
            f"{run['texts_per_s']:.0f} | {local / run['seconds']:.2f}x |"
        )
    ratios = result["ratios"]
    lines.append(f"\n2 actors vs 1: {ratios['two_actors_vs_one']:.2f}x.\n")
    return "\n".join(lines) + "\n"
