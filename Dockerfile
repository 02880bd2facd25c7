# ws-manager gateway image: `docker build -t registry.staging.internal/ws-manager:0.1.0 .`
# Build stage compiles TypeScript; the runtime stage holds production dependencies and dist/ only and runs
# as a non-root user. k8s/staging-canary.yaml runs it with a read-only root filesystem.

FROM node:24-slim AS build
WORKDIR /app
# Dependencies first so source edits reuse this layer. --ignore-scripts: the `prepare` script would run
# the TypeScript build before the sources are copied; the build runs explicitly below.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# In a container the gateway must listen on every interface (its default, 127.0.0.1, is for a laptop).
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000
# The image's `node` user (uid/gid 1000), given by number so Kubernetes can verify runAsNonRoot.
USER 1000:1000
# What `npm start` runs (package.json "start"), without npm in between: SIGTERM from the kubelet reaches
# node directly and starts the gateway's drain.
CMD ["node", "dist/src/cli.js", "serve"]
