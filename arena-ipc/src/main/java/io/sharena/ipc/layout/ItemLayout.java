package io.sharena.ipc.layout;

/**
 * A record in the store's ring: an item, or a PAD that fills the ring's end when the next record
 * does not fit there. Records start at multiples of {@link #ALIGN} bytes and never straddle the
 * ring's end.
 *
 * <pre>
 *  0            8       12      16      20      24           32        36       40
 *  +------------+-------+-------+-------+-------+------------+---------+--------+
 *  | POS        | SIZE  | STATE | NEXT  | HASH  | CAS / OWNER| EXPIRES | STORED |
 *  +------------+-------+-------+-------+-------+------------+---------+--------+
 *  40      44        48          52      56
 *  +-------+---------+-----------+-------+---------------+------------------------------+
 *  | FLAGS | KEY_LEN | VALUE_LEN | META  | KEY bytes     | VALUE bytes, then pad to 16  |
 *  +-------+---------+-----------+-------+---------------+------------------------------+
 * </pre>
 *
 * <ul>
 *   <li>POS: the record's 64-bit logical ring position (physical offset = POS % ring bytes). A
 *       reader compares it with the ring's tail to know the record was not reused under it.</li>
 *   <li>SIZE: the whole record, header included, a multiple of {@link #ALIGN}.</li>
 *   <li>STATE: {@link #RESERVED} (being built; CAS holds the owner word), {@link #LINKED},
 *       {@link #DEAD}, {@link #PAD}. RESERVED leaves only by compare-and-set (to LINKED by its
 *       owner, to DEAD by its owner or by eviction once the owner is dead), so the two never both
 *       win.</li>
 *   <li>NEXT: arena pointer of the next item in the bucket chain (mutable while LINKED: unlinks).</li>
 *   <li>CAS: the memcached CAS value, written before the record is published. While RESERVED the
 *       word is the owner: the writer's process token ({@code io.sharena.core.layout.OwnerToken}),
 *       dead once that attachment's registry slot changes generation or its process dies.</li>
 *   <li>EXPIRES: absolute Unix seconds, unsigned 32-bit, 0 = never (mutable: touch, one release
 *       store).</li>
 *   <li>STORED: the Unix second of the write, unsigned 32-bit (delayed flush_all).</li>
 *   <li>META: {@link #META_STALE} (invalidated: memcached's meta {@code I}), {@link #META_TOKEN}
 *       (a win token was handed out), {@link #META_KEY_BINARY} (the key was written in base64,
 *       meta {@code b}: the meta protocol shows it so) and, in {@link #META_ACCESS_MASK}, the last access in
 *       seconds since the store was created, kept to the minute as memcached keeps it (mutable:
 *       the token bit by compare-and-set under the key's stripe lock, the access time by a plain
 *       store that may lose to a concurrent one; both are hints for the meta protocol, never used
 *       to decide what a key holds).</li>
 * </ul>
 * Every field but NEXT, STATE, EXPIRES and META is written once, before the record is published.
 */
public final class ItemLayout {
    public static final int POS = 0;
    public static final int SIZE = 8;
    public static final int STATE = 12;
    public static final int NEXT = 16;
    public static final int HASH = 20;
    public static final int CAS = 24;
    public static final int EXPIRES = 32;
    public static final int STORED = 36;
    public static final int FLAGS = 40;
    public static final int KEY_LEN = 44;
    public static final int VALUE_LEN = 48;
    public static final int META = 52;
    public static final int KEY = 56;
    public static final int HEADER = KEY;
    /** Bytes a PAD record needs: POS, SIZE and STATE. */
    public static final int PAD_HEADER = 16;

    public static final int ALIGN = 16;

    public static final int RESERVED = 1;
    public static final int LINKED = 2;
    public static final int DEAD = 3;
    public static final int PAD = 4;

    /** META: the item was invalidated (served stale until rewritten). */
    public static final int META_STALE = 1 << 31;
    /** META: a win token was handed out for this item. */
    public static final int META_TOKEN = 1 << 30;
    /**
     * META: the key was given in base64 by the write that made the item (memcached's meta {@code b}
     * flag), so that a meta get echoes it in base64; kept by what rewrites an item in place.
     * Written once, before the record is published. Bit 29 was the access field's top bit before,
     * never set: 2<sup>29</sup> seconds is 17 years after a store's creation.
     */
    public static final int META_KEY_BINARY = 1 << 29;
    /** META: the last access, in seconds since the store was created (saturates). */
    public static final int META_ACCESS_MASK = (1 << 29) - 1;

    private ItemLayout() {
    }

    /** @return the size of a record holding {@code keyLen} key bytes and {@code valueLen} value bytes */
    public static long recordSize(final int keyLen, final long valueLen) {
        return (HEADER + keyLen + valueLen + ALIGN - 1) & -ALIGN;
    }

}
