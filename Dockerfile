# task-manager: one image for both roles; APP_ROLE=api | worker | both picks what a container runs.
#
#   docker build -t task-manager .
#   docker run -e APP_ROLE=api -e DATABASE_URL=... -e REDIS_URL=... -p 8084:8084 task-manager

# Prisma 7 needs Node ^20.19; the node:20 tag tracks the newest 20.x.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- deps: every dependency, and the Prisma client the postinstall generates --------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# The postinstall (scripts/prisma-generate.js) runs `prisma generate`, which reads
# prisma.config.ts and prisma/schema.prisma and writes src/generated/prisma; if an npm
# policy skipped it, generate explicitly rather than fail later in the build.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
RUN npm ci --no-audit --no-fund \
 && if [ ! -f src/generated/prisma/client.ts ]; then npm run prisma:generate; fi \
 && test -f src/generated/prisma/client.ts

# --- build: compile src/ (the generated client included) into dist/ -------------------------
FROM deps AS build
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build

# --- runtime: production dependencies, compiled code, and what migrations need -----------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    APP_ROLE=both \
    PORT=8084 \
    HOST=0.0.0.0 \
    UPLOAD_DIR=/app/uploads
WORKDIR /app

# --ignore-scripts: the postinstall would regenerate the Prisma client, which the build stage
# already compiled into dist/generated (the prisma CLI is a devDependency; it only arrives
# here as @prisma/client's optional peer). Dependencies' native parts come as prebuilt
# optional packages, so none of their install scripts is needed either.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

COPY --from=build /app/dist ./dist
# Migrations run at start through Prisma's WASM schema engine: scripts/migrate.ts is loaded
# by @swc-node/register (reads tsconfig.json), both it and the engine are production deps.
COPY tsconfig.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts

# The uploads directory exists and belongs to the runtime user, so a named volume mounted
# here starts with that ownership and the service can write to it.
RUN mkdir -p /app/uploads && chown node:node /app/uploads
USER node

EXPOSE 8084

# Liveness only (no dependency checks; /health/ready covers those). The worker role serves
# no HTTP, so there is nothing to probe: its heartbeats show in the api's
# /api/v1/stats/system, and a crash ends the container. slim has no curl: use node's fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "if (process.env.APP_ROLE === 'worker') process.exit(0); fetch('http://127.0.0.1:' + (process.env.PORT || 8084) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Apply pending migrations (idempotent; serialized by an advisory lock, so several
# containers may start at once), then replace the shell with node so it receives SIGTERM
# directly and shuts down gracefully.
CMD ["sh", "-c", "node -r @swc-node/register scripts/migrate.ts deploy && exec node dist/main.js"]
