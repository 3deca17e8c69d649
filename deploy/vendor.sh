#!/usr/bin/env bash
# Vendors the web UI's JavaScript from the npm registry at pinned versions, checked against the
# integrity hashes pinned below; no package is installed and no install script runs (npm pack
# only downloads the tarball). The files land in search_api/web/static/vendor/<package>/ with
# their licences and a SHA256SUMS that the test suite checks. The pages load nothing else from
# outside the server. Run it only to change a version; the vendored files are committed.
#
#   deploy/vendor.sh           fetch, verify, extract, rewrite SHA256SUMS
#   deploy/vendor.sh --check   verify the committed files against SHA256SUMS (no network)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/search_api/web/static/vendor

# name | npm spec | pinned dist.integrity | files to copy from the tarball (package/...)
pins=(
  "htmx|htmx.org@2.0.11|sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==|dist/htmx.min.js LICENSE"
  "alpine-csp|@alpinejs/csp@3.17.4|sha512-SlRXmqO6kYhnxlg+99etmuzJtE9Lk4QbKjBHqerXzaMflJqoJXdz/SI3IvHJGZ/vRVyC3bR0SSBz40oY7goBeg==|dist/cdn.min.js"
  "cytoscape|cytoscape@3.35.0|sha512-sMvBIXiGMnhkCaWz2R06FwF/27MNlS+Tqvi17foO9UhnUg3XGZccKjxsvEqQFAQYMSSZmN5SxYzUYlQ0DOJJ3g==|dist/cytoscape.min.js LICENSE"
  "echarts|echarts@5.6.0|sha512-oTbVTsXfKuEhxftHqL5xprgLoc0k7uScAwtryCgWF6hPYFLRwOUHiFmHGCBKP5NPFNkDVopOieyUqYGH8Fa3kA==|dist/echarts.min.js LICENSE"
  "swagger-ui|swagger-ui-dist@5.35.0|sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==|swagger-ui-bundle.js swagger-ui.css LICENSE"
  "redoc|redoc@2.5.2|sha512-sTJfItvRkcDTojB6wdLN4M+Ua6mlZwElV21Tf8Mn7IbQF/1Os6GvgQpZyLWPGZZHbhy7GC1Or1hTMHfz1vKh5A==|bundles/redoc.standalone.js LICENSE"
)

check() {
  (cd "$dest" && sha256sum --quiet --check SHA256SUMS)
}

if [ "${1:-}" = --check ]; then check; echo "vendor: files match SHA256SUMS"; exit 0; fi

command -v npm >/dev/null || { echo "vendor.sh: npm is required" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for pin in "${pins[@]}"; do
  IFS='|' read -r name spec integrity files <<<"$pin"
  (cd "$work" && npm pack --silent --ignore-scripts "$spec" >/dev/null)
  tarball=$(ls -t "$work"/*.tgz | head -1)
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "vendor.sh: $spec does not match its pinned integrity ($actual)" >&2; exit 1
  fi
  rm -rf "${dest:?}/$name" "$work/package"; mkdir -p "$dest/$name"
  tar -xzf "$tarball" -C "$work"
  for f in $files; do cp "$work/package/$f" "$dest/$name/$(basename "$f")"; done
  echo "${spec}" > "$dest/$name/VERSION"
  rm -f "$tarball"
done
(cd "$dest" && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS)
check
echo "vendor: $(wc -l < "$dest/SHA256SUMS") files in $dest"
