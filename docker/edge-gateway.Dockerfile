# syntax=docker/dockerfile:1
# edge-gateway: MQTT in, Kafka out. Built from the repository root (compose: context ..).

FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
COPY . .
# The cache mount keeps Maven's downloads (and the wrapper's Maven) between builds.
RUN --mount=type=cache,target=/root/.m2 \
    sh ./mvnw -B -q -pl edge-gateway -am package -DskipTests -Dspotless.check.skip

FROM eclipse-temurin:17-jre
RUN groupadd --system plantwatch \
    && useradd --system --gid plantwatch --home-dir /opt/plantwatch --no-create-home plantwatch
WORKDIR /opt/plantwatch
COPY --from=build /src/edge-gateway/target/edge-gateway.jar /opt/plantwatch/edge-gateway.jar
USER plantwatch
# /metrics and /health (http.port in config/gateway.yaml).
EXPOSE 9400
ENTRYPOINT ["java", "-jar", "/opt/plantwatch/edge-gateway.jar"]
