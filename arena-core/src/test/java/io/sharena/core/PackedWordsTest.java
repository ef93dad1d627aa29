package io.sharena.core;

import io.sharena.core.layout.Intent;
import io.sharena.core.layout.LockWord;
import io.sharena.core.layout.OwnerToken;
import io.sharena.core.layout.PageEntry;
import io.sharena.core.layout.ProcessWord;
import io.sharena.core.layout.RegistryLayout;
import io.sharena.core.layout.TaggedHead;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToLongFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every packed word's fields, swept over their range: each field at 0 (or its least value), 1,
 * max - 1, max and random values, the other fields at random values, must decode to what was
 * encoded, and must leave the other fields' decodes alone (no field bleeds into another).
 */
class PackedWordsTest {
    private static final long SEED = Long.getLong("sharena.seed", System.nanoTime());
    private static final int RANDOM_VALUES = 2_000;

    /** A field: its range, and how to read it back from a word. */
    record Field(String name, long min, long max, ToLongFunction<Long> decode) {
    }

    /** A packed word: its fields in the order {@link #encode} takes them. */
    interface Word {
        List<Field> fields();

        long encode(long[] values);
    }

    private static void sweep(final String word, final Word w) {
        final SplittableRandom random = new SplittableRandom(SEED);
        final List<Field> fields = w.fields();
        for (int f = 0; f < fields.size(); f++) {
            final Field field = fields.get(f);
            final long[] probes = new long[4 + RANDOM_VALUES];
            probes[0] = field.min();
            probes[1] = Math.min(field.min() + 1, field.max());
            probes[2] = Math.max(field.max() - 1, field.min());
            probes[3] = field.max();
            for (int i = 4; i < probes.length; i++) {
                probes[i] = random.nextLong(field.min(), field.max() + 1);
            }
            for (final long v : probes) {
                final long[] values = new long[fields.size()];
                for (int o = 0; o < values.length; o++) {
                    final Field other = fields.get(o);
                    values[o] = o == f ? v : random.nextLong(other.min(), other.max() + 1);
                }
                final long encoded = w.encode(values);
                for (int o = 0; o < values.length; o++) {
                    final String decoded = fields.get(o).name();
                    assertEquals(values[o], fields.get(o).decode().applyAsLong(encoded),
                        () -> word + " with " + field.name() + "=" + v + ": " + decoded + " decodes wrong, seed="
                            + SEED + ", word=0x" + Long.toHexString(encoded));
                }
            }
        }
    }

    @Test
    void intent() {
        sweep("Intent", new Word() {
            public List<Field> fields() {
                return List.of(
                    new Field("OP", 0, (1L << Intent.OP_BITS) - 1, Intent::op),
                    new Field("FIRST", Integer.MIN_VALUE, Integer.MAX_VALUE, Intent::first),
                    new Field("PAGES", 0, (1L << Intent.PAGES_BITS) - 1, Intent::pages));
            }

            public long encode(final long[] v) {
                return Intent.encode((int) v[0], (int) v[1], (int) v[2]);
            }
        });
        assertEquals(64, Intent.OP_BITS + Intent.PAGES_BITS + Intent.FIRST_BITS);
    }

    @Test
    void pageEntryStateWord() {
        sweep("PageEntry.STATE", new Word() {
            public List<Field> fields() {
                return List.of(
                    new Field("STATE", 0, PageEntry.STATE_VALUES - 1, PageEntry::stateOf),
                    // FLAG is kept in place: its values are multiples of 0x10 below 0x100.
                    new Field("FLAG>>4", 0, (1L << PageEntry.FLAG_BITS) - 1, w -> PageEntry.flagsOf(w) >>> 4),
                    new Field("SLOT", 0, (1L << PageEntry.SLOT_BITS) - 1, PageEntry::slotOf),
                    new Field("RUN", Integer.MIN_VALUE, Integer.MAX_VALUE, PageEntry::runOf));
            }

            public long encode(final long[] v) {
                return PageEntry.state((int) v[0], (int) v[1] << 4, (int) v[2], Integer.toUnsignedLong((int) v[3]));
            }
        });
        assertEquals(PageEntry.WAS_RESERVED, PageEntry.flagsOf(PageEntry.state(PageEntry.PENDING,
            PageEntry.WAS_RESERVED, 3, 7)));
        assertEquals(64, PageEntry.STATE_BITS + PageEntry.FLAG_BITS + PageEntry.SLOT_BITS + PageEntry.STAMP_BITS
            + PageEntry.RUN_BITS);
        assertEquals(0, PageEntry.state(PageEntry.FREE, 0, 0, 0), "a zero (sparse) entry is FREE");
    }

