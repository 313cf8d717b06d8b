# ViolaWake Console image: the API and the workers run from the same image (`violawake serve --no-workers` and
# `violawake worker`); see docs/deployment.md and deploy/compose.yaml.
FROM node:20-bookworm-slim
# espeak-ng, flite and festival are the offline speech synthesizers the trainer uses for text-only wake words
RUN apt-get update \
  && apt-get install -y --no-install-recommends espeak-ng flite festival ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund && npm run build -w apps/web
ENV VIOLAWAKE_ENV=production \
    VIOLAWAKE_HOST=0.0.0.0 \
    VIOLAWAKE_PORT=8000 \
    VIOLAWAKE_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["node", "apps/server/bin/violawake.mjs"]
CMD ["serve"]
