# The service as an Azure Functions custom handler: the Functions host (.NET) receives the
# requests and forwards `POST /api/autoscale` as is to `hyscale serve`, which it starts itself
# from docker/azure/host.json on the port it hands over in FUNCTIONS_CUSTOMHANDLER_PORT.
#
#   podman build --format docker -f docker/serve.Dockerfile -t hyscale-serve .
#   podman build --format docker -f docker/azure.Dockerfile --build-arg SERVE_IMAGE=hyscale-serve -t hyscale-func .
#   podman run -p 8080:80 hyscale-func
#   curl -d '{"current_instances": 5, "forecast_periods": 60}' 'localhost:8080/api/autoscale?code=KEY'
#
# The program and its model are not built again: they are copied from the serve image
# (SERVE_IMAGE, built first from docker/serve.Dockerfile), so both images carry the same binary.
# The base is Microsoft's .NET 8 Functions image, Debian 12 underneath as the serve image's
# build stage, so the binary runs on it once the same runtime libraries are installed.
# Not tried here: no registry that serves mcr.microsoft.com can be reached from our machines
# (docker/README.md says what was checked instead).
ARG SERVE_IMAGE=hyscale-serve:latest
ARG FUNCTIONS_IMAGE=mcr.microsoft.com/azure-functions/dotnet:4-dotnet8.0

FROM ${SERVE_IMAGE} AS serve

FROM ${FUNCTIONS_IMAGE}
# the runtime libraries of serve.Dockerfile's runtime stage (the binary's ldd)
USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libcsv3 libcjson1 libopenblas0 liblbfgs0 libplplot17 libcurl4 libarchive13 \
      libmicrohttpd12 libsqlite3-0 libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=serve /usr/local/bin/hyscale /usr/local/bin/hyscale
COPY --from=serve /model /model
RUN if ldd /usr/local/bin/hyscale | grep 'not found'; then exit 1; fi
# the function app: host.json at the root, one folder per function (autoscale/function.json)
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    FUNCTIONS_WORKER_RUNTIME=custom
COPY docker/azure/ /home/site/wwwroot/
