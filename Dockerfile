# One image for the worker, the API and the simulator (the command picks which).
# Production talks to a Temporal cluster, so the dev-server toolchain is not installed here.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production FLEET_SKIP_TOOLCHAIN=1
COPY package.json package-lock.json ./
COPY scripts ./scripts
RUN npm install --omit=dev && npm cache clean --force
COPY . .
# Workflows bundled once here, with the image's own @temporalio/worker: the worker loads the bundle
# instead of running webpack at every start.
RUN node --import tsx scripts/build-workflow-bundle.ts /app/dist/workflow-bundle.js
ENV FLEET_WORKER_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js
USER node
CMD ["node", "--import", "tsx", "worker/main.ts"]
