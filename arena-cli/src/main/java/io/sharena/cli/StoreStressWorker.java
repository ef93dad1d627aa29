package io.sharena.cli;

import io.sharena.core.layout.Geometry;
import io.sharena.cli.StoreStressModel.Ambiguous;
import io.sharena.cli.StoreStressModel.Intent;
import io.sharena.cli.StoreStressModel.State;
import io.sharena.ipc.store.SharedStore;
import io.sharena.ipc.store.StoreItem;
import io.sharena.ipc.store.StoreMode;
import io.sharena.ipc.store.StoreOptions;
import io.sharena.ipc.store.StoreReader;
import io.sharena.ipc.store.StoreReservation;
import io.sharena.ipc.store.StoreResult;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A process of {@code arena stress --store}: random store operations on its lane's keys (see
 * {@link StoreStressModel}), each checked against what the lane's log says the key holds, and
 * zero-copy reads of other lanes' keys, checked to be whole. On start it replays the lane's log and
 * resolves what its killed predecessor had in flight: the key must hold the state before or after
 * that operation. Writes are paced so that the lane's records never need more than its share of
 * the ring: nothing is evicted, so a missing key is a lost write.
 *
 * <p>Arguments: {@code FILE LANE LANES KEYS LOG SEED START_MILLIS DEADLINE_MILLIS RING_BUDGET}.
 * Prints {@code status ops=N} now and then and {@code final ops=N} at the end.
 */
public final class StoreStressWorker {
    private static final String[] OPS = {"set", "add", "rep", "cas", "casbad", "app", "pre", "setn", "incr", "decr",
        "del", "touch", "gat", "setc", "delcas", "inval"};
    /** Values grow by append and prepend up to about this; then a set starts them again. */
    private static final int MAX_VALUE = 1500;

    private final SharedStore store;
    private final StoreStressModel model;
    private final FileChannel log;
    private final SplittableRandom random;
    private final int lanes;
    private final long start;
    private final long deadline;
    private final long budget;
    private final StoreReader reader;
    private long ops;

    private StoreStressWorker(final SharedStore store, final StoreStressModel model, final FileChannel log,
                              final long seed, final int lanes, final long start, final long deadline,
                              final long budget) {
        this.store = store;
        this.model = model;
        this.log = log;
        this.random = new SplittableRandom(seed);
        this.lanes = lanes;
        this.start = start;
        this.deadline = deadline;
        this.budget = budget;
        this.reader = store.reader();
    }

    public static void main(final String[] args) {
        JavaCommand.runWorker(args, StoreStressWorker::run);
    }

    private static void run(final String[] args) throws Exception {
        final Path file = Path.of(args[0]);
        final int lane = Integer.parseInt(args[1]);
        final int lanes = Integer.parseInt(args[2]);
        final int keys = Integer.parseInt(args[3]);
        final Path logFile = Path.of(args[4]);
        final long deadline = Long.parseLong(args[7]);
        try (SharedStore store = SharedStore.open(file, StoreOptions.defaults());
             FileChannel log = FileChannel.open(logFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                 StandardOpenOption.APPEND)) {
            System.out.println("pid=" + ProcessHandle.current().pid());
            final StoreStressModel model = StoreStressModel.replay(logFile, lane, keys);
            final StoreStressWorker w = new StoreStressWorker(store, model, log, Long.parseLong(args[5]), lanes,
                Long.parseLong(args[6]), deadline, Long.parseLong(args[8]));
            // A record the predecessor was cut in: it stays a line of its own, without its end mark.
            if (endsCut(logFile)) {
                log.write(ByteBuffer.wrap(new byte[] {'\n'}));
            }
            w.write("W " + ProcessHandle.current().pid());
            w.resolve();
            long nextStatus = System.currentTimeMillis() + 100;
            while (System.currentTimeMillis() < deadline) {
                for (int i = 0; i < 16; i++) {
                    w.step();
                }
                if (System.currentTimeMillis() >= nextStatus) {
                    System.out.println("status ops=" + w.ops);
                    nextStatus += 100;
                }
            }
            w.write("D");
            System.out.println("final ops=" + w.ops);
        }
    }

