# One image for the worker, the API and the simulator (the command picks which).
# Production talks to a Temporal cluster, so the dev-server toolchain is not installed here.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production FLEET_SKIP_TOOLCHAIN=1
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm install --omit=dev && npm cache clean --force
COPY . .
USER node
CMD ["node", "--import", "tsx", "worker/main.ts"]
