#!/bin/sh
# Builds the static obsadapter binary. The Dockerfile and the deploy module's tests both run this
# script, so the Docker image and the image written by deploy/image carry a binary built with the
# same flags. Usage, from anywhere:
#
#   VERSION=1.2.3 REVISION=$(git rev-parse HEAD) GOOS=linux GOARCH=arm64 deploy/build-binary.sh OUT
#
# VERSION and REVISION are stamped into main.version and main.revision. GOOS and GOARCH select the
# target as usual. -buildvcs=false keeps the binary independent of the working tree's git state (the
# revision is given explicitly), so the same sources and Go version give the same bytes.
set -eu
out=${1:?usage: build-binary.sh OUTPUT}
case $out in
/*) ;;
*) out=$PWD/$out ;;
esac
cd "$(dirname "$0")/.."
CGO_ENABLED=0 exec go build -trimpath -buildvcs=false \
	-ldflags "-s -w -X main.version=${VERSION:-dev} -X main.revision=${REVISION:-unknown}" \
	-o "$out" .
