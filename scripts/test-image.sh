#!/usr/bin/env bash
# Builds the image the tests run: Debian's busybox-static copied into an empty image (there is no
# registry to pull from). Tag: atoll-test-busybox:latest.
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
