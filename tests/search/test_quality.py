"""Measured quality: evaluate_search on the labelled set in tests/data/search, on each backend there is.

The floors sit a little under what the search reached when they were set (see the README there);
a change that makes ranking worse fails here.
"""

import io
import json
import re
import shutil
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from listings.models import Technology
from tests.search.cluster import SEARCH_URL

DATA = Path(settings.BASE_DIR) / "tests" / "data" / "search"
# A little under what each backend reached when these were set (nDCG@10 / recall@20, 56 queries):
# embedded 0.9787 / 0.9874, cluster 0.9784 / 0.9874.
FLOORS = {"embedded": (0.97, 0.98), "cluster": (0.97, 0.98)}

BACKENDS = [
    "embedded",
    pytest.param(
        "cluster",
        marks=[
            pytest.mark.opensearch,
            pytest.mark.skipif(not SEARCH_URL, reason="SEARCH_URL is not set: no OpenSearch node"),
        ],
    ),
]


def evaluate(*args) -> tuple[dict, str]:
    out = io.StringIO()
    call_command("evaluate_search", *args, stdout=out)
    text = out.getvalue()
    return json.loads(text.strip().splitlines()[-1]), text


def evaluation_indexes() -> list[str]:
    with urllib.request.urlopen(f"{SEARCH_URL}/_cat/indices/*evaluate-*?format=json", timeout=10) as response:  # noqa: S310
        return [row["index"] for row in json.load(response)]


@pytest.mark.django_db
@pytest.mark.parametrize("backend", BACKENDS)
def test_ranking_quality_stays_at_the_level_reached(backend):
    summary, _text = evaluate("--data", str(DATA), "--backend", backend)

    assert summary["backend"] == backend
    assert summary["queries"] == 56
    ndcg_floor, recall_floor = FLOORS[backend]
    assert summary["ndcg@10"] >= ndcg_floor, summary
    assert summary["recall@20"] >= recall_floor, summary
    # Isolated: nothing was loaded into this database, and no evaluation index is left behind.
    assert not Technology.objects.exists()
    if backend == "cluster":
        assert evaluation_indexes() == []


@pytest.fixture
def labelled_copy(tmp_path):
    target = tmp_path / "set"
    shutil.copytree(DATA, target)
    return target


def test_scores_per_query_on_request(labelled_copy):
    for name, keep in (("queries.jsonl", 2), ("qrels_queries.tsv", 0)):
        lines = (labelled_copy / name).read_text(encoding="utf-8").splitlines()
        if name == "queries.jsonl":
            lines = lines[:keep]
        else:
            lines = [line for line in lines if line.split("\t")[0] in ("query_ref", "Q01", "Q02")]
        (labelled_copy / name).write_text("\n".join(lines) + "\n", encoding="utf-8")

    summary, text = evaluate("--data", str(labelled_copy), "--per-query")

    assert summary["queries"] == 2
    assert "Q01\t太阳能发电\tndcg@10=" in text and "Q02\t光伏\t" in text


def test_misses_are_listed_on_request(labelled_copy):
    queries = (labelled_copy / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    (labelled_copy / "queries.jsonl").write_text(queries[1] + "\n", encoding="utf-8")  # Q02 光伏
    # A solar water heater judged relevant to 光伏 for the test's sake: nothing links the two words.
    (labelled_copy / "qrels_queries.tsv").write_text("Q02\tT001\t3\nQ02\tT147\t1\n", encoding="utf-8")

    summary, text = evaluate("--data", str(labelled_copy), "--misses")

    assert summary["queries"] == 1
    assert "Q02\t光伏\tT147\tgrade 1\tmissed\t家用真空管太阳能热水器(防冻型)" in text.splitlines()
    assert "T001" not in text  # found, in the first ten


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(CommandError, match="找不到数据目录"):
        evaluate("--data", str(tmp_path / "nowhere"))


def test_a_missing_file_is_named(labelled_copy):
    (labelled_copy / "queries.jsonl").unlink()

    with pytest.raises(CommandError, match=re.escape("缺少文件:queries.jsonl")):
        evaluate("--data", str(labelled_copy))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Q01\tT999\t3", "行:成果「T999」不在 technologies.jsonl 中"),
        ("Q99\tT001\t3", "行:查询「Q99」不在 queries.jsonl 中"),
        ("Q01\tT001\t5", "行:等级应为 1、2 或 3"),
        ("Q01 T001 3", "行:应为 query_ref<TAB>tech_ref<TAB>grade"),
    ],
)
def test_a_bad_judgement_line_is_named(labelled_copy, line, message):
    path = labelled_copy / "qrels_queries.tsv"
    number = len(path.read_text(encoding="utf-8").splitlines()) + 1
    with path.open("a", encoding="utf-8") as qrels:
        qrels.write(line + "\n")

    with pytest.raises(CommandError, match=re.escape(f"第 {number} {message}")):
        evaluate("--data", str(labelled_copy))


def test_a_technology_the_importer_refuses_is_named_with_its_row(labelled_copy):
    path = labelled_copy / "technologies.jsonl"
    rows = path.read_text(encoding="utf-8").splitlines()
    broken = json.loads(rows[2])
    broken["field"] = "炼金术"
    rows[2] = json.dumps(broken, ensure_ascii=False)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")

    with pytest.raises(CommandError, match="第3行 · 列 field"):
        evaluate("--data", str(labelled_copy))


def test_the_cluster_needs_its_address(labelled_copy, monkeypatch, settings):
    monkeypatch.delenv("SEARCH_URL", raising=False)
    settings.SEARCH_URL = ""

    with pytest.raises(CommandError, match="需要检索集群地址"):
        evaluate("--data", str(labelled_copy), "--backend", "cluster")