    private static boolean endsCut(final Path logFile) throws IOException {
        try (FileChannel in = FileChannel.open(logFile, StandardOpenOption.READ)) {
            final ByteBuffer last = ByteBuffer.allocate(1);
            return in.size() > 0 && in.read(last, in.size() - 1) == 1 && last.get(0) != '\n';
        }
    }

    /**
     * One record, one write: what a SIGKILL leaves of the log is every record written before it,
     * and perhaps the start of one without its end mark.
     */
    private void write(final String line) throws IOException {
        final ByteBuffer b = ByteBuffer.wrap((line + StoreStressModel.END + "\n").getBytes(StandardCharsets.ISO_8859_1));
        while (b.hasRemaining()) {
            log.write(b);
        }
    }

    /** The predecessor's operation in flight: the key must hold the state before or after it. */
    private void resolve() throws IOException {
        for (final var e : List.copyOf(model.ambiguous.entrySet())) {
            final Ambiguous a = e.getValue();
            final State got = StoreStressModel.read(store, e.getKey());
            report(StoreStressModel.judge(e.getKey(), got, List.of(a.before(), a.after())));
            write(StoreStressModel.stateLine(e.getKey(), got));
            model.states.put(e.getKey(), got);
            model.ambiguous.remove(e.getKey());
        }
    }

    private void report(final String[] found) throws IOException {
        if (found != null) {
            System.out.println("stress " + found[0] + ": " + found[1]);
            write("V " + found[0] + " " + found[1]);
        }
    }

    /** After a violation: the model follows the store from here, so one fault is counted once. */
    private void sync(final String key) throws IOException {
        final State got = StoreStressModel.read(store, key);
        write(StoreStressModel.stateLine(key, got));
        model.states.put(key, got);
    }

    private String randomKey() {
        final int j = random.nextInt(model.keys);
        return random.nextInt(3) == 0 ? model.numberKey(j) : model.segmentKey(j);
    }

    private void step() throws IOException {
        ops++;
        final int kind = random.nextInt(10);
        if (kind < 3) {
            checkRead(randomKey());
        } else if (kind == 3) {
            foreignRead();
        } else {
            mutate(randomKey());
        }
    }

    /** The lane's ring budget so far: spread over the run, so writes go on until the end. */
    private boolean mayAllocate() {
        final double elapsed = (double) (System.currentTimeMillis() - start) / Math.max(1, deadline - start);
        return model.ringBytes + Geometry.PAGE_SIZE <= budget * Math.min(1.0, elapsed + 0.05);
    }

