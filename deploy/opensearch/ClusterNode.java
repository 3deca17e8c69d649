// One node of a multi-process OpenSearch cluster, run with Java's single-file source launcher:
//
//   java -Xms512m -Xmx512m -cp '<runner lib>/*' deploy/opensearch/ClusterNode.java <home> <cluster>
//
// The codelibs runner (org.codelibs.opensearch.runner.OpenSearchRunner) starts nodes inside its
// own JVM. Started with -numOfNode 1 it forces discovery.type=single-node and names the node
// "Node 1" (putIfAbsent on settings that override opensearch.yml), and it probes HTTP ports only
// up to 9299. Here the runner is driven programmatically instead: the node's own opensearch.yml
// (<home>/node_1/config/opensearch.yml, written by deploy/cluster.sh) is loaded into the
// runner's settings builder first, so its discovery.type, node.name, ports, seed hosts and
// initial cluster managers are the ones that count. One process per node, so one can be killed.
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

import org.codelibs.opensearch.runner.OpenSearchRunner;

public class ClusterNode {

    /** Seconds between two checks that the node is still open (as the runner's own main). */
    private static final long POLL_MS = 5000;

    public static void main(final String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: ClusterNode.java <node home> <cluster name>");
            System.exit(2);
        }
        final Path home = Paths.get(args[0]).toAbsolutePath();
        final Path yml = home.resolve("node_1").resolve("config").resolve("opensearch.yml");
        if (!Files.isRegularFile(yml)) {
            System.err.println("ClusterNode: no node configuration at " + yml);
            System.exit(2);
        }
        final OpenSearchRunner runner = new OpenSearchRunner() {
            {
                maxHttpPort = -1; // the port comes from opensearch.yml: no probing up to 9299
            }
        };
        runner.onBuild((index, builder) -> {
            try {
                builder.loadFromPath(yml);
            } catch (final java.io.IOException e) {
                throw new IllegalStateException("cannot read " + yml, e);
            }
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (final java.io.IOException e) {
                System.err.println("ClusterNode: close failed: " + e.getMessage());
            }
        }));
        try {
            runner.build("-basePath", home.toString(), "-numOfNode", "1", "-clusterName", args[1]);
        } catch (final RuntimeException e) {
            e.printStackTrace();
            System.exit(1);
        }
        while (!runner.isClosed()) {
            Thread.sleep(POLL_MS);
        }
    }
}
