"""The committed corpus is exactly what scripts/build_corpus.py makes from the seeds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from rag.ingest.loaders import load_paths
from tests.conftest import CORPUS, ROOT, SEEDS

pytestmark = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not present")


def build_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_corpus", ROOT / "scripts" / "build_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    build_module().build(SEEDS, out)
    return out


def test_conversion_is_reproducible(built: Path) -> None:
    committed = {p.name: p.read_bytes() for p in CORPUS.glob("*.md")}
    rebuilt = {p.name: p.read_bytes() for p in built.glob("*.md")}
    assert rebuilt == committed


def test_one_document_per_publication(built: Path) -> None:
    docs = load_paths([built]).documents
    listing = [d for d in docs if d.extra.get("seed", "").startswith("002_")]
    assert len(docs) == 34
    assert len(listing) == 30
    assert all(d.title and d.journal and d.year for d in listing)


def test_site_navigation_and_footers_are_not_content(built: Path) -> None:
    text = "\n".join(d.text for d in load_paths([built]).documents)
    for noise in (
        "Home > Treatments",
        "Found this page useful",
        "CancerIndex.org",
        "Disclaimer:",
        "Like Comment",
        "Get PDF with LibKey",
        "Contributions",
        "Close modal",
        "Sign in via your Institution",
    ):
        assert noise not in text


def test_article_keeps_one_copy_of_tables_and_figures_and_no_references(built: Path) -> None:
    (article,) = [d for d in load_paths([built]).documents if d.extra.get("seed", "").startswith("003_")]
    assert article.text.count("Patient response details") == 1
    assert article.text.count("Sorafenib treatment response. (A) Patient 2") == 1
    assert article.text.count("1 Relapse day 87 after allo-SCT") == 1
    assert "End points to establish the efficacy" not in article.text
    assert len(article.extra["references"]) == 18
    assert "prognosis.1" not in article.text  # superscript citation numbers are removed
