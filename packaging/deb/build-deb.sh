#!/usr/bin/env bash
# Builds syncmux_<version>_amd64.deb from this checkout's build (run
# `npm run build` first; ./dev test does): the bundles, the compiled addon
# and node-gyp-build (its loader) under /usr/lib/syncmux, both commands in
# /usr/bin, the man pages and the systemd unit. Nothing is compiled or
# downloaded here. Usage: packaging/deb/build-deb.sh [output-dir]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-.}
version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)
for f in dist/bin/syncmux.js dist/bin/syncmux-client.js dist/worker-bundle/shard/worker.js node_modules/node-gyp-build/index.js; do
  [ -e "$f" ] || { echo "build-deb: $f is missing: run npm ci && npm run build" >&2; exit 1; }
done
# The addon this checkout loads: build/Release, or the prebuild that npm pack's prebuildify moved it to.
addon=$(node -p "require('./node_modules/node-gyp-build').resolve('.')" 2>/dev/null) ||
  { echo "build-deb: no compiled addon: run npm ci" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
lib=$stage/usr/lib/syncmux
mkdir -p "$lib/build/Release" "$lib/node_modules" "$stage/usr/bin" "$stage/lib/systemd/system" \
  "$stage/usr/share/man/man8" "$stage/usr/share/doc/syncmux" "$stage/DEBIAN"
# All of dist/ with its mtimes: a bundle is used only while it is newer than the modules it was built from.
cp -a dist "$lib/"
find "$lib/dist" \( -name '*.map' -o -name '*.d.ts' \) -delete
cp -p package.json binding.gyp "$lib/"   # package.json: --version; binding.gyp: marks the root the addon loads from
cp -p "$addon" "$lib/build/Release/syncmux.node"
cp -pr node_modules/node-gyp-build "$lib/node_modules/"
ln -s ../lib/syncmux/dist/bin/syncmux.js "$stage/usr/bin/syncmux"
ln -s ../lib/syncmux/dist/bin/syncmux-client.js "$stage/usr/bin/syncmux-client"
cp packaging/systemd/syncmux@.service "$stage/lib/systemd/system/"
for page in packaging/man/*.8; do gzip -9n < "$page" > "$stage/usr/share/man/man8/$(basename "$page").gz"; done
gzip -9n < README.md > "$stage/usr/share/doc/syncmux/README.md.gz"
printf 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: syncmux\n\nFiles: *\nLicense: BSD-3-Clause\n' \
  > "$stage/usr/share/doc/syncmux/copyright"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$lib/dist/bin/syncmux.js" "$lib/dist/bin/syncmux-client.js"

cat > "$stage/DEBIAN/control" <<CONTROL
Package: syncmux
Version: $version
Architecture: $arch
Maintainer: syncmux maintainers <root@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: nodejs (>= 20), libc6, libstdc++6, libgcc-s1
Recommends: libsasl2-2, cyrus-replication
Section: mail
Priority: optional
Description: high-throughput drop-in replacement for Cyrus IMAP's sync_client
 syncmux-client takes stock sync_client's command line, configuration and
 exit codes; syncmux runs a sharded replication daemon per channel
 (systemd unit syncmux@<channel>.service) and audits replicas
 (syncmux verify). Both read the master's mail store read-only.
CONTROL

mkdir -p "$out"
deb="$out/syncmux_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
