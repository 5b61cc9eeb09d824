"""Headless Chromium: two users in two browser contexts chat on the conversation page and see each other's
messages live; the other user's header badge counts up live; user text is shown as text, never as HTML."""

import os
import re
from pathlib import Path

import pytest

from .servers import start_workers

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing (make test installs it)"),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE = "实时连接已建立"


@pytest.fixture(scope="module")
def site(scratch):
    """One worker: the in-memory layer on the embedded profile, Redis (own prefix) on the cluster profile."""
    redis = os.environ.get("REDIS_URL", "")
    extra = {"REDIS_URL": redis, "CHANNEL_LAYER_PREFIX": f"browser{os.getpid()}"} if redis else {}
    data = scratch.seed({"pairs": 1})
    (worker,) = start_workers(scratch.env(**extra), 1)
    yield worker, data["pairs"][0]
    worker.cleanup()


def test_two_users_chat_live_in_two_browsers(site):
    from playwright.sync_api import expect, sync_playwright

    worker, pair = site
    conversation_url = f"{worker.http}/messages/{pair['conversation']}/"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            pages = {}
            for role in ("buyer", "seller"):
                context = browser.new_context(locale="zh-CN")
                context.add_cookies([{"name": "sessionid", "value": pair[role]["session"], "url": worker.http}])
                pages[role] = context.new_page()
            buyer, seller = pages["buyer"], pages["seller"]

            # The seller is elsewhere on the site: the header badge will count the buyer's message live.
            seller.goto(f"{worker.http}/")
            badge = seller.locator('[data-badge="messages"]')
            expect(badge).to_be_hidden()

            buyer.goto(conversation_url)
            expect(buyer.locator("[data-chat-status]")).to_have_text(LIVE, timeout=15000)
            hostile = '<img src=x onerror="window.pwned=1">请问价格?'
            buyer.locator("[data-composer] textarea").fill(hostile)
            buyer.locator("[data-composer] button[type=submit]").click()
            mine = buyer.locator(".chat-message.mine").last
            expect(mine).to_have_attribute("data-id", pair_id_pattern(), timeout=10000)  # acknowledged

            expect(badge).to_have_text("1", timeout=10000)
            expect(badge).to_be_visible()

            seller.goto(conversation_url)
            expect(seller.locator("[data-chat-status]")).to_have_text(LIVE, timeout=15000)
            expect(seller.locator(".chat-text").last).to_have_text(hostile)
            assert seller.locator(".chat-log img").count() == 0
            assert seller.evaluate("window.pwned") is None

            # Live both ways, without reloading.
            seller.locator("[data-composer] textarea").fill("可以面议,下周三现场演示")
            seller.locator("[data-composer] textarea").press("Control+Enter")
            expect(buyer.locator(".chat-text").last).to_have_text("可以面议,下周三现场演示", timeout=10000)
            # The seller has read it: the buyer's message shows the receipt.
            expect(buyer.locator(".chat-message.mine .chat-read")).to_have_count(1, timeout=10000)
            buyer.locator("[data-composer] textarea").fill("好的,我们派人参加")
            buyer.keyboard.press("Control+Enter")
            expect(seller.locator(".chat-text").last).to_have_text("好的,我们派人参加", timeout=10000)
            assert buyer.evaluate("window.pwned") is None
        finally:
            browser.close()


def pair_id_pattern():
    return re.compile(r"^\d+$")
