package io.hsmtls.doctor;

import java.util.Objects;

/**
 * One line of the doctor's report.
 *
 * @param name   a short stable name (module, token, login, key, …) scripts can look for
 * @param status ok, warn or fail
 * @param detail one line that names the values it judged and, when not ok, what to do
 */
public record Check(String name, Status status, String detail) {
    public Check {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(detail, "detail");
    }

    static Check ok(String name, String detail) {
        return new Check(name, Status.OK, detail);
    }

    static Check warn(String name, String detail) {
        return new Check(name, Status.WARN, detail);
    }

    static Check fail(String name, String detail) {
        return new Check(name, Status.FAIL, detail);
    }
}
