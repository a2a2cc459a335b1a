package io.hsmtls.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CpuGateTest {
    @Test
    void aHandshakeBeyondThePlacesWaitsUntilOneIsGivenBack() throws Exception {
        CpuGate gate = new CpuGate(1);
        CpuGate.Pass first = gate.pass();
        first.enter();
        CountDownLatch entered = new CountDownLatch(1);
        CpuGate.Pass second = gate.pass();
        Thread t = Thread.ofVirtual().start(() -> {
            second.enter();
            entered.countDown();
        });
        assertFalse(entered.await(200, TimeUnit.MILLISECONDS), "no place while the first holds the only one");
        first.leave();
        assertTrue(entered.await(5, TimeUnit.SECONDS), "the place goes to the waiting handshake");
        t.join();
        assertTrue(second.holding());
        assertEquals(0, gate.free());
        second.leave();
        assertEquals(1, gate.free());
    }

    @Test
    void enterAndLeaveAreIdempotentSoEveryPathOutMayLeave() {
        CpuGate gate = new CpuGate(2);
        CpuGate.Pass p = gate.pass();
        p.enter();
        p.enter();
        assertEquals(1, gate.free(), "one pass holds one place");
        p.leave();
        p.leave();
        assertEquals(2, gate.free(), "and gives back exactly one");
    }

    @Test
    void placesAreHandedOutInArrivalOrder() throws Exception {
        CpuGate gate = new CpuGate(1);
        CpuGate.Pass holder = gate.pass();
        holder.enter();
        java.util.List<Integer> order = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        java.util.List<Thread> waiting = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int n = i;
            CpuGate.Pass p = gate.pass();
            waiting.add(Thread.ofPlatform().start(() -> {
                p.enter();
                order.add(n);
                p.leave();
            }));
            // Each is queued before the next starts.
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (gate.queued() < i + 1 && System.nanoTime() < until) {
                Thread.onSpinWait();
            }
        }
        holder.leave();
        for (Thread t : waiting) {
            t.join(5_000);
        }
        assertEquals(java.util.List.of(0, 1, 2, 3, 4), order);
    }

    @Test
    void noPassWithoutAGateNeverWaits() {
        CpuGate.Pass p = CpuGate.Pass.none();
        p.enter();
        p.enter();
        assertFalse(p.holding());
        p.leave();
    }

    @Test
    void aGateWithoutPlacesIsRefusedByItsSize() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new CpuGate(0));
        assertTrue(e.getMessage().contains("not 0"), e.getMessage());
    }
}
