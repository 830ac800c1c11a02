"""The Markdown section of the index-scaling results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.scaling.config import (
    SPECTRUM_SAMPLE,
    TARGET_BYTES_PER_VECTOR,
    TARGET_P50_MS,
    TARGET_RECALL,
)
from bench.scaling.vectors import shown_setting
from rag.settings import VectorSettings


def to_markdown(result: dict[str, Any]) -> str:
    box = result["machine"]
    vectors = result["vectors"]
    threads = vectors["faiss_omp_threads"]
    lines = [
        "## Index scaling (synthetic embeddings and text, 10k to 1M chunks)",
        "",
        f"Machine: {box['cpu']}, {box['cores']} cores, {box['memory_gib']} GiB RAM; faiss "
        f"{box['faiss']} ({threads} OpenMP threads by default), BM25 the service's own segments. "
        "Load average "
        f"{fmt_load(box['load_average_start'])} at the start, {fmt_load(box['load_average_end'])} at "
        "the end: other work on the machine slows every latency here.",
        "",
        f"Targets: search p50 <= {TARGET_P50_MS:g} ms, recall@10 >= {TARGET_RECALL:g} against exact "
        f"search, <= {TARGET_BYTES_PER_VECTOR} bytes per vector. Latency: one query at a time through "
        f"`FaissVectorIndex.search`, k={vectors['k']} (and k={vectors['depth']}, the service's retrieval "
        f"depth), with FAISS's default {threads} OpenMP threads as the service runs (**{threads}t**) and "
        "with one (**1t**). Bytes per vector: the serialized index / N (what `vectors.faiss` holds), and "
        "the resident-memory growth of loading it back / N (allocator noise below ~100k vectors).",
        "",
        *recommendation_lines(result["recommendation"]),
        "",
        *vector_table(vectors),
        "",
        *service_table(vectors["sizes"]),
        "",
        *sweep_table(vectors["sizes"][-1], threads),
        "",
        *flat_curve_table(vectors["flat_curve"], threads),
        "",
        *compatibility_table(vectors["compatibility"]),
        "",
        *data_table(vectors["sizes"]),
        "",
        *lexical_table(result["lexical"]),
        "",
        *store_table(result["chunk_store"]),
        "",
        f"Section times: vectors {vectors['duration_s']:.0f} s, chunk store "
        f"{result['chunk_store']['duration_s']:.0f} s, BM25 {result['lexical']['duration_s']:.0f} s; "
        f"whole run {result['duration_s']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def fmt_load(load: Sequence[float]) -> str:
    return "/".join(f"{v:.1f}" for v in load)


def fmt_setting(setting: dict[str, Any]) -> str:
    return "exact" if setting["param"] is None else f"{setting['param']}={setting['value']}"


def fmt_bytes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def recommendation_lines(recommendation: dict[str, Any]) -> list[str]:
    at = recommendation["measured_at_n"]
    default = recommendation["with_default_threads"]
    return [
        f"**Recommendation** (targets checked at N={at:,}), with FAISS searching on one OpenMP thread: "
        f"exact flat search up to **{recommendation['flat_up_to']:,}** vectors"
        f"{reaches_text(recommendation)}; above that **{recommendation['above']}**.",
        *measured_text(recommendation, at),
        "",
        f"With the default {default['omp_threads']} threads, as the service runs today: flat up to "
        f"{default['flat_up_to']:,}{reaches_text(default)}; above that {default['above']}.",
        *measured_text(default, at),
    ]


def reaches_text(recommendation: dict[str, Any]) -> str:
    reaches = recommendation["flat_p50_reaches_target_near"]
    return (
        "" if reaches is None else f" (its p50 reaches {TARGET_P50_MS:g} ms near {reaches:,}, interpolated)"
    )


def measured_text(recommendation: dict[str, Any], at: int) -> list[str]:
    measured = recommendation.get("at_measured_n")
    if not measured:
        return []
    return [
        f"At N={at:,}: recall@10 {measured['recall_at_10']:.3f}, p50 {measured['p50_ms']:.2f} ms "
        f"(p95 {measured['p95_ms']:.2f} ms), {measured['bytes_per_vector']:.0f} bytes per vector "
        f"serialized ({fmt_bytes(measured['loaded_rss_bytes_per_vector'])} resident), built in "
        f"{measured['build_s']:.0f} s."
    ]


def vector_table(vectors: dict[str, Any]) -> list[str]:
    depth = vectors["depth"]
    t = f"{vectors['faiss_omp_threads']}t"
    lines = [
        "| N | index | build s | bytes/vector | resident bytes/vector | setting | recall@10 "
        f"| p50 ms {t} | p95 ms {t} | p50 ms 1t | p95 ms 1t | p50 ms k={depth} 1t | meets targets {t} / 1t |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in vectors["sizes"]:
        for entry in size["indexes"]:
            chosen = shown_setting(entry)
            depth_p50 = chosen.get("depth_p50_ms_1t")
            lines.append(
                f"| {size['n']:,} | `{entry['factory']}` | {entry['build_s']:.1f} "
                f"| {entry['bytes_per_vector']:.0f} | {fmt_bytes(entry['loaded_rss_bytes_per_vector'])} "
                f"| {fmt_setting(chosen)} | {chosen['recall_at_10']:.3f} | {times_cells(chosen)} "
                f"| {'-' if depth_p50 is None else f'{depth_p50:.2f}'} "
                f"| {yes(chosen['meets_targets'])} / {yes(chosen['meets_targets_1t'])} |"
            )
    lines += [
        "",
        f"Setting: exact, or the cheapest swept setting that reaches recall@10 >= {TARGET_RECALL:g} "
        "(the best one reached where none does). Build: HNSW add; IVF k-means training + add. "
        "Where the default-thread p50 exceeds the 1-thread one, the query waited for a second "
        "OpenMP thread on busy cores (`IndexIDMap2` translates labels in a parallel loop).",
    ]
    return lines


def service_table(sizes: Sequence[dict[str, Any]]) -> list[str]:
    """What the service's own automatic choice (`RAG_VECTORS__TYPE=auto`, defaults) builds."""
    policy = VectorSettings()
    lines = [
        "The index the service builds by itself at each size (`rag.index.layout`, default settings: flat "
        f"below {policy.ivf_threshold:,} vectors, then IVF with nlist = 4·√N and nprobe {policy.nprobe}), "
        "searched through the service's wrapper:",
        "",
        "| N | structure | build s | bytes/vector | recall@10 | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        service = size.get("service")
        if service is None:
            continue
        setting = f"`{service['factory']}`" + (f", nprobe {service['nprobe']}" if "nprobe" in service else "")
        lines.append(
            f"| {size['n']:,} | {setting} | {service['build_s']:.1f} | {service['bytes_per_vector']:.0f} "
            f"| {service['recall_at_10']:.3f} | {service['p50_ms']:.2f} | {service['p95_ms']:.2f} |"
        )
    return lines


def times_cells(row: dict[str, Any]) -> str:
    return " | ".join(f"{row[key]:.2f}" for key in ("p50_ms", "p95_ms", "p50_ms_1t", "p95_ms_1t"))


def sweep_table(size: dict[str, Any], threads: int) -> list[str]:
    t = f"{threads}t"
    lines = [
        f"Parameter sweep at N={size['n']:,}:",
        "",
        f"| index | setting | recall@10 | p50 ms {t} | p95 ms {t} | p50 ms 1t | p95 ms 1t "
        f"| meets targets {t} / 1t |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for entry in size["indexes"]:
        if entry["kind"] == "flat":
            continue
        for setting in entry["settings"]:
            lines.append(
                f"| `{entry['factory']}` | {fmt_setting(setting)} | {setting['recall_at_10']:.3f} "
                f"| {times_cells(setting)} "
                f"| {yes(setting['meets_targets'])} / {yes(setting['meets_targets_1t'])} |"
            )
    return lines


def flat_curve_table(curve: Sequence[dict[str, Any]], threads: int) -> list[str]:
    t = f"{threads}t"
    lines = [
        "Exact flat search (`IDMap2,Flat`, the service's index), one query at a time:",
        "",
        f"| N | p50 ms {t} | p95 ms {t} | p50 ms 1t | p95 ms 1t | p50 <= {TARGET_P50_MS:g} ms {t} / 1t |",
        "|---|---|---|---|---|---|",
    ]
    for point in curve:
        meets = f"{yes(point['p50_ms'] <= TARGET_P50_MS)} / {yes(point['p50_ms_1t'] <= TARGET_P50_MS)}"
        lines.append(f"| {point['n']:,} | {times_cells(point)} | {meets} |")
    return lines


def compatibility_table(compatibility: dict[str, dict[str, str]]) -> list[str]:
    lines = [
        "`FaissVectorIndex` operations, unchanged, on each index type (2,000 vectors):",
        "",
        "| index | add | search | filtered search (`allowed`) | remove |",
        "|---|---|---|---|---|",
    ]
    for kind, ops in compatibility.items():
        lines.append(
            f"| {kind} | {ops['add']} | {ops['search']} | {ops['filtered_search']} | {ops['remove']} |"
        )
    return lines


def data_table(sizes: Sequence[dict[str, Any]]) -> list[str]:
    lines = [
        "Synthetic vectors (service corpus, 115 real chunks on one topic: random pair 0.50 +- 0.15, "
        "nearest chunk 0.87, 7/25/41 components):",
        "",
        "| N | random-pair cosine | query top-1 cosine | query top-10 cosine "
        f"| components for 50/80/90 % variance (of {SPECTRUM_SAMPLE}) |",
        "|---|---|---|---|---|",
    ]
    for size in sizes:
        stats = size["data"]
        components = "/".join(str(c) for c in stats["components_for_50_80_90_pct_variance"])
        lines.append(
            f"| {size['n']:,} | {stats['random_pair_cosine']:.2f} +- {stats['random_pair_cosine_sd']:.2f} "
            f"| {stats['query_top1_cosine']:.2f} | {stats['query_top10_cosine']:.2f} "
            f"| {components} |"
        )
    return lines


def lexical_table(lexical: dict[str, Any]) -> list[str]:
    lines = [
        f"BM25 (`LexicalIndex`), {lexical['words_per_chunk']} words per chunk from a "
        f"{lexical['vocabulary']:,}-word Zipf vocabulary, {lexical['query_words'][0]}-"
        f"{lexical['query_words'][1]}-word queries, k={lexical['depth']}:",
        "",
        "| N | how | build s | peak build memory MB | search p50 ms | search p95 ms |",
        "|---|---|---|---|---|---|",
    ]
    notes = []
    for size in lexical["sizes"]:
        if "reason" in size:
            build = f"~{size['build_s_extrapolated']:,} (extrapolated)"
            memory = size["peak_rss_mb_extrapolated"]
            peak = "-" if memory is None else f"~{memory:,} (extrapolated)"
            notes.append(f"{size['n']:,}: {size['method']} because {size['reason']}.")
        else:
            build = f"{size['build_s']:.1f}"
            peak = "-" if size["peak_rss_mb"] is None else f"{size['peak_rss_mb']:,}"
        lines.append(
            f"| {size['n']:,} | {size['method']} | {build} | {peak} "
            f"| {size['search_p50_ms']:.2f} | {size['search_p95_ms']:.2f} |"
        )
    return lines + (["", *notes] if notes else [])


def store_table(store: dict[str, Any]) -> list[str]:
    lines = [
        f"Chunk store (SQLite, filled through `{store['insert']}`, {store['chunks_per_document']} chunks "
        f"per document, {store['sentences_per_chunk']} sentences per chunk, every chunk and sentence "
        f"with its vector), lookups of {store['lookup_rows']} random row ids on a read-only store:",
        "",
        "| N | insert s | file MB | `passages` p50 ms | p95 ms | `sentences` p50 ms | p95 ms "
        "| VM steps `passages` | VM steps `sentences` |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in store["sizes"]:
        lines.append(
            f"| {size['n']:,} | {size['insert_s']:.1f} | {size['file_mb']:,.0f} "
            f"| {size['passages_p50_ms']:.3f} | {size['passages_p95_ms']:.3f} "
            f"| {size['sentences_p50_ms']:.3f} | {size['sentences_p95_ms']:.3f} "
            f"| {size['passages_vm_steps']:,} | {size['sentences_vm_steps']:,} |"
        )
    lines += [
        "",
        "VM steps: SQLite virtual-machine instructions for one lookup of 10 rows; equal at every N "
        "means the lookup seeks the rows it needs through the B-trees and reads nothing else.",
    ]
    return lines
