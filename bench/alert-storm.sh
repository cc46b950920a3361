#!/usr/bin/env bash
# The alerting service taking in an alert storm, end to end: N alerts opened and resolved wait in a
# Kafka of its own, the service starts, and each round prints the time until a webhook has been
# told every resolution, with the events per second. The journal is forced to the disk of [dir],
# as in the product (default: java.io.tmpdir); put it on the disk the service will use.
# Usage: bench/alert-storm.sh [alerts] [rounds] [dir]   (default 10000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
./mvnw -B -q -pl alerting -am test-compile dependency:build-classpath -Dspotless.check.skip \
  -Dmdep.outputFile=target/test.classpath -Dmdep.includeScope=test
exec java -Xmx1g ${BENCH_JAVA_OPTS:-} \
  -cp "alerting/target/test-classes:alerting/target/classes:$(cat alerting/target/test.classpath)" \
  io.plantwatch.alerting.AlertStormIngest "$@"
