#!/usr/bin/env bash
# Opens OUT_DIR/index.html in headless Chromium, saves a screenshot of it (OUT_DIR/page.png),
# and fails unless every <img> on the page loaded. Installs nothing: CI installs Debian's
# `chromium` package first.
#
# Usage: reports/ci/check-page.sh OUT_DIR
set -euo pipefail

out=${1:?usage: $0 OUT_DIR (the directory holding index.html)}
page="$out/index.html"
if [ ! -f "$page" ]; then
  echo "check-page: no $page; make it with: cargo run --release -p reports -- --out $out" >&2
  exit 2
fi
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "check-page: chromium not found; install Debian's chromium package (apt-get install -y chromium)" >&2
  exit 2
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
url="file://$(cd "$out" && pwd)/index.html"
# A virtual-time budget lets the page finish loading and its load handler run before Chromium
# takes the screenshot or dumps the DOM.
flags=(--headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking
  --disable-component-update --disable-sync "--user-data-dir=$profile"
  --virtual-time-budget=15000 --hide-scrollbars)

"$browser" "${flags[@]}" --window-size=1440,2400 "--screenshot=$out/page.png" "$url" >/dev/null 2>"$profile/screenshot.log" || {
  echo "check-page: chromium could not take a screenshot:" >&2
  cat "$profile/screenshot.log" >&2
  exit 1
}
dom=$("$browser" "${flags[@]}" --dump-dom "$url" 2>"$profile/dom.log") || {
  echo "check-page: chromium could not load the page:" >&2
  cat "$profile/dom.log" >&2
  exit 1
}

expected=$(grep -o '<img ' "$page" | wc -l)
body=$(printf '%s' "$dom" | grep -o '<body[^>]*>' | head -n 1)
status=$(printf '%s' "$body" | sed -n 's/.*data-images="\([a-z]*\)".*/\1/p')
loaded=$(printf '%s' "$body" | sed -n 's/.*data-loaded="\([0-9]*\)".*/\1/p')
total=$(printf '%s' "$body" | sed -n 's/.*data-total="\([0-9]*\)".*/\1/p')

echo "check-page: screenshot $out/page.png; images: ${loaded:-?} of ${total:-?} loaded, $expected in the HTML"
if [ "$status" != "ok" ] || [ "${total:-0}" != "$expected" ] || [ "$expected" -eq 0 ]; then
  echo "check-page: FAILED: status '${status:-none}' (the page's load handler did not report all images loaded)" >&2
  exit 1
fi
echo "check-page: ok"
