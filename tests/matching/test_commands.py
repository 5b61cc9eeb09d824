"""match_need and refresh_matches."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from matching.models import Match
from tests.factories import NeedFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_match_need_prints_the_ranking_with_reasons(market, matching_index):
    matching_index.refresh()
    text = run("match_need", str(market["need"].pk), "--top", "3")
    lines = text.splitlines()
    assert market["need"].title in lines[0]
    assert market["fits"].title in lines[1] and lines[1].lstrip().startswith("1.")
    assert "✓ 北京援藏单位成果" in text
    assert "✗ 报价 ¥200 万,超出预算 ¥50 万" in text


def test_match_need_json(market, matching_index):
    matching_index.refresh()
    data = json.loads(run("match_need", str(market["need"].pk), "--json", "--top", "2"))
    assert data["need"]["id"] == market["need"].pk
    assert len(data["results"]) <= 2 and data["results"][0]["technology"]["id"] == market["fits"].pk
    assert data["results"][0]["reasons"][0]["text"].startswith("共同关键词:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["999999"], "需求 999999 不存在"),
        (["abc"], "需求编号应为正整数"),
        (["1", "--top", "0"], "--top 应在 1-100 之间"),
    ],
)
def test_match_need_bad_input(args, message, db):
    with pytest.raises(CommandError, match=message):
        run("match_need", *args)


def test_match_need_too_short(enterprise, matching_index):
    need = NeedFactory(organisation=enterprise, title="冷链", description="保鲜")
    with pytest.raises(CommandError, match="描述太短,无法匹配"):
        run("match_need", str(need.pk))


def test_match_need_empty_state(enterprise, matching_index):
    need = NeedFactory(
        organisation=enterprise, title="寺院酥油灯烟熏壁画的清洗", description="壁画被熏黑了,想找安全的清洗办法。"
    )
    text = run("match_need", str(need.pk))
    assert "没有找到匹配的科技成果" in text and "放宽技术领域" in text


def test_refresh_matches_stores_every_published_need(market, matching_index):
    matching_index.refresh()
    text = run("refresh_matches")
    assert "1 needs refreshed" in text
    assert Match.objects.filter(need=market["need"], technology=market["fits"], is_current=True).exists()
    with pytest.raises(CommandError, match="需求不存在:424242"):
        run("refresh_matches", "--need", "424242")
