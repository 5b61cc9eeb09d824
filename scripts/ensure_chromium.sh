#!/usr/bin/env bash
# Headless Chromium and CJK fonts for the browser tests (tests/messaging/test_browser.py, scripts/screenshots.py).
# Debian's packages through apt-get, only when missing; never a browser download of Playwright's own.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
	echo "[chromium] missing ${missing[*]}; install them (apt-get install ${missing[*]}) — browser tests will be skipped" >&2
	exit 0
fi
echo "[chromium] apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
	echo "[chromium] could not install ${missing[*]}; browser tests will be skipped" >&2
