#!/usr/bin/env bash
# Puts the harness's second Cyrus build (lab/cyrus-backport.env) in
# $SYNCMUX_CYRUS_CACHE/cyrus-<version> (default /var/cache/syncmux), without
# compiling and without touching the system's Cyrus or apt state:
#   - `apt-get download` of Debian's bookworm-backports .debs, through a
#     private sources list, lists and cache (the system's 3.6 stays installed);
#   - `dpkg-deb -x` of each into the prefix, which the cyrus user can read.
# The archive is the one this machine's apt already uses for bookworm (or
# $SYNCMUX_DEBIAN_ARCHIVE). Run as root by `./dev setup`; a finished prefix
# is marked and never fetched again.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=cyrus-backport.env
source "$here/cyrus-backport.env"
cache="${SYNCMUX_CYRUS_CACHE:-/var/cache/syncmux}"
prefix="$cache/cyrus-$CYRUS_BACKPORT_VERSION"
marker="$prefix/.syncmux-complete"

[ -f "$marker" ] && exit 0

# The first deb822 stanza (or one-line `deb` entry) for suite bookworm: "URI keyring".
bookworm_archive() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = "" }
      {
        types = ""; suites = ""; uris = ""; key = ""; enabled = "yes"
        n = split($0, line, "\n")
        for (i = 1; i <= n; i++) {
          l = line[i]; field = tolower(l); sub(/:.*/, "", field); sub(/^[^:]*:[ \t]*/, "", l)
          if (field == "types") types = l; else if (field == "suites") suites = l
          else if (field == "uris") uris = l; else if (field == "signed-by") key = l
          else if (field == "enabled") enabled = l
        }
        if (enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ / bookworm /) {
          split(uris, u, " "); if (key !~ /^\//) key = ""; print u[1], key; exit
        }
      }' "$f"
  done | head -1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }'
  done | head -1
}

archive="${SYNCMUX_DEBIAN_ARCHIVE:-}"
keyring=
if [ -z "$archive" ]; then
  read -r archive keyring < <(bookworm_archive | head -1) || true
fi
if [ -z "$archive" ]; then
  echo "fetch-cyrus-backport: no bookworm archive in this machine's apt sources; set SYNCMUX_DEBIAN_ARCHIVE" >&2
  exit 1
fi
keyring="${keyring:-/usr/share/keyrings/debian-archive-keyring.gpg}"

apt_dir="$cache/apt"
mkdir -p "$apt_dir/parts" "$apt_dir/preferences.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
chmod 755 "$cache"
echo "deb [signed-by=$keyring] $archive bookworm-backports main" > "$apt_dir/sources.list"
# apt fetches as _apt where that user exists; let it write where it downloads.
if id _apt >/dev/null 2>&1; then chown _apt "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"; fi
apt_private=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/parts"
  -o "Dir::Etc::PreferencesParts=$apt_dir/preferences.d" -o "Dir::Etc::Preferences=$apt_dir/preferences"
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
)
echo "fetch-cyrus-backport: Cyrus $CYRUS_BACKPORT_VERSION from $archive bookworm-backports into $prefix"
apt-get "${apt_private[@]}" update -q
wanted=()
for p in $CYRUS_BACKPORT_PACKAGES; do wanted+=("$p=$CYRUS_BACKPORT_VERSION"); done
rm -f "$apt_dir/debs/"*.deb
(cd "$apt_dir/debs" && apt-get "${apt_private[@]}" download -q "${wanted[@]}")

staging="$prefix.partial"
rm -rf "$staging"
mkdir -p "$staging"
for p in $CYRUS_BACKPORT_PACKAGES; do
  dpkg-deb -x "$(ls "$apt_dir/debs/${p}_"*.deb)" "$staging"
done
chmod 755 "$staging"
rm -rf "$prefix"
mv "$staging" "$prefix"
echo "$CYRUS_BACKPORT_VERSION" > "$marker"
echo "fetch-cyrus-backport: ready: $prefix/usr/lib/cyrus/bin/master"
