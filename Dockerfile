# tenant-operator image: Node 24 LTS, production dependencies only, non-root, full ICU and tzdata.
# Build: make docker-build (needs a Docker engine; CI does not build images).
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev

FROM gcr.io/distroless/nodejs24-debian12:nonroot
# Node's official builds carry full ICU; distroless ships /usr/share/zoneinfo for IANA zones.
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
USER nonroot
EXPOSE 8080
# glibc gives each thread that allocates its own malloc arena (up to 8 per core); V8's GC helper
# threads and libuv's pool then keep freed memory in arenas of their own. Two arenas: measured at
# 300 tenants in one run (issue 13), peak RSS 242 instead of 263 MiB, CPU unchanged. The bench
# reads ENV lines from here too.
ENV MALLOC_ARENA_MAX=2
# Node itself is PID 1 and handles SIGTERM (src/main.ts shuts down gracefully).
# V8 flags (the bench reads them from here: one place). --max-semi-space-size=4: a young generation
# of 4 MiB semi-spaces instead of the 1 MiB --optimize-for-size forces (it caps them whatever else
# is set), so short-lived objects (JSON of every watch event and answer) die young instead of being
# scavenged over and over; --heap-growing-percent=25: the old generation grows by 1.25x between full
# collections, keeping the heap near the live set as --optimize-for-size did. Measured at 100
# tenants in one run against --optimize-for-size (issue 13): operator CPU per tenant -40 %, peak
# RSS 217 instead of 191 MiB; without the growth cap RSS reached 371 MiB. At 1000 tenants (one run
# each, ca78517), 25 instead of 50: peak RSS cold / steady / restart 266 / 282 / 299 MiB instead
# of about 313 / 314 / 319, with no more operator CPU (the live set is ~100 MiB; most of the rest
# was garbage waiting for the next full collection). See README, Benchmark.
# --memory-saver-mode: Node 24's V8 keeps every heap page a collection frees in a pool, resident,
# until a memory-reducing collection, which a busy process hardly gets: RSS stays at the heap's
# high-water mark for good. In memory-saver mode every full collection reduces memory and gives
# the pool back. At 3000 tenants (one run each, 7c0b626 against 597fd5a): peak RSS cold / steady /
# restart 325 / 317 / 366 instead of 361 / 380 / 375 MiB; the price is operator CPU, +20 % in the
# cold phase and +28 % afterwards, and 5 % more time to onboard the 3000 (891 instead of 848 s).
# Memory is what gets a pod killed; CPU is only throttled.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=4", "--heap-growing-percent=25", "--memory-saver-mode", "dist/main.js"]
