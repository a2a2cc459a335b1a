package io.hsmtls.tls.client;

import java.util.List;

/**
 * One step of a client handshake as the probe reports it.
 *
 * @param name     e.g. "ClientHello", "ServerHello", "Server certificate", "Token operation"
 * @param status   how the step went
 * @param atMicros microseconds since the handshake started
 * @param details  key/value lines; a value is a String, Number, Boolean or List of String
 */
public record ProbeStep(String name, Status status, long atMicros, List<Detail> details) {
    public ProbeStep {
        details = List.copyOf(details);
    }

    public enum Status { OK, INFO, WARN, FAIL }

    public record Detail(String key, Object value) {
        public Detail {
            if (value instanceof List<?> l) {
                value = l.stream().map(String::valueOf).toList();
            } else if (!(value instanceof Number || value instanceof Boolean)) {
                value = String.valueOf(value);
            }
        }
    }

    public static Detail d(String key, Object value) {
        return new Detail(key, value);
    }
}
