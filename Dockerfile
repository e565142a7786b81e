# syntax=docker/dockerfile:1
# One image for SumStream's three processes (add-service, cdc-relay, sum-service) and the
# migration tool. Compose and Kubernetes pick the process with `command:`; every command is
# the one src/dev-stack/serviceProcess.ts serviceCommand() gives and `npm test` runs:
#   node --min-semi-space-size=16 --import tsx src/<service>/main.ts   (migrations: node --import tsx src/migrate/main.ts)
# TypeScript runs through tsx, a runtime dependency, so there is no build step and the image
# runs exactly the files the tests run. test/int/deployment.int.test.ts checks this file.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- deps: production dependencies only ---------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
# tini as PID 1: forwards SIGTERM/SIGINT to node (which then shuts down gracefully, see
# src/shared/lifecycle/runProcess.ts) and reaps zombies. Node itself is not meant to be PID 1.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV BIND_HOST=0.0.0.0 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
COPY --chown=root:root package.json ./
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root proto/ ./proto/
COPY --chown=root:root migrations/ ./migrations/
COPY --chown=root:root src/ ./src/
# The files belong to root and are read-only for the process; it writes only to /tmp (tsx's
# compile cache), so the container can run with a read-only root filesystem.
USER node
# add-service by default; the others: command: ["node", "--min-semi-space-size=16", "--import", "tsx", "src/cdc-relay/main.ts"] etc.
EXPOSE 50051 3001 3002 4000
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--min-semi-space-size=16", "--import", "tsx", "src/add-service/main.ts"]
