# Training jobs on a GPU: `hyscale run --device cuda` (and every stage command) in an image on
# NVIDIA's CUDA base, cuDNN included (the LSTM's cudnn implementation links it).
#
#   podman build --format docker -f docker/train.Dockerfile -t hyscale-train .
#   podman run --device nvidia.com/gpu=all -v "$PWD/outputs:/work/outputs" hyscale-train
#   docker run --gpus all -v "$PWD/outputs:/work/outputs" hyscale-train run --device cuda --days 14
#
# The run folder lands in /work/outputs/run-<UTC time>/ (mount it, as above); a later
# `hyscale serve --model` (docker/serve.Dockerfile) serves it. CUDA_TAG picks the toolkit (12.x
# with cuDNN 9; HS_CUDA_ARCHITECTURES the GPUs, 80 = A100, 90 = H100/H200). Ubuntu 22.04's CMake
# (3.22) is older than the project's minimum (3.25): CMake comes from PyPI in the build stage.
# Not tried here: no registry that serves nvidia/cuda can be reached from our machines
# (docker/README.md says what was checked instead).
ARG CUDA_TAG=12.6.3

FROM nvidia/cuda:${CUDA_TAG}-cudnn-devel-ubuntu22.04 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential pkg-config python3-pip \
      libcsv-dev libcjson-dev libopenblas-dev liblbfgs-dev libplplot-dev \
      libcurl4-openssl-dev libarchive-dev libmicrohttpd-dev libsqlite3-dev \
 && rm -rf /var/lib/apt/lists/* \
 && pip3 install --no-cache-dir 'cmake>=3.25,<4'
WORKDIR /src
COPY . .
ARG JOBS=4
ARG HS_CUDA_ARCHITECTURES="80;90"
RUN cmake -S . -B /build -DHS_CUDA=ON -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
      "-DHS_CUDA_ARCHITECTURES=${HS_CUDA_ARCHITECTURES}" \
 && cmake --build /build -j"${JOBS}" --target hyscale \
 && install -m 0755 /build/hyscale /usr/local/bin/hyscale

FROM nvidia/cuda:${CUDA_TAG}-cudnn-runtime-ubuntu22.04
# the runtime libraries (Ubuntu 22.04 names, the same sonames as Debian 12's), PLplot's cairo
# driver for the run's plots, CA certificates for `hyscale download` (HTTPS)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcsv3 libcjson1 libopenblas0 liblbfgs0 libplplot17 plplot-driver-cairo libcurl4 \
      libarchive13 libmicrohttpd12 libsqlite3-0 libgomp1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin hyscale \
 && install -d -o 10001 -g 10001 /work /work/outputs
COPY --from=build /usr/local/bin/hyscale /usr/local/bin/hyscale
# libcuda.so.1 is the host driver's, mounted when the container starts on a GPU
RUN if ldd /usr/local/bin/hyscale | grep 'not found' | grep -v 'libcuda\.so'; then exit 1; fi
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/hyscale"]
CMD ["run", "--device", "cuda"]
