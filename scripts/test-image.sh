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
echo "built atoll-test-busybox:latest"
