#!/usr/bin/env bash
# The job's InfluxDB writer against influxdb-client-java writing the same points directly, into
# QuestDB in-process (InfluxDB's v2 write API), in one run.
# Usage: bench/influx-writer.sh [points] [rounds] [batch size] [gzip]   (default 400000 3 5000 false)
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl benchmarks -am package -DskipTests -Dspotless.check.skip
exec java -Xmx2g ${BENCH_JAVA_OPTS:-} -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
  io.plantwatch.bench.InfluxWriterBenchmark "$@"