    private void mutate(final String key) throws IOException {
        final State before = model.states.get(key);
        String op = OPS[random.nextInt(OPS.length)];
        final boolean number = StoreStressModel.isNumberKey(key);
        if (number && (op.equals("app") || op.equals("pre") || op.equals("set") && random.nextBoolean())) {
            op = "setn";
        } else if (!number && op.equals("setn")) {
            op = "set";
        } else if (!number && (op.equals("incr") || op.equals("decr")) && random.nextInt(4) != 0) {
            op = "set";
        }
        if ((op.equals("app") || op.equals("pre")) && before.present() && before.value().length > MAX_VALUE) {
            op = "set";
        }
        if (StoreStressModel.allocates(op, before) && !mayAllocate()) {
            // Out of ring budget for now: an operation that takes no ring space.
            op = random.nextBoolean() ? "touch" : random.nextBoolean() ? "gat" : "del";
        }
        final int exp = random.nextInt(10) == 0 ? StoreStressModel.EXPIRED
            : random.nextBoolean() ? StoreStressModel.NEVER : StoreStressModel.LATER;
        final long arg = switch (op) {
            case "setn" -> random.nextInt(20) == 0 ? -1L - random.nextInt(100) : random.nextLong(1_000_000);
            case "incr", "decr" -> random.nextInt(20) == 0 ? -1L - random.nextInt(100) : random.nextLong(1000);
            default -> 0;
        };
        final long seq = ++model.seq;
        final Intent in = new Intent(seq, op, key, random.nextInt(), exp, arg);
        long cas = 0;
        if (op.equals("cas") || op.equals("casbad") || op.equals("delcas") || op.equals("inval")) {
            // A gets first, as a client does: the value must be the model's too.
            final StoreItem it = store.gets(key.getBytes(StandardCharsets.US_ASCII));
            checkItem(key, it, before);
            cas = it == null ? 1 : op.equals("casbad") ? it.cas() + 1_000_000_007L
                : op.equals("inval") && random.nextBoolean() ? SharedStore.ANY_CAS : it.cas();
        }
        write(in.line());
        final StoreResult expected = expectedResult(in, before);
        final StoreItem[] gat = new StoreItem[1];
        final long[] number1 = new long[1];
        final StoreResult got = run(in, cas, gat, number1);
        // The lane's keys are written by this worker alone: the item there now is the one stored.
        final StoreItem now = op.equals("setc") && got == StoreResult.STORED
            ? store.gets(key.getBytes(StandardCharsets.US_ASCII)) : null;
        if (got == StoreResult.BUSY || got == StoreResult.NO_MEMORY) {
            // Nothing changed (a lock held by a stopped process, say): the key keeps its state.
            write(StoreStressModel.stateLine(key, before));
            model.apply(in);
            model.states.put(key, before);
            return;
        }
        model.apply(in);
        final State after = model.states.get(key);
        if (got != expected) {
            report(new String[] {"violation", "op=" + op + ", key=" + key + ", result=" + got + ", expected=" + expected
                + ", before=" + before});
            sync(key);
        } else if (op.equals("gat") && got == StoreResult.TOUCHED && after.present()) {
            checkItem(key, gat[0], after);
        } else if (now != null && now.cas() != number1[0]) {
            report(new String[] {"violation", "op=" + op + ", key=" + key + ", returned cas=" + number1[0]
                + ", item's cas=" + now.cas()});
            sync(key);
        } else if ((op.equals("incr") || op.equals("decr")) && got == StoreResult.STORED
            && !Long.toUnsignedString(number1[0]).equals(StoreStressModel.number(after.value()))) {
            report(new String[] {"violation", "op=" + op + ", key=" + key + ", returned=" + Long.toUnsignedString(number1[0])
                + ", expected=" + after});
            sync(key);
        }
    }

    private static StoreResult expectedResult(final Intent in, final State s) {
        final boolean p = s.present();
        return switch (in.op()) {
            case "set", "setn" -> StoreResult.STORED;
            case "add" -> p ? StoreResult.NOT_STORED : StoreResult.STORED;
            case "rep", "app", "pre" -> p ? StoreResult.STORED : StoreResult.NOT_STORED;
            case "cas" -> p ? StoreResult.STORED : StoreResult.NOT_FOUND;
            case "casbad" -> p ? StoreResult.EXISTS : StoreResult.NOT_FOUND;
            case "incr", "decr" -> !p ? StoreResult.NOT_FOUND
                : StoreStressModel.isNumber(s.value()) ? StoreResult.STORED : StoreResult.NON_NUMERIC;
            case "del", "delcas" -> p ? StoreResult.DELETED : StoreResult.NOT_FOUND;
            case "touch", "gat" -> p ? StoreResult.TOUCHED : StoreResult.NOT_FOUND;
            case "setc" -> StoreResult.STORED;
            case "inval" -> p ? StoreResult.STORED : StoreResult.NOT_FOUND;
            default -> throw new IllegalArgumentException("unknown stress op: op=" + in.op());
        };
    }

    private StoreResult run(final Intent in, final long cas, final StoreItem[] gat, final long[] number) {
        final byte[] key = in.key().getBytes(StandardCharsets.US_ASCII);
        if (random.nextInt(GIVE_UP_ONE_IN) == 0) {
            giveUpAReservation(key);
        }
        final byte[] value = StoreStressModel.value(in);
        // memcached's exptime: negative is expired at once; LATER is one hour relative or a day absolute.
        final long exptime = in.exp() == StoreStressModel.EXPIRED ? -1 : in.exp() == StoreStressModel.NEVER ? 0
            : in.seq() % 2 == 0 ? 3600 : System.currentTimeMillis() / 1000 + 86_400;
        return switch (in.op()) {
            case "set", "setn" -> store.set(key, value, in.flags(), exptime);
            case "add" -> store.add(key, value, in.flags(), exptime);
            case "rep" -> store.replace(key, value, in.flags(), exptime);
            case "cas", "casbad" -> store.cas(key, value, in.flags(), exptime, cas);
            case "app" -> store.append(key, value);
            case "pre" -> store.prepend(key, value);
            case "incr" -> store.incr(key, in.arg(), number);
            case "decr" -> store.decr(key, in.arg(), number);
            case "del" -> store.delete(key);
            case "touch" -> store.touch(key, exptime);
            case "gat" -> store.getAndTouch(key, exptime, gat);
            case "setc" -> store.store(StoreMode.SET, key, value, in.flags(), exptime, SharedStore.ANY_CAS, false, number);
            case "delcas" -> store.delete(key, cas);
            case "inval" -> store.invalidate(key, cas, SharedStore.KEEP_EXPIRY);
            default -> throw new IllegalArgumentException("unknown stress op: op=" + in.op());
        };
    }

