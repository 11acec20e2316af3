#!/usr/bin/env bash
# Builds the image the tests run: Debian's busybox-static copied into an empty image (there is no
# registry to pull from). Tag: atoll-test-busybox:latest. Also atoll-test-redis (below).
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$(command -v busybox)" "$dir/busybox"
cat >"$dir/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/sh"]
DOCKERFILE
docker build -q -t atoll-test-busybox:latest "$dir" >/dev/null
# A second tag, so tests can change an app's image (the console's rolling-upgrade test does).
docker tag atoll-test-busybox:latest atoll-test-busybox:v2
echo "built atoll-test-busybox:latest (and :v2)"

# A real server for the catalog's end-to-end install: Debian's redis-server with the libraries it
# links, and busybox for the shell its package's `cmd` runs in. Tag: atoll-test-redis:latest.
rdir=$(mktemp -d)
trap 'rm -rf "$dir" "$rdir"' EXIT
mkdir -p "$rdir/root/bin" "$rdir/root/data"
cp "$(command -v busybox)" "$rdir/root/bin/busybox"
cp -L "$(command -v redis-server)" "$rdir/root/bin/redis-server"
for lib in $(ldd "$(command -v redis-server)" | grep -o '/[^ ]*'); do
  mkdir -p "$rdir/root$(dirname "$lib")"
  cp -L "$lib" "$rdir/root$lib"
done
cat >"$rdir/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
CMD ["/bin/redis-server"]
DOCKERFILE
docker build -q -t atoll-test-redis:latest "$rdir" >/dev/null
echo "built atoll-test-redis:latest"
