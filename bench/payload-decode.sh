#!/usr/bin/env bash
# The gateway's decoding of one MQTT message per payload format (JMH, average time per message):
# design.md's JSON with no payload-formats as the baseline, the same through three payload-formats
# entries, a bare value, a machine's message of three readings. Extra arguments go to JMH.
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl benchmarks -am package -DskipTests -Dspotless.check.skip
exec java ${BENCH_JAVA_OPTS:-} -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
  org.openjdk.jmh.Main PayloadDecodeBenchmark "$@"
