#!/usr/bin/env bash
# npm start: install what is missing (npm packages, PostgreSQL, RabbitMQ), then run the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-system-deps.sh
exec node --import tsx src/dev-stack/main.ts
