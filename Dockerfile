# The xqt server, and the providers' local stand-ins for the demo stack (docker compose up -d).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p xqt -p xqt-tests --bin xqt --bin xqt-fakes

# Aliyun SMS, JPush and e签宝 stand-ins (tests/src/bin/xqt-fakes.rs): the demo's providers.
FROM debian:bookworm-slim AS fakes
COPY --from=build /src/target/release/xqt-fakes /usr/local/bin/xqt-fakes
EXPOSE 9101 9102 9103
ENTRYPOINT ["xqt-fakes"]

FROM debian:bookworm-slim AS server
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/xqt xqt && mkdir -p /var/lib/xqt && chown xqt /var/lib/xqt
COPY --from=build /src/target/release/xqt /usr/local/bin/xqt
USER xqt
WORKDIR /var/lib/xqt
ENV XQT_LISTEN=0.0.0.0:8443 XQT_DATA_DIR=/var/lib/xqt
EXPOSE 8443
# The probe speaks HTTPS to the server's own (self-signed in the demo) certificate.
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsSk https://127.0.0.1:8443/readyz || exit 1
ENTRYPOINT ["xqt"]
CMD ["serve"]
