# The chainwatch image from binaries built outside Docker (scripts/images): docker/Dockerfile's
# runtime target plus the context scripts/images assembles (bin/: build/bin's chainwatch
# binaries, stripped; config/). Same layout as docker/Dockerfile's chainwatch target.
ARG RUNTIME=chainwatch-runtime:latest
FROM ${RUNTIME}
COPY bin/ /usr/local/bin/
COPY config /etc/chainwatch/config
WORKDIR /etc/chainwatch
USER nobody
ENTRYPOINT []
CMD ["chainwatch", "--help"]
