#!/usr/bin/env bash
# Render the sales playbook (`zhike rules doc`) and screenshot it with headless Chromium,
# so a change to templates/doc.html can be checked by eye.
#
#   docs/screenshot-doc.sh [RULEBASE_DIR] [OUT_DIR] [LANG]
#   SHOTS="top graph typology-objection plans 6000" docs/screenshot-doc.sh
#
# Writes OUT_DIR/doc.html and one 1280x2000 PNG per shot (OUT_DIR/doc-top.png, doc-graph.png, ...).
# A shot is `top`, a section id of the page (graph, plans, questions, sources, typology-ID,
# class-TYPOLOGY-CLASS) or a number of pixels from the top. Exits non-zero if a screenshot is missing.
#
# Needs chromium and a CJK font: apt-get install -y chromium fonts-noto-cjk
# Chromium's --screenshot only captures the top of a page, so other shots load the playbook
# in an iframe of a small wrapper page: scrolled to the section (doc.html#id) or shifted up by
# the offset. The playbook itself stays script-free.
set -euo pipefail
cd "$(dirname "$0")/.."

RULEBASE=${1:-rulebase}
OUT=${2:-/tmp/zhike-doc}
LANG_=${3:-zh}
SHOTS=${SHOTS:-"top graph plans questions"}
ZHIKE=${ZHIKE:-.venv/bin/zhike}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$CHROMIUM" ]; then
  echo "screenshot-doc: chromium not found (apt-get install -y chromium fonts-noto-cjk)" >&2
  exit 2
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
"$ZHIKE" rules doc "$RULEBASE" --lang "$LANG_" -o "$OUT/doc.html"

for shot in $SHOTS; do
  page="$OUT/doc.html"
  if [ "$shot" != top ]; then
    page="$OUT/view-$shot.html"
    if [[ "$shot" =~ ^[0-9]+$ ]]; then
      frame="<div style=\"height:2000px;overflow:hidden\"><iframe src=\"doc.html\" style=\"border:0;width:1280px;height:80000px;margin-top:-${shot}px\"></iframe></div>"
    else
      frame="<iframe src=\"doc.html#${shot}\" style=\"border:0;width:1280px;height:2000px\"></iframe>"
    fi
    printf '<!doctype html><html><body style="margin:0;overflow:hidden">%s</body></html>\n' "$frame" > "$page"
  fi
  profile=$(mktemp -d)
  rm -f "$OUT/doc-$shot.png"
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
    --screenshot="$OUT/doc-$shot.png" --window-size=1280,2000 "file://$page" >/dev/null 2>&1 || true
  rm -rf "$profile"
  if [ ! -s "$OUT/doc-$shot.png" ]; then
    echo "screenshot-doc: no screenshot for $shot" >&2
    exit 1
  fi
  echo "$OUT/doc-$shot.png"
done
