# syntax=docker/dockerfile:1
# alerting: alerts from Kafka in, notifications out. Built from the repository root (compose:
# context ..).

FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
COPY . .
# The cache mount keeps Maven's downloads (and the wrapper's Maven) between builds.
RUN --mount=type=cache,target=/root/.m2 \
    sh ./mvnw -B -q -pl alerting -am package -DskipTests -Dspotless.check.skip

FROM eclipse-temurin:17-jre
RUN groupadd --system plantwatch \
    && useradd --system --gid plantwatch --home-dir /opt/plantwatch --no-create-home plantwatch
WORKDIR /opt/plantwatch
# The store (store.dir: data/alerting) lives below data/; a volume mounted there takes this
# directory's owner on first use, so the service can write to it without root.
RUN mkdir -p /opt/plantwatch/data && chown plantwatch:plantwatch /opt/plantwatch/data
COPY --from=build /src/alerting/target/alerting.jar /opt/plantwatch/alerting.jar
USER plantwatch
# The API and /metrics (api.port in config/alerting.yaml).
EXPOSE 9500
ENTRYPOINT ["java", "-jar", "/opt/plantwatch/alerting.jar"]
