# syntax=docker/dockerfile:1
# sensor-sim: a simulated plant publishing over MQTT. Built from the repository root (compose:
# context ..).

FROM eclipse-temurin:17-jdk AS build
WORKDIR /src
COPY . .
# The cache mount keeps Maven's downloads (and the wrapper's Maven) between builds.
RUN --mount=type=cache,target=/root/.m2 \
    sh ./mvnw -B -q -pl simulators -am package -DskipTests -Dspotless.check.skip

FROM eclipse-temurin:17-jre
RUN groupadd --system plantwatch \
    && useradd --system --gid plantwatch --home-dir /opt/plantwatch --no-create-home plantwatch
WORKDIR /opt/plantwatch
COPY --from=build /src/simulators/target/sensor-sim.jar /opt/plantwatch/sensor-sim.jar
USER plantwatch
ENTRYPOINT ["java", "-jar", "/opt/plantwatch/sensor-sim.jar"]
