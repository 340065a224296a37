# syntax=docker/dockerfile:1
# One image, two entry points:
#   controller (Deployment):  node dist/workers/controller.js   (the image default; runs as uid 1000)
#   node agent (DaemonSet):   node dist/workers/node-agent.js   (the chart runs it as root: host sysfs writes)
#
#   docker build -t <registry>/multi-eni-controller:<version> .
#
# The bases are build arguments with the official Node.js LTS images as defaults, so `docker build .` needs
# nothing more. dev/image/build.sh passes bases it makes itself (Debian bookworm minbase + the `node` binary of
# the building machine; npm in the build one), where no registry image can be pulled. A build base needs node
# and npm; a runtime base needs node, and gets iproute2, ca-certificates and tini below when it lacks them.
ARG NODE_BUILD_IMAGE=node:24-bookworm
ARG NODE_RUNTIME_IMAGE=node:24-bookworm-slim

# --- build: compile TypeScript and bundle the workflow code (npm run build) ---------------------------------
FROM ${NODE_BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# `npm install` with the lock rather than `npm ci`: the lock was made where other platforms' optional
# binaries (@swc/core-darwin-*, ...) are not served, and `npm ci` refuses a lock without them. npm's cache is a
# cache mount: kept between builds, never in a layer.
RUN --mount=type=cache,id=multi-eni-npm,target=/root/.npm npm install --no-audit --no-fund
COPY . .
RUN npm run build

# --- production dependencies only (on the build base: npm is needed here, not in the runtime image) -------
FROM ${NODE_BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,id=multi-eni-npm,target=/root/.npm npm install --omit=dev --no-audit --no-fund

# --- runtime --------------------------------------------------------------------------------------------
FROM ${NODE_RUNTIME_IMAGE}
# iproute2: the node agent sets MTUs and brings links up with `ip`. ca-certificates: TLS to AWS and Temporal
# Cloud from the Temporal SDK's native core, which reads the system trust store. tini: PID 1 that forwards
# SIGTERM (the workers drain in-flight activities on it) and reaps the `ip` children. Installed unless the
# base has them already (dev/image/build.sh's does: no network needed then).
RUN missing=""; \
    for p in iproute2 ca-certificates tini; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"; done; \
    if [ -n "$missing" ]; then \
      apt-get update && apt-get install -y --no-install-recommends $missing && rm -rf /var/lib/apt/lists/*; \
    fi
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
