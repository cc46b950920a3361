#!/usr/bin/env bash
# The gateway's decoding of one Sparkplug B data message (JMH, average time per message): a DDATA
# of one metric and of five by alias, five by name, against design.md's JSON of one reading in the
# same run. Extra arguments go to JMH.
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl benchmarks -am package -DskipTests -Dspotless.check.skip
exec java ${BENCH_JAVA_OPTS:-} -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
  org.openjdk.jmh.Main SparkplugDecodeBenchmark "$@"
