package io.hsmtls.doctor;

import java.util.Locale;

/** How one check came out. Only {@link #FAIL} makes {@code hsmtls doctor} exit non-zero. */
public enum Status {
    OK, WARN, FAIL;

    /** "ok", "warn", "fail": the text and JSON spelling. */
    public String display() {
        return name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return display();
    }
}
