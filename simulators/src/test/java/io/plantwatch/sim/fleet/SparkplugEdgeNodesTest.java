package io.plantwatch.sim.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.plantwatch.model.RejectReason;
import io.plantwatch.model.SensorId;
import io.plantwatch.model.TopicTemplate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.eclipse.tahu.message.SparkplugBPayloadDecoder;
import org.eclipse.tahu.message.model.Metric;
import org.eclipse.tahu.message.model.SparkplugBPayload;
import org.junit.jupiter.api.Test;

/** The simulated fleet as Sparkplug B edge nodes, read back with Eclipse Tahu's decoder. */
class SparkplugEdgeNodesTest {

    private static FleetSimulation simulation(Fleet fleet, int seconds, Set<AnomalyKind> kinds) {
        return simulation(fleet, seconds, kinds, label -> {});
    }

    private static FleetSimulation simulation(
            Fleet fleet,
            int seconds,
            Set<AnomalyKind> kinds,
            java.util.function.Consumer<Label> labels) {
        return new FleetSimulation(
                fleet,
                new SimulationSettings(
                        fleet.size(),
                        1_764_064_800_000L,
                        Duration.ofSeconds(seconds),
                        Double.POSITIVE_INFINITY,
                        7,
                        List.of(),
                        kinds,
                        kinds.isEmpty() ? 0 : 3600,
                        false,
                        TopicTemplate.defaults()),
                labels,
                true);
    }

    /** Topic, seq and each metric as name-or-alias=value. */
    private static String describe(Emission e) throws Exception {
        SparkplugBPayload p = new SparkplugBPayloadDecoder().buildFromByteArray(e.payload(), null);
        List<String> metrics = new ArrayList<>();
        for (Metric m : p.getMetrics()) {
            metrics.add(
                    (m.getName() != null ? m.getName() : "#" + m.getAlias()) + "=" + m.getValue());
        }
        return e.topic() + " " + p.getSeq() + " " + metrics;
    }

    @Test
    void nodesAreBornBeforeTheirDataAndDieAtTheEnd() throws Exception {
        Fleet fleet = Fleet.generated(24);
        SparkplugEdgeNodes nodes = new SparkplugEdgeNodes(fleet, simulation(fleet, 1, Set.of()));
        List<String> seen = new ArrayList<>();
        int readings = 0;
        while (nodes.hasNext()) {
            Emission e = nodes.next();
            if (e.type() == Emission.Type.READING) {
                readings++;
            }
            seen.add(describe(e));
        }
        assertThat(readings).isEqualTo(24);
        assertThat(seen.get(0))
                .isEqualTo("spBv1.0/site-1/NBIRTH/area-1 0 [bdSeq=0, Node Control/Rebirth=false]");
        assertThat(seen.get(1))
                .startsWith(
                        "spBv1.0/site-1/DBIRTH/area-1/line-1 1 [machine-1/temp-1=null, machine-1/pressure-1=null,");
        assertThat(seen.get(2)).matches("spBv1\\.0/site-1/DDATA/area-1/line-1 2 \\[#0=[0-9.]+]");
        // 20 sensors on line-1, 4 on line-2: its birth comes before its first reading.
        int line2 =
                seen.indexOf(
                        seen.stream()
                                .filter(s -> s.contains("DBIRTH/area-1/line-2"))
                                .findFirst()
                                .orElseThrow());
        assertThat(seen.get(line2 + 1))
                .matches("spBv1\\.0/site-1/DDATA/area-1/line-2 \\d+ \\[#20=[0-9.]+]");
        assertThat(seen.get(seen.size() - 1))
                .isEqualTo("spBv1.0/site-1/NDEATH/area-1 null [bdSeq=0]");
        assertThat(seen).hasSize(24 + 4);
        // Every message after the birth carries the next seq, wrapping at 256.
        for (int i = 1; i < seen.size() - 1; i++) {
            assertThat(seen.get(i)).contains(" " + (i % 256) + " ");
        }
    }

