# The inference service's image: `hyscale serve` on a slim Debian 12, CPU only.
#
#   podman build --format docker -f docker/serve.Dockerfile -t hyscale-serve .      (or docker build)
#   podman run -d -p 8080:8080 hyscale-serve
#   curl -d '{"current_instances": 5, "forecast_periods": 60}' localhost:8080/api/autoscale
#
# A build stage compiles the program on Debian bookworm with the -dev packages and CMake
# (CUDA off, Release); the runtime stage holds only the shared libraries the binary links
# (checked with ldd at build time) and curl for the HEALTHCHECK. The service runs as a non-root
# user (uid 10001) and reads its model from /model, which comes from one of three places, chosen
# with the build target (each is the runtime stage plus its model):
#   serve-demo   (the default, the last stage) a small run made in the build stage by the very
#                binary that serves it (tests/support/make_run.sh: 2 synthetic days, a few
#                seconds), for trying the image
#   serve-dir    a run folder from the build context: --target serve-dir, and --build-arg
#                MODEL_DIR=PATH (default docker/model: cp -r outputs/run-.../. docker/model/ first;
#                .dockerignore keeps outputs/ out of the context, so the run must be copied)
#   serve-mount  an empty /model: mount a run folder at run time, -v /path/to/run:/model:ro
# State (--state) is not on by default; to keep observations, mount a volume and pass the flag:
#   podman run -v hs-state:/var/lib/hyscale IMAGE --state /var/lib/hyscale
# (arguments after the image are appended to the entrypoint's).
# The targets are stages rather than a FROM chosen by a build argument: buildah (podman build)
# skips stages it does not see used, and it does not see through `FROM model-${ARG}`.

# ---- build: the program, from the context (see ../.dockerignore) -----------------------------
FROM debian:bookworm AS build
# the build packages of scripts/install-deps.sh without the test-only ones (Criterion, python3):
# tests are not built here (BUILD_TESTING=OFF); plplot-driver-cairo is for the demo run's plots
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libcsv-dev libcjson-dev libopenblas-dev liblbfgs-dev libplplot-dev plplot-driver-cairo \
      libcurl4-openssl-dev libarchive-dev libmicrohttpd-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
ARG JOBS=2
RUN cmake -S . -B /build -DHS_CUDA=OFF -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build /build -j"${JOBS}" --target hyscale \
 && install -m 0755 /build/hyscale /usr/local/bin/hyscale \
 && /usr/local/bin/hyscale serve --help >/dev/null

# the demo model: made by the binary above, copied into serve-demo only
FROM build AS model-demo
RUN tests/support/make_run.sh /usr/local/bin/hyscale /model && rm -f /model/.made-by

# ---- runtime: what every serve-* target shares -----------------------------------------------
FROM debian:bookworm-slim AS runtime
# what `ldd hyscale` resolves to (libopenblas0 brings the pthread variant, libgomp1 is OpenMP);
# PLplot's cairo driver is not linked (it is loaded only to draw plots, which serve never does)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcsv3 libcjson1 libopenblas0 liblbfgs0 libplplot17 libcurl4 libarchive13 \
      libmicrohttpd12 libsqlite3-0 libgomp1 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin hyscale \
 && install -d -o 10001 -g 10001 /var/lib/hyscale \
 && install -d /model
COPY --from=build /usr/local/bin/hyscale /usr/local/bin/hyscale
# fail the build here, not at the first start, if a library is missing
RUN if ldd /usr/local/bin/hyscale | grep 'not found'; then exit 1; fi \
 && /usr/local/bin/hyscale serve --help >/dev/null
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=15s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/hyscale", "serve", "--model", "/model", "--host", "0.0.0.0", "--port", "8080"]

FROM runtime AS serve-mount

FROM runtime AS serve-dir
ARG MODEL_DIR=docker/model
COPY ${MODEL_DIR}/ /model/

# the default target: the last stage
FROM runtime AS serve-demo
COPY --from=model-demo /model /model
