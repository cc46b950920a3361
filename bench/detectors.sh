#!/usr/bin/env bash
# The anomaly job's detectors alone (no Flink), per reading, for fleets of 1,000 to 100,000
# sensors: JMH, average time per reading. Extra arguments go to JMH (e.g. -p sensors=10000).
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl benchmarks -am package -DskipTests -Dspotless.check.skip
exec java ${BENCH_JAVA_OPTS:-} -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
  org.openjdk.jmh.Main DetectorsBenchmark "$@"