    @Test
    void pageEntryLinkWord() {
        sweep("PageEntry.LINK", new Word() {
            public List<Field> fields() {
                return List.of(
                    new Field("PREV", Integer.MIN_VALUE, Integer.MAX_VALUE, PageEntry::prevOf),
                    new Field("NEXT", Integer.MIN_VALUE, Integer.MAX_VALUE, PageEntry::nextOf));
            }

            public long encode(final long[] v) {
                return PageEntry.link((int) v[0], (int) v[1]);
            }
        });
    }

    @Test
    void ownerTokenAndLockWord() {
        sweep("OwnerToken", new Word() {
            public List<Field> fields() {
                return List.of(
                    new Field("SLOT", 0, RegistryLayout.SLOTS - 1, OwnerToken::slot),
                    // Generation 0 is never held: a token is never 0.
                    new Field("GENERATION", 1, (1L << OwnerToken.GENERATION_BITS) - 1, OwnerToken::generation),
                    new Field("THREAD", 0, (1L << OwnerToken.THREAD_BITS) - 1, OwnerToken::thread));
            }

            public long encode(final long[] v) {
                return OwnerToken.encode((int) v[0], (int) v[1], v[2]);
            }
        });
        final long token = OwnerToken.encode(RegistryLayout.SLOTS - 1, 9, (1L << OwnerToken.THREAD_BITS) - 1);
        assertEquals(RegistryLayout.SLOTS - 1, LockWord.slot(token));
        assertEquals(-1, LockWord.slot(LockWord.UNLOCKED));
        assertEquals(OwnerToken.encode(RegistryLayout.SLOTS - 1, 9, 0), OwnerToken.attachment(token));
        assertEquals(OwnerToken.thread(OwnerToken.encode(1, 1, 5)),
            OwnerToken.thread(OwnerToken.encode(1, 1, 5 + (1L << OwnerToken.THREAD_BITS))), "thread ids wrap");
    }

    @Test
    void processWord() {
        sweep("ProcessWord", new Word() {
            public List<Field> fields() {
                return List.of(
                    new Field("PID", 1, ProcessWord.PID_MASK, ProcessWord::pid),
                    new Field("START", 0, ProcessWord.START_MASK, ProcessWord::start),
                    new Field("GENERATION", 0, ProcessWord.GENERATION_MASK, ProcessWord::generation));
            }

            public long encode(final long[] v) {
                return ProcessWord.encode(v[0], v[1], (int) v[2]);
            }
        });
        assertEquals(64, ProcessWord.PID_BITS + ProcessWord.START_BITS + ProcessWord.GENERATION_BITS);
    }

    @Test
    void taggedHead() {
        sweep("TaggedHead", new Word() {
            public List<Field> fields() {
                return List.of(
                    new Field("TAG", 0, (1L << (64 - TaggedHead.PAGE_BITS - TaggedHead.COUNT_BITS)) - 1,
                        TaggedHead::tag),
                    new Field("COUNT", 0, TaggedHead.MAX_COUNT, TaggedHead::count),
                    new Field("PAGE", 0, (1L << TaggedHead.PAGE_BITS) - 1, TaggedHead::page));
            }

            public long encode(final long[] v) {
                return TaggedHead.encode(v[0], (int) v[1], (int) v[2]);
            }
        });
    }
}
