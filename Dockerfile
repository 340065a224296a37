# syntax=docker/dockerfile:1
# One image, two entry points:
#   controller (Deployment):  node dist/workers/controller.js   (the image default; runs as uid 1000)
#   node agent (DaemonSet):   node dist/workers/node-agent.js   (the chart runs it as root: host sysfs writes)
#
#   docker build -t <registry>/multi-eni-controller:<version> .

# --- build: compile TypeScript and bundle the workflow code (npm run build) ---------------------------------
FROM node:24-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# `npm install` with the lock rather than `npm ci`: the lock was made where other platforms' optional
# binaries (@swc/core-darwin-*, ...) are not served, and `npm ci` refuses a lock without them.
RUN npm install --no-audit --no-fund
COPY . .
RUN npm run build

# --- production dependencies only -----------------------------------------------------------------------
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime --------------------------------------------------------------------------------------------
FROM node:24-bookworm-slim
# iproute2: the node agent sets MTUs and brings links up with `ip`. ca-certificates: TLS to AWS and Temporal
# Cloud from the Temporal SDK's native core, which reads the system trust store. tini: PID 1 that forwards
# SIGTERM (the workers drain in-flight activities on it) and reaps the `ip` children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# "type": "module": dist/ is ES modules.
COPY package.json ./
# The `node` user of the base image. The controller needs no privilege; the DaemonSet overrides the user for
# the node agent (runAsUser: 0), see helm/multi-eni-controller/templates/node-agent-daemonset.yaml.
USER 1000:1000
ENTRYPOINT ["/usr/bin/tini", "--", "node"]
CMD ["dist/workers/controller.js"]
