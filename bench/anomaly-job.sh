#!/usr/bin/env bash
# The anomaly job against reading Kafka alone, per fleet size, and its detection latency at
# 10,000 readings/s; one run on a local MiniCluster, everything on loopback.
# Usage: bench/anomaly-job.sh [readings per measurement] [fleet sizes] [latency seconds]
#        (BENCH_JAVA_OPTS="-Dbench.rounds=5" for more rounds of (a), (c) and (b); default 3, after
#         "-Dbench.warmups=2" rounds not counted;
#         "-Dbench.jobs=b" for (b) alone, to see it once the JIT has settled;
#         "-Dbench.variants=FILE,FILE" for (b) again with each of these rules files, same rounds)
#        (default 10000000 10000,100000 40)
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl benchmarks -am package -DskipTests -Dspotless.check.skip
exec java -Xmx3g ${BENCH_JAVA_OPTS:-} -cp "benchmarks/target/classes:$(cat benchmarks/target/classpath.txt)" \
  io.plantwatch.bench.AnomalyJobBenchmark "$@"
