package io.hsmtls.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class PercentilesTest {
    @Test
    void nearestRank_ofOneToHundred_isTheRankItself() {
        long[] v = LongStream.rangeClosed(1, 100).toArray();
        assertEquals(50, Percentiles.nearestRank(v, 50));
        assertEquals(99, Percentiles.nearestRank(v, 99));
        assertEquals(100, Percentiles.nearestRank(v, 100));
        assertEquals(1, Percentiles.nearestRank(v, 0.5));
    }

    @Test
    void nearestRank_smallSample_p99IsTheMaximumNotAnInterpolation() {
        long[] v = {3, 10, 1000};
        assertEquals(1000, Percentiles.nearestRank(v, 99));
        assertEquals(10, Percentiles.nearestRank(v, 50));
    }

    @Test
    void nearestRank_rejectsEmptyAndOutOfRange() {
        assertThrows(IllegalArgumentException.class, () -> Percentiles.nearestRank(new long[0], 50));
        assertThrows(IllegalArgumentException.class, () -> Percentiles.nearestRank(new long[] {1}, 0));
        assertThrows(IllegalArgumentException.class, () -> Percentiles.nearestRank(new long[] {1}, 101));
    }

    @Test
    void sortedCopy_usesOnlyTheFilledPart() {
        long[] buf = {9, 1, 5, 0, 0};
        assertEquals(List.of(1L, 5L, 9L), LongStream.of(Percentiles.sortedCopy(buf, 3)).boxed().toList());
    }

    @Test
    void median_oddAndEven() {
        assertEquals(2.0, Percentiles.median(List.of(3.0, 1.0, 2.0)));
        assertEquals(2.5, Percentiles.median(List.of(4.0, 1.0, 3.0, 2.0)));
    }
}
