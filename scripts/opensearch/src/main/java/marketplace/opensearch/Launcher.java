package marketplace.opensearch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.ExtensiblePlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * One OpenSearch node in this JVM, for development and tests (see docs/opensearch.md).
 *
 * <pre>
 *   java -Xms512m -Xmx512m -cp 'target/classes:target/dependency/*' \
 *        marketplace.opensearch.Launcher DIR [setting=value ...]
 * </pre>
 *
 * DIR becomes path.home (data in DIR/data, logs in DIR/logs). The settings after it override
 * the defaults below, e.g. {@code http.port=59201}. With {@code -Dlauncher.pidfile=FILE} the
 * JVM writes its pid there before the node starts. The distribution's bootstrap (security
 * manager, jar hell check, production bootstrap checks, mlockall) is not run: this is a
 * throwaway node on loopback. Modules are not loaded from disk: the ones we need are on
 * the classpath and handed to {@link Node} as classpath plugins.
 */
public final class Launcher {

    /** The modules of the distribution that this node carries. */
    static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,          // transport-netty4: the HTTP and transport layers
        CommonAnalysisPlugin.class,  // analysis-common: whitespace, synonym_graph, word_delimiter_graph, ...
        PainlessPlugin.class,        // lang-painless: scripts (script_score, scripted updates, ...)
        MapperExtrasPlugin.class,    // mapper-extras: scaled_float, search_as_you_type, rank_feature(s), token_count
        ReindexPlugin.class          // reindex: _reindex, _update_by_query, _delete_by_query
    );

    /** Node#Node(Environment, Collection, boolean) is protected: the way to pass classpath plugins. */
    static final class ClasspathPluginNode extends Node {
        ClasspathPluginNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
            super(environment, plugins, true);
        }
    }

    private Launcher() {}

    /**
     * PluginsService hands SPI extensions only to plugins loaded from bundles on disk, never
     * to classpath plugins: painless would lack the allowlists other modules contribute
     * (analysis-common's, for the scripts of predicate_token_filter and condition). Painless
     * keeps its allowlists in a static map, so feeding them to a throwaway instance before
     * the node starts is enough. The extensions are found with ServiceLoader.
     */
    static void loadPainlessExtensions() {
        new PainlessPlugin().loadExtensions(new ExtensiblePlugin.ExtensionLoader() {
            @Override
            public <T> List<T> loadExtensions(Class<T> extensionPointType) {
                List<T> found = new ArrayList<>();
                ServiceLoader.load(extensionPointType, Launcher.class.getClassLoader()).forEach(found::add);
                return found;
            }
        });
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: Launcher DIR [setting=value ...]");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath().normalize();
        String pidFile = System.getProperty("launcher.pidfile");
        if (pidFile != null) {
            Files.writeString(Paths.get(pidFile), ProcessHandle.current().pid() + "\n");
        }
        // The distribution's jvm.options sets these; harmless when already given with -D.
        System.setProperty("log4j.shutdownHookEnabled", System.getProperty("log4j.shutdownHookEnabled", "false"));
        System.setProperty("log4j2.disable.jmx", System.getProperty("log4j2.disable.jmx", "true"));
        System.setProperty("io.netty.noUnsafe", System.getProperty("io.netty.noUnsafe", "true"));
        System.setProperty("io.netty.noKeySetOptimization", System.getProperty("io.netty.noKeySetOptimization", "true"));
        System.setProperty("io.netty.recycler.maxCapacityPerThread",
            System.getProperty("io.netty.recycler.maxCapacityPerThread", "0"));

        // PluginsService scans these folders; they exist and stay empty.
        for (String dir : new String[] {"config", "data", "logs", "modules", "plugins"}) {
            Files.createDirectories(home.resolve(dir));
        }

        Settings.Builder settings = Settings.builder()
            .put("cluster.name", "marketplace-test")
            .put("node.name", "node-1")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", "59200")
            .put("transport.port", "59300")
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            // A dev machine's disk may well be more than 90 % full: never let the
            // watermarks make indices read-only or leave shards unassigned.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // One node: replicas could never be assigned and every index would stay yellow.
            .put("cluster.default_number_of_replicas", 0);
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) {
                System.err.println("not a setting=value pair: " + args[i]);
                System.exit(2);
            }
            settings.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }

        Environment environment = InternalSettingsPreparer.prepareEnvironment(
            settings.build(), Collections.emptyMap(), home.resolve("config"), () -> "node-1");

        final Node node;
        try {
            loadPainlessExtensions();
            node = new ClasspathPluginNode(environment, PLUGINS);
            node.start();
        } catch (Throwable t) {
            // The node's thread pools are not daemons: exit rather than hang half-started.
            t.printStackTrace();
            System.exit(1);
            return;
        }

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "opensearch-shutdown"));
        System.out.println("[launcher] OpenSearch node started, home " + home);
        stopped.await();
    }
}
