# PgBouncer for `docker compose up`: Debian's package, the one the e2e tests run, with
# deploy/pgbouncer.ini mounted at /etc/pgbouncer/pgbouncer.ini. Runs as a numeric
# non-root user (PgBouncer refuses root).
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends pgbouncer=1.18.0-1+deb12u1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10002 pgbouncer \
    && useradd --system --uid 10002 --gid pgbouncer --no-create-home pgbouncer
USER 10002:10002
EXPOSE 6432
CMD ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]
