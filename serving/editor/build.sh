#!/usr/bin/env bash
# Rebuild the page's vendored editor (serving/page/vendor/codemirror.js) from the exact versions
# in package-lock.json: `make editor`. The page works offline: nothing is fetched at run time.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
versions=$(node -e 'const l = require("./package-lock.json").packages;
  console.log(Object.keys(l).filter((k) => k.startsWith("node_modules/") && !l[k].dev)
    .map((k) => k.slice(13) + "@" + l[k].version).sort().join(" "))')
mkdir -p ../page/vendor
npx esbuild entry.js --bundle --minify --format=iife --global-name=MockMentorEditor \
  --legal-comments=none --target=es2020 \
  --banner:js="/* CodeMirror 6 for MockMentor (MIT, see LICENSE-codemirror.txt): $versions */" \
  --outfile=../page/vendor/codemirror.js
# Every bundled package's own licence, one after another.
for package in $versions; do
  name=${package%@*}
  echo "==== $package ===="
  cat node_modules/"$name"/LICENSE* 2>/dev/null || node -e "console.log('licence: ' + require('./node_modules/$name/package.json').license)"
  echo
done > ../page/vendor/LICENSE-codemirror.txt
echo "built ../page/vendor/codemirror.js: $versions"
