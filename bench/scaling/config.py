"""Sizes, targets and parameters of the index-scaling benchmark, and the plan of one run."""

from __future__ import annotations

from dataclasses import dataclass

SEED = 20_240_611
DIMENSION = 384  # all-MiniLM-L6-v2, the bundled model
K = 10

# Targets from the scaling issue, for an index at 1M chunks.
TARGET_P50_MS = 10.0
TARGET_RECALL = 0.95
TARGET_BYTES_PER_VECTOR = 2048

QUICK_SIZES = (10_000, 100_000)
FULL_SIZES = (10_000, 100_000, 1_000_000)
FULL_RUN_BUDGET_S = 12 * 60
QUICK_RUN_BUDGET_S = 3 * 60
# Extra points for the flat index's latency curve (prefixes of the largest data set).
FLAT_CURVE = (5_000, 10_000, 20_000, 30_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)

# Latency figures carry these suffixes: FAISS's default OpenMP threads (as the service runs) and one.
THREADS = ("", "_1t")
# The time box of the latency sampling (see WARMUP_QUERIES in the package's `__init__`).
LATENCY_BOX_S = 3.0
RECALL_QUERIES = 300

# The embedding model of the synthetic vectors (see the package docstring).
TOPICS = 3000
TOPIC_SIZE_SIGMA = 1.0  # log-normal: a few big topics, many small ones
LATENT_RANK = 128
SPECTRUM_DECAY = 0.6  # per-component scale j^-0.6, so variance decays as j^-1.2
MEAN_WEIGHT = 0.55
TOPIC_WEIGHT = 1.0
WITHIN_WEIGHT = 0.75
QUERY_NOISE = 0.6
SPECTRUM_SAMPLE = 115  # chunks in the service corpus the spectrum is compared with
GENERATION_BLOCK = 100_000  # rows generated at a time, to bound temporary memory

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
EF_SEARCH = (16, 32, 64, 128, 256)
IVF_LISTS_PER_SQRT_N = 4
IVF_TRAINING_POINTS_PER_LIST = 32
IVF_KMEANS_ITERATIONS = 10
NPROBE = (8, 16, 32, 64, 128, 256)

# Synthetic text.
VOCABULARY = 50_000
ZIPF_EXPONENT = 1.0
WORDS_PER_CHUNK = 150
SENTENCES_PER_CHUNK = 4
QUERY_WORDS = (5, 10)
LEXICAL_QUERIES = 200
ZIPF_TABLE_SIZE = 1 << 21  # uniform integer -> word rank; finer than the rarest word's share
SYLLABLES = (
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga ge gi go ka ke ki ko la le li lo lu "
    "ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve "
    "vi vo za ze zi zo tr st pl pr cl gr ph th ch sh"
).split()
SUFFIXES = ("", "", "", "s", "al", "ic", "ine", "ase", "ed", "ing", "tion", "ity")
# English frequency order of the Lucene stop words (the most frequent words of any text).
STOPWORD_ORDER = (
    "the of and a to in is for that with as was on by are be this it at an or not no these but "
    "into if such then there they will their"
).split()

# The chunk store's fake documents.
CHUNKS_PER_DOCUMENT = 10
VECTOR_POOL = 1024  # distinct stored vectors; their values do not change lookup costs
LOOKUP_ROWS = 10

# A real BM25 build at the target size must be predicted to fit the time left, with this margin,
# and its memory growth must fit this share of the memory available now.
BUILD_TIME_MARGIN = 1.2
MEMORY_SHARE = 0.6


@dataclass(frozen=True)
class Plan:
    """What one run measures; `run` derives it from `quick`, tests use tiny ones."""

    vector_sizes: tuple[int, ...]
    store_sizes: tuple[int, ...]
    lexical_sizes: tuple[int, ...]
    lexical_target: int | None  # reached by a real build if it fits, else by tiling
    budget_s: float
    depth: int  # how many candidates the service asks each retriever for
