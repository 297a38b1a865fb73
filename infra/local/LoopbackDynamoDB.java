// DynamoDB Local bound to 127.0.0.1. Its ServerRunner has no host option: its Jetty server listens on
// every interface. This launcher builds the server exactly as ServerRunner does, from the same
// command line, then binds its connector to the loopback address before starting it.
// Run as a single-file source program: java -cp '<DynamoDB Local jars>/*' LoopbackDynamoDB.java <ServerRunner options>

import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDB {
    static final String HOST = "127.0.0.1";

    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        if (proxy == null) {
            return; // -help or -version: ServerRunner has printed it
        }
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server jetty = (Server) field.get(proxy);
        for (Connector connector : jetty.getConnectors()) {
            ((ServerConnector) connector).setHost(HOST);
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on " + HOST + ":" + ((ServerConnector) jetty.getConnectors()[0]).getLocalPort());
        proxy.join();
    }
}
