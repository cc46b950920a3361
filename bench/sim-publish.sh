#!/usr/bin/env bash
# Publish rate of sensor-sim to HiveMQ CE embedded and to mosquitto at QoS 0 and 1, against the
# bare HiveMQ client in the same run, then rate accuracy at 10,000 readings/s.
# Usage: bench/sim-publish.sh [seconds per measurement] [rounds] [rate seconds]   (default 10 3 20)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-prerequisites.sh
./mvnw -B -q -pl benchmarks -am package -DskipTests -Dspotless.check.skip
exec java -Xmx1g -cp benchmarks/target/benchmarks.jar io.plantwatch.bench.SimulatorPublishBenchmark "$@"
