# The xqt server for the production-like setup (docker compose up -d).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p xqt

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/xqt xqt && mkdir -p /var/lib/xqt && chown xqt /var/lib/xqt
COPY --from=build /src/target/release/xqt /usr/local/bin/xqt
USER xqt
WORKDIR /var/lib/xqt
ENV XQT_LISTEN=0.0.0.0:8080 XQT_DATA_DIR=/var/lib/xqt
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["xqt"]
CMD ["serve"]
