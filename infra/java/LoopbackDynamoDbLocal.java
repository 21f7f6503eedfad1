import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local on 127.0.0.1 only. The jar's own main (ServerRunner) has no host option: DynamoDBProxyServer builds
 * {@code new org.eclipse.jetty.server.Server(port)}, whose one ServerConnector has a port and no host, and
 * ServerConnector.openAcceptChannel binds {@code new InetSocketAddress(port)} (the wildcard address) when the host is null.
 *
 * This takes the same command-line options as {@code java -jar DynamoDBLocal.jar}, builds the server exactly as
 * ServerRunner does ({@code ServerRunner.createServerFromCommandLineArgs}), sets the host of its Jetty connector to
 * 127.0.0.1 before it starts (ServerConnector#setHost, inherited from AbstractNetworkConnector, Jetty 12.0.31 here:
 * https://eclipse.dev/jetty/javadoc/jetty-12/org/eclipse/jetty/server/AbstractNetworkConnector.html#setHost(java.lang.String)),
 * starts it, checks the bound address and waits. DynamoDBProxyServer keeps its Jetty Server in a private field with no
 * getter, so that one field is read by reflection (found by type, not name). Anything unexpected exits non-zero rather
 * than serve on every interface.
 *
 * Compiled by infra/emulators.ts (javac, once per source and jar version); needs DynamoDBLocal.jar and
 * DynamoDBLocal_lib/* on the classpath.
 */
public final class LoopbackDynamoDbLocal {
  private static final String HOST = "127.0.0.1";

  private LoopbackDynamoDbLocal() {}

  private static void fail(String message, Throwable cause) {
    System.err.println("LoopbackDynamoDbLocal: " + message + (cause == null ? "" : ": " + cause));
    System.exit(1);
  }

  private static Server jettyServerOf(DynamoDBProxyServer proxy) throws IllegalAccessException {
    for (Field field : DynamoDBProxyServer.class.getDeclaredFields()) {
      if (Server.class.isAssignableFrom(field.getType())) {
        field.setAccessible(true);
        return (Server) field.get(proxy);
      }
    }
    return null;
  }

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = null;
    try {
      proxy = ServerRunner.createServerFromCommandLineArgs(args);
    } catch (Exception e) {
      fail("could not create DynamoDB Local from the supplied command line arguments", e);
    }

    Server server = null;
    try {
      server = jettyServerOf(proxy);
    } catch (Exception e) {
      fail("could not reach DynamoDBProxyServer's Jetty Server", e);
    }
    if (server == null) fail("DynamoDBProxyServer has no org.eclipse.jetty.server.Server field (jar changed?)", null);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) fail("the Jetty Server has no connector", null);
    for (Connector connector : connectors) {
      if (!(connector instanceof ServerConnector)) fail("unexpected Jetty connector " + connector.getClass().getName(), null);
      ((ServerConnector) connector).setHost(HOST);
    }

    try {
      proxy.start(); // as ServerRunner.main does (it also sends start-up telemetry unless -disableTelemetry)
    } catch (Throwable e) {
      fail("could not start", e);
    }
    if (!server.isStarted()) fail("the Jetty Server did not start", null); // start() prints why on a SocketException

    for (Connector connector : connectors) {
      Object transport = ((ServerConnector) connector).getTransport();
      Object bound = transport instanceof ServerSocketChannel ? ((ServerSocketChannel) transport).getLocalAddress() : null;
      if (!(bound instanceof InetSocketAddress) || !((InetSocketAddress) bound).getAddress().isLoopbackAddress()) {
        server.stop();
        fail("bound to " + bound + ", not loopback", null);
      }
      System.out.println("DynamoDB Local listening on " + bound + " only");
    }
    proxy.join();
  }
}
