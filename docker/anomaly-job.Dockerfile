# syntax=docker/dockerfile:1
# The anomaly job inside Flink, for application mode (standalone-job): the JobManager and the
# TaskManager both run this image. Built from the repository root (compose: context ..).

FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
COPY . .
# The cache mount keeps Maven's downloads (and the wrapper's Maven) between builds.
RUN --mount=type=cache,target=/root/.m2 \
    sh ./mvnw -B -q -pl anomaly-job -am package -DskipTests -Dspotless.check.skip

# Flink and Java as the job is built against (flink.version in pom.xml, Java 17).
FROM flink:2.2.1-java17
# The image runs as the user flink. The checkpoint volume takes this directory's owner on first
# use, so flink can write checkpoints into it.
RUN mkdir -p /tmp/flink-checkpoints && chown flink:flink /tmp/flink-checkpoints
# The same for the InfluxDB writer's spool (influx.spool-dir in compose.yaml), which needs root to
# create below /var/lib.
USER root
RUN mkdir -p /var/lib/plantwatch/influx-spool \
    && chown -R flink:flink /var/lib/plantwatch
USER flink
COPY --from=build --chown=flink:flink \
    /src/anomaly-job/target/anomaly-job.jar /opt/flink/usrlib/anomaly-job.jar
# The JobManager's entrypoint (compose.yaml): resume from the newest retained checkpoint or
# savepoint in /tmp/flink-checkpoints, then Flink's own /docker-entrypoint.sh.
COPY --chmod=0755 docker/flink/restore-entrypoint.sh /opt/plantwatch/restore-entrypoint.sh