    @Test
    void aRebirthRequestIsAnsweredWithTheNodesBirthsBeforeItsNextReading() throws Exception {
        Fleet fleet = Fleet.generated(8);
        SparkplugEdgeNodes nodes = new SparkplugEdgeNodes(fleet, simulation(fleet, 2, Set.of()));
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            seen.add(describe(nodes.next()));
        }
        // Not asked: a reboot, a rebirth of false, a device's topic, bytes that are no payload.
        nodes.rebirthRequested("spBv1.0/site-1/NCMD/area-1", command("Node Control/Reboot", true));
        nodes.rebirthRequested(
                "spBv1.0/site-1/NCMD/area-1", command("Node Control/Rebirth", false));
        nodes.rebirthRequested(
                "spBv1.0/site-1/NCMD/area-1/x", command("Node Control/Rebirth", true));
        nodes.rebirthRequested("spBv1.0/site-1/NCMD/area-1", "Node Control/Rebirth".getBytes());
        assertThat(describe(nodes.next())).startsWith("spBv1.0/site-1/DDATA/area-1/line-1 5 ");
        nodes.rebirthRequested("spBv1.0/site-1/NCMD/area-1", command("Node Control/Rebirth", true));
        seen.add(describe(nodes.next()));
        seen.add(describe(nodes.next()));
        seen.add(describe(nodes.next()));
        seen.add(describe(nodes.next()));
        assertThat(seen.get(5)).startsWith("spBv1.0/site-1/NBIRTH/area-1 0 ");
        assertThat(seen.get(6)).startsWith("spBv1.0/site-1/DBIRTH/area-1/line-1 1 ");
        assertThat(seen.get(7)).startsWith("spBv1.0/site-1/DDATA/area-1/line-1 2 ");
        assertThat(seen.get(8)).startsWith("spBv1.0/site-1/DDATA/area-1/line-1 3 ");
    }

    private static byte[] command(String name, boolean value) throws Exception {
        return new org.eclipse.tahu.message.SparkplugBPayloadEncoder()
                .getBytes(
                        new SparkplugBPayload.SparkplugBPayloadBuilder()
                                .addMetric(
                                        new Metric.MetricBuilder(
                                                        name,
                                                        org.eclipse.tahu.message.model
                                                                .MetricDataType.Boolean,
                                                        value)
                                                .createMetric())
                                .createPayload(),
                        false);
    }

    @Test
    void eachAreaIsANodeOfItsOwnWithItsOwnSequenceAndAliases() throws Exception {
        List<SimSensor> sensors = new ArrayList<>();
        for (String area : List.of("press-shop", "paint-shop")) {
            for (String line : List.of("line-1", "line-2")) {
                sensors.add(
                        SimSensor.of(
                                new io.plantwatch.model.SensorId(
                                        "dresden", area, line, "m-1", "temp-1"),
                                SensorKind.values()[0]));
            }
        }
        Fleet fleet = new Fleet(sensors);
        SparkplugEdgeNodes nodes = new SparkplugEdgeNodes(fleet, simulation(fleet, 1, Set.of()));
        List<String> seen = new ArrayList<>();
        while (nodes.hasNext()) {
            seen.add(describe(nodes.next()));
        }
        assertThat(seen)
                .filteredOn(x -> x.contains("/DDATA/"))
                .map(x -> x.replaceAll("=[0-9.]+]", "]"))
                .containsExactlyInAnyOrder(
                        "spBv1.0/dresden/DDATA/press-shop/line-1 2 [#0]",
                        "spBv1.0/dresden/DDATA/press-shop/line-2 4 [#1]",
                        "spBv1.0/dresden/DDATA/paint-shop/line-1 2 [#0]",
                        "spBv1.0/dresden/DDATA/paint-shop/line-2 4 [#1]");
        assertThat(seen)
                .filteredOn(x -> x.contains("/NDEATH/"))
                .containsExactlyInAnyOrder(
                        "spBv1.0/dresden/NDEATH/press-shop null [bdSeq=0]",
                        "spBv1.0/dresden/NDEATH/paint-shop null [bdSeq=0]");
    }

    /**
     * A malformed payload is protobuf that does not parse, sent as its sensor's device's DDATA
     * without a seq of its own, so the node's sequence goes on unbroken; its label says the
     * gateway's reason.
     */
    @Test
    void malformedPayloadsGoOutAsTheirDevicesDataThatDoesNotParse() throws Exception {
        Fleet fleet = Fleet.generated(8);
        List<Label> labels = new ArrayList<>();
        SparkplugEdgeNodes nodes =
                new SparkplugEdgeNodes(
                        fleet, simulation(fleet, 60, Set.of(AnomalyKind.MALFORMED), labels::add));
        Map<String, Long> lastSeq = new java.util.HashMap<>();
        int malformed = 0;
        int data = 0;
        while (nodes.hasNext()) {
            Emission e = nodes.next();
            String node = e.topic().split("/")[3];
            if (e.type() == Emission.Type.MALFORMED) {
                malformed++;
                SensorId id = e.reading().sensorId();
                assertThat(e.topic())
                        .isEqualTo(
                                "spBv1.0/" + id.site() + "/DDATA/" + id.area() + "/" + id.line());
                assertThat(e.expectedRejection()).isEqualTo(RejectReason.MALFORMED_PROTOBUF);
                assertThatThrownBy(
                                () ->
                                        new SparkplugBPayloadDecoder()
                                                .buildFromByteArray(e.payload(), null))
                        .as(
                                "Tahu's decoder, on %s",
                                java.util.HexFormat.of().formatHex(e.payload()))
                        .isInstanceOf(Exception.class);
                continue;
            }
            assertThat(e.topic()).startsWith("spBv1.0/site-1/");
            data += e.topic().contains("/DDATA/") ? 1 : 0;
            if (!e.topic().contains("/NDEATH/")) {
                long seq =
                        new SparkplugBPayloadDecoder()
                                .buildFromByteArray(e.payload(), null)
                                .getSeq();
                Long before = lastSeq.put(node, seq);
                if (!e.topic().contains("/NBIRTH/")) {
                    assertThat(seq).as("seq after a malformed one").isEqualTo((before + 1) % 256);
                }
            }
        }
        assertThat(data).isPositive();
        assertThat(malformed).isGreaterThanOrEqualTo(3);
        assertThat(labels)
                .filteredOn(l -> l.kind() == AnomalyKind.MALFORMED)
                .isNotEmpty()
                .allSatisfy(
                        l ->
                                assertThat(l.params().get("reasons").toString())
                                        .startsWith("{malformed_protobuf="));
    }
}
