"""Screenshots of the main pages, as a user sees them, in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--lang zh-hans|en]

Starts the site on a throw-away SQLite database with the demo data (never the site's own data), logs in
through the login form like a person, and saves PNGs. Needs Debian's chromium (apt-get install chromium).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server did not answer at {url}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--lang", default="zh-hans")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    var = tempfile.mkdtemp(prefix="screenshots-")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SEARCH_URL"}}
    env["VAR_DIR"] = var
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
    for command in (["load_demo"], ["update_index", "--remove"], ["refresh_matches"]):
        subprocess.run([*manage, *command], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{args.port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(base + "/healthz")
        shoot(base, out, args.lang)
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(var, ignore_errors=True)


def shoot(base: str, out: Path, lang: str) -> None:
    from playwright.sync_api import sync_playwright

    suffix = "" if lang == "zh-hans" else f"-{lang}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale=lang)
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": base}])

        def snap(name: str, path: str, full_page: bool = True) -> None:
            page.goto(base + path, wait_until="networkidle")
            page.screenshot(path=str(out / f"{name}{suffix}.png"), full_page=full_page)
            print(f"{name}{suffix}.png  {page.url}")

        snap("home", "/")
        snap("technologies", "/technologies/")
        page.goto(base + "/technologies/", wait_until="networkidle")
        # The first listing that shows a picture, so the detail page shows its gallery.
        with_image = page.locator(".card img").first.locator("xpath=ancestor::*[contains(@class,'card')][1]//a")
        href = with_image.first.get_attribute("href") if with_image.count() else None
        href = href or page.locator("a[href^='/technologies/']").nth(1).get_attribute("href")
        snap("technology-detail", href)
        snap("needs", "/needs/")

        snap("search", "/search/?q=牦牛 保鲜")

        def login(username: str) -> None:
            page.context.clear_cookies()
            page.context.add_cookies([{"name": "django_language", "value": lang, "url": base}])
            page.goto(base + "/accounts/login/")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", "lhasa2026")
            page.locator("form button[type=submit], form input[type=submit]").last.click()
            page.wait_for_load_state("networkidle")

        def first_link(path: str, prefix: str) -> str | None:
            page.goto(base + path, wait_until="networkidle")
            links = page.locator(f"main a[href^='{prefix}']")
            return links.first.get_attribute("href") if links.count() else None

        login("bureau")
        page.set_viewport_size({"width": 1366, "height": 1400})
        snap("review-queue", "/review/", full_page=False)
        snap("stats-dashboard", "/stats/", full_page=False)
        snap("contracts", "/contracts/", full_page=False)
        contract = first_link("/contracts/", "/contracts/") or "/contracts/"
        snap("contract-detail", contract, full_page=False)

        login("enterprise")
        snap("matching", "/matching/", full_page=False)
        need_matches = first_link("/matching/", "/matching/needs/")
        if need_matches:
            snap("need-matches", need_matches, full_page=False)
        snap("messages", "/messages/", full_page=False)
        snap("payments", "/payments/", full_page=False)
        browser.close()


if __name__ == "__main__":
    main()
