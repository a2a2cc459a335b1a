package io.hsmtls.tls;

import java.util.concurrent.Semaphore;

/**
 * Lets at most as many handshakes compute at once as there are CPUs; a handshake gives its place
 * up while it waits for the peer or the token. Why: every connection is a virtual thread on one
 * scheduler, whose queue is first come, first served. Under a handshake load that saturates the
 * CPUs, dozens of handshakes are runnable at once, each wanting 50–300 µs per step, and a record
 * arriving on an established connection waits behind all of them (echo p99 was 8–13 ms under such
 * a load). With the gate, the handshakes beyond the CPU count wait here, parked, and the
 * scheduler's queue holds only the few that hold a place, so an established connection's
 * thread runs within about one handshake step. Throughput is unchanged: the CPUs stay busy with the
 * handshakes that hold places, and a handshake waiting on the network or a slow token holds none.
 *
 * <p>Places are handed out in arrival order (a fair semaphore), so no handshake is starved by
 * others that keep coming back.
 */
public final class CpuGate {
    private static final CpuGate SHARED = create();

    private final Semaphore places;
    private final int size;

    /** A gate with {@code places} places; at least one. */
    public CpuGate(int places) {
        if (places < 1) {
            throw new IllegalArgumentException("a CPU gate needs at least 1 place, not " + places);
        }
        this.size = places;
        this.places = new Semaphore(places, true);
    }

    /**
     * The process's gate for server handshakes: one place per CPU the JVM may use. Null (no gate)
     * when the system property {@code hsmtls.handshakeGate} is {@code off}, to measure without it.
     */
    public static CpuGate shared() {
        return SHARED;
    }

    private static CpuGate create() {
        String mode = System.getProperty("hsmtls.handshakeGate", "on");
        if (mode.equals("off")) {
            return null;
        }
        if (!mode.equals("on")) {
            throw new IllegalArgumentException("system property hsmtls.handshakeGate is '" + mode
                    + "': use on (the default) or off");
        }
        return new CpuGate(Runtime.getRuntime().availableProcessors());
    }

    /** Places in all. */
    public int size() {
        return size;
    }

    /** Places free now (for tests and metrics). */
    public int free() {
        return places.availablePermits();
    }

    /** Handshakes waiting for a place now (for tests and metrics). */
    public int queued() {
        return places.getQueueLength();
    }

    /** A new handshake's pass, not yet holding a place. */
    public Pass pass() {
        return new Pass(this);
    }

    /**
     * One handshake's hold on the gate, used by the handshake's own thread only. {@link #enter()}
     * and {@link #leave()} are idempotent, so every wait can leave and every path out can leave
     * without counting. A null gate gives a pass that never waits.
     */
    public static final class Pass {
        private static final Pass NONE = new Pass(null);
        private final CpuGate gate;
        private boolean held;

        private Pass(CpuGate gate) {
            this.gate = gate;
        }

        /** A pass that never waits (no gate, or a client handshake). */
        public static Pass none() {
            return NONE;
        }

        /** Takes a place, waiting for one if all are held. Interrupts are kept for the caller's next wait. */
        public void enter() {
            if (gate != null && !held) {
                gate.places.acquireUninterruptibly();
                held = true;
            }
        }

        /** Gives the place back, if held. */
        public void leave() {
            if (gate != null && held) {
                held = false;
                gate.places.release();
            }
        }

        /** True while this pass holds a place. */
        public boolean holding() {
            return held;
        }
    }
}
