# Attune as a container image: a static binary (CGO_ENABLED=0: the SQLite
# driver is pure Go) on a distroless base, run as a non-root user.
#   docker build -t attune .
#   docker run -p 8080:8080 -v attune-data:/data attune
# deploy/compose.yaml runs two replicas with PostgreSQL, NATS and S3.

# --- build ---
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /out/attune ./cmd/attune
# The data directory must exist and belong to the runtime user: the
# distroless image has no shell to create it.
RUN mkdir -p /out/data

# --- run ---
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/attune /attune
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# The API port and the admin port (Prometheus /metrics, /debug/pprof: keep
# it private). Both listen on every interface inside the container.
ENV ATTUNE_LISTEN=0.0.0.0:8080 \
    ATTUNE_ADMIN_LISTEN=0.0.0.0:9464 \
    ATTUNE_DATA_DIR=/data \
    ATTUNE_LOG_FORMAT=json
EXPOSE 8080 9464
VOLUME ["/data"]
ENTRYPOINT ["/attune"]
CMD ["serve"]
