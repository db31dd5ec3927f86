# One image, every role: choose with ROLES (api, processor, sync, collector, or all).
FROM node:20-bookworm-slim AS build
ENV APOLLO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build

# The compose stack's helpers (the example users subgraph, the supergraph's composition): the dev tools kept.
FROM build AS tools

FROM build AS runtime-deps
RUN npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production APOLLO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
WORKDIR /app
COPY --from=runtime-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/schema schema
COPY --from=build /app/public public
COPY package.json ./
USER node
EXPOSE 4001 4003
CMD ["node", "dist/main.js"]
