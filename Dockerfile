# syntax=docker/dockerfile:1
#
# obsadapter container image: a static binary on distroless "static" (CA roots, tzdata, passwd entry for
# 65532 "nonroot", /tmp), run as 65532:65532. Multi-platform:
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg VERSION=$(git describe --tags --always) --build-arg REVISION=$(git rev-parse HEAD) .
#
# The binary is built by deploy/build-binary.sh, the same script the Docker-less image builder's tests use
# (deploy/image), so both images carry a binary built with the same flags. There is no HEALTHCHECK:
# Kubernetes ignores it; the probes on /healthz and /readyz in deploy/kubernetes/ do that job.

ARG GO_VERSION=1.26.8

# The build stage runs on the build machine's platform and cross-compiles (CGO is off), so an arm64 image
# does not need emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=${TARGETOS} GOARCH=${TARGETARCH} VERSION=${VERSION} REVISION=${REVISION} \
    sh deploy/build-binary.sh /out/obsadapter \
 && mkdir -p /out/state

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="obsadapter" \
      org.opencontainers.image.description="Log and process adapter sidecar: tails any log format, serves Prometheus metrics, forwards to Fluentd" \
      org.opencontainers.image.source="https://github.com/obsadapter/obsadapter" \
      org.opencontainers.image.documentation="https://github.com/obsadapter/obsadapter/blob/main/docs/kubernetes.md" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/obsadapter /obsadapter
# The default state_dir, writable by the runtime user when the root filesystem is writable; with
# readOnlyRootFilesystem the manifests mount an emptyDir here.
COPY --from=build --chown=65532:65532 /out/state /var/lib/obsadapter
USER 65532:65532
EXPOSE 9725
ENTRYPOINT ["/obsadapter"]
CMD ["run"]
