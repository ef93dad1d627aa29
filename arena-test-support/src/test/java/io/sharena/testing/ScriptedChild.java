package io.sharena.testing;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The child of {@link ChildJvmTest}. Modes:
 * <ul>
 *   <li>{@code echo}: says "ready", then answers each stdin line with "echo LINE"; "exit N" exits
 *       with status N.</li>
 *   <li>{@code env ARG...}: prints its arguments, its JVM options, whether assertions are on, its
 *       heap limit, -Dts.prop and its collector, then exits 0.</li>
 *   <li>{@code quit}: says "ready" and exits 0.</li>
 *   <li>{@code sleep}: says "sleeping" and sleeps a minute.</li>
 *   <li>{@code tick}: prints "tick N" every 10 ms, for a minute.</li>
 *   <li>{@code stoplater}: prints "stopping", stops itself (SIGSTOP) half a second later, as a
 *       child at a crash point does right after its line, and prints "resumed" once it runs on.</li>
 * </ul>
 */
public final class ScriptedChild {
    private ScriptedChild() {
    }

    public static void main(final String[] args) throws Exception {
        switch (args[0]) {
            case "echo" -> {
                final BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                System.out.println("ready");
                for (String line = stdin.readLine(); line != null; line = stdin.readLine()) {
                    if (line.startsWith("exit ")) {
                        System.exit(Integer.parseInt(line.substring(5)));
                    }
                    System.out.println("echo " + line);
                }
            }
            case "env" -> {
                System.out.println("args " + Arrays.toString(args));
                boolean ea = false;
                assert ea = true; // set only when assertions are on
                System.out.println("ea " + ea);
                System.out.println("jvm " + String.join(" ", ManagementFactory.getRuntimeMXBean().getInputArguments()));
                System.out.println("maxHeapMiB " + (Runtime.getRuntime().maxMemory() >> 20));
                System.out.println("prop " + System.getProperty("ts.prop"));
                System.out.println("gc " + ManagementFactory.getGarbageCollectorMXBeans().getFirst().getName());
            }
            case "quit" -> System.out.println("ready");
            case "sleep" -> {
                System.out.println("sleeping");
                Thread.sleep(60_000);
            }
            case "tick" -> {
                for (int i = 0; i < 6_000; i++) {
                    System.out.println("tick " + i);
                    Thread.sleep(10);
                }
            }
            case "stoplater" -> {
                System.out.println("stopping");
                Thread.sleep(500);
                // The kill's exit is seen only once this process runs again.
                new ProcessBuilder("kill", "-STOP", Long.toString(ProcessHandle.current().pid())).start().waitFor();
                System.out.println("resumed");
            }
            default -> throw new IllegalArgumentException("unknown mode: " + args[0]);
        }
    }
}
