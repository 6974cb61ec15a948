# The browser page (clients/web: React + TypeScript on @connectrpc/connect-web), built with
# Vite into server/feedback_server/static/ (checked in: the server serves it at `/` on its HTTP
# port, so running needs no Node). docs/web.md tells how it works.
#
#   make web        npm ci on first use, type check, then rebuild server/feedback_server/static/
#   make web-test   the page's unit tests (Vitest); `make test` runs them too, through pytest
#   make web-dev    Vite's dev server (needs a feedback server on the same origin, see docs/web.md)
#
# Tools: Node.js >= 20.19 + npm; the pinned packages land in clients/web/node_modules.
.PHONY: web web-test web-dev

WEB_TOOLCHAIN := bash -c 'source scripts/polyglot/tools.sh && ensure_web_toolchain'

web:
	$(WEB_TOOLCHAIN)
	cd clients/web && npm run --silent build

web-test:
	$(WEB_TOOLCHAIN)
	cd clients/web && npm run --silent test

web-dev:
	$(WEB_TOOLCHAIN)
	cd clients/web && npm run --silent dev