    /** One operation in this many is preceded by a reservation given up ({@link #giveUpAReservation}). */
    private static final int GIVE_UP_ONE_IN = 32;
    private final StoreReservation givenUp = new StoreReservation();

    /**
     * Reserves a record of 4 to 12 KiB for {@code key} and gives it up, as a server does for a client
     * that declared a large value and hung up: nothing is stored, and this worker's next writes are
     * placed in the hole it leaves (the store's {@code HOLE_*} crash points).
     */
    private void giveUpAReservation(final byte[] key) {
        if (store.reserve(key, Math.min((4 << 10) + random.nextInt(8 << 10), store.maxItemSize()), 0, 0, givenUp)) {
            givenUp.value().fill((byte) '#');
            store.abandon(givenUp);
        }
    }

    /** A read of this lane's key, one way or another, against the model. */
    private void checkRead(final String key) throws IOException {
        final State want = model.states.get(key);
        final byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        switch (random.nextInt(4)) {
            case 0 -> checkItem(key, store.gets(k), want);
            case 3 -> {
                // A multi-get (its look-ups prefetched together) of the key twice: both answers agree with the model.
                final StoreItem[] both = store.getMulti(k, k);
                checkItem(key, both[0], want);
                checkItem(key, both[1], want);
            }
            case 1 -> {
                final byte[] v = store.get(k);
                final State got = v == null ? State.ABSENT : new State(v, want.flags(), want.exp());
                complain(key, got, want);
            }
            default -> {
                if (reader.get(k)) {
                    final byte[] v = reader.value().toArray(ValueLayout.JAVA_BYTE);
                    final State got = new State(v, reader.flags(), reader.expires() == 0 ? StoreStressModel.NEVER
                        : StoreStressModel.LATER);
                    // Only a validated copy means anything (the ring's tail could have passed it).
                    if (reader.validate()) {
                        complain(key, got, want);
                    }
                } else {
                    complain(key, State.ABSENT, want);
                }
            }
        }
    }

    private void checkItem(final String key, final StoreItem it, final State want) throws IOException {
        complain(key, it == null ? State.ABSENT : new State(it.value(), it.flags(),
            it.expires() == 0 ? StoreStressModel.NEVER : StoreStressModel.LATER), want);
    }

    private void complain(final String key, final State got, final State want) throws IOException {
        final String[] found = StoreStressModel.judge(key, got, List.of(want));
        if (found != null) {
            report(found);
            sync(key);
        }
    }

    /** Another lane's key, zero-copy: whatever it holds must be whole. */
    private void foreignRead() throws IOException {
        if (lanes < 2) {
            return;
        }
        final int lane = (model.lane + 1 + random.nextInt(lanes - 1)) % lanes;
        final String key = "L" + lane + (random.nextBoolean() ? "s" : "n") + random.nextInt(model.keys);
        if (reader.get(key.getBytes(StandardCharsets.US_ASCII))) {
            final byte[] v = reader.value().toArray(ValueLayout.JAVA_BYTE);
            // Only a validated copy means anything: the item may be replaced under the read.
            if (reader.validate() && !StoreStressModel.wellFormed(key, v)) {
                report(new String[] {"torn", "zero-copy read of another lane's key: key=" + key + ", value="
                    + new String(v, StandardCharsets.ISO_8859_1)});
            }
        }
    }
}
