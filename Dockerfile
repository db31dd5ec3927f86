# One image, every role: choose with ROLES (api, processor, sync, or all).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production APOLLO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/schema schema
COPY package.json ./
USER node
EXPOSE 4001
CMD ["node", "dist/main.js"]
