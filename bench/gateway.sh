#!/usr/bin/env bash
# The gateway against the raw speed of its parts in one run: (a) broker, (b) Kafka's own producer
# perf tool, (c) simulator -> HiveMQ -> gateway -> Kafka, and latency at 10,000 readings/s.
# Usage: bench/gateway.sh [readings per measurement] [rounds]   (default 80000 3)
# BENCH_JAVA_OPTS="-Dbench.brokers=mosquitto -Dbench.mqtt-version=3" picks brokers and the
# gateway's MQTT version.
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl benchmarks -am package -DskipTests -Dspotless.check.skip
exec java -Xmx2g ${BENCH_JAVA_OPTS:-} -cp benchmarks/target/benchmarks.jar io.plantwatch.bench.GatewayThroughputBenchmark "$@"
