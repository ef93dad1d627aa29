package io.sharena.server;

import net.rubyeye.xmemcached.MemcachedClient;
import net.rubyeye.xmemcached.XMemcachedClientBuilder;
import net.rubyeye.xmemcached.impl.KetamaMemcachedSessionLocator;
import net.rubyeye.xmemcached.utils.AddrUtil;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Beyond one host: two servers with stores of their own (as on two hosts) behind xmemcached's
 * ketama locator; the client spreads the keys over both and reads every one back.
 */
class KetamaTest {
    private static final int KEYS = 1000;

    @Test
    void ketamaSpreadsKeysOverTwoServersAndReadsEveryOneBack() throws Exception {
        try (TestServer one = TestServer.start(); TestServer two = TestServer.start()) {
            final XMemcachedClientBuilder builder = new XMemcachedClientBuilder(
                AddrUtil.getAddresses("127.0.0.1:" + one.port() + " 127.0.0.1:" + two.port()));
            builder.setSessionLocator(new KetamaMemcachedSessionLocator());
            final MemcachedClient c = builder.build();
            try {
                for (int i = 0; i < KEYS; i++) {
                    assertTrue(c.set("user:" + i, 0, "profile-" + i));
                }
                for (int i = 0; i < KEYS; i++) {
                    assertEquals("profile-" + i, c.get("user:" + i), "key user:" + i);
                }
                int onOne = 0;
                int onTwo = 0;
                for (int i = 0; i < KEYS; i++) {
                    final byte[] k = ("user:" + i).getBytes(StandardCharsets.UTF_8);
                    final boolean a = one.store.get(k) != null;
                    final boolean b = two.store.get(k) != null;
                    assertTrue(a ^ b, "each key lives on exactly one server: user:" + i);
                    onOne += a ? 1 : 0;
                    onTwo += b ? 1 : 0;
                }
                assertTrue(onOne > KEYS / 4 && onTwo > KEYS / 4, "ketama spreads keys: " + onOne + " / " + onTwo);
            } finally {
                c.shutdown();
            }
        }
    }
}
