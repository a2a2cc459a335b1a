package io.hsmtls.tls.bc;

import io.hsmtls.foreign.Foreign;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;

/**
 * X25519 (RFC 7748) through OpenSSL's libcrypto, for the ephemeral key exchange of every TLS 1.3
 * and ECDHE handshake. Measured on this project's machine (one thread, 20,000 each): a key pair
 * plus an agreement costs 67 µs here against 93–102 µs with Bouncy Castle's Java code, which was the
 * largest single item of serve's CPU under TLS 1.3 load (18 % of its samples). nginx, the peer the
 * benchmark compares against, uses the same library for the same step.
 *
 * <p>The key pair is made inside OpenSSL ({@code EVP_PKEY_new_raw_private_key} from 32 bytes of the
 * crypto's {@link SecureRandom}) and stays there until the agreement: giving OpenSSL the private
 * key again for the agreement would make it recompute the public key, which is the cost of a
 * second scalar multiplication. {@link KeyPair#close} frees it (OpenSSL wipes the private key as it
 * frees it); a handshake that dies between the two steps leaves it to a {@link Cleaner}. The few
 * bytes that pass through Java-side native buffers (the random scalar, the shared secret) are wiped
 * there once used.
 *
 * <p>Used only when it proves itself at load: libcrypto.so.3 is found, the RFC 7748 §6.1 vectors come
 * out right, and an all-zero peer value (a small-order point) is refused, which is what lets a
 * failed agreement be reported as the same {@code handshake_failure} Bouncy Castle's code gives.
 * Otherwise, and with {@code -Dhsmtls.x25519=java}, {@link FastTlsCrypto} keeps Bouncy Castle's
 * X25519; {@link #whyNot()} says why.
 */
final class OpensslX25519 {
    /** System property: {@code java} keeps X25519 on Bouncy Castle's code. */
    static final String PROPERTY = "hsmtls.x25519";

    private static final int KEY_SIZE = 32;
    private static final String LIBRARY = "libcrypto.so.3";
    private static final int NID_X25519 = 1034;
    // A buffer: an input key at 0, an output key at 32, a size_t length at 64.
    private static final int IN = 0;
    private static final int OUT = 32;
    private static final int LEN = 64;
    private static final int BUFFER = 72;
    private static final byte[] ZEROS = new byte[KEY_SIZE];

    private final Foreign foreign;
    private final String version;
    private final MethodHandle newPrivate;
    private final MethodHandle newPublic;
    private final MethodHandle getPublic;
    private final MethodHandle freeKey;
    private final MethodHandle newContext;
    private final MethodHandle freeContext;
    private final MethodHandle deriveInit;
    private final MethodHandle setPeer;
    private final MethodHandle derive;
    private final MethodHandle clearErrors;
    /** Frees the keys of handshakes that died between key share and agreement. */
    private final Cleaner cleaner = Cleaner.create(r -> {
        Thread t = new Thread(r, "hsmtls-x25519-cleaner");
        t.setDaemon(true);
        return t;
    });
    /** Native buffers for the calls, reused; at most this many are kept. */
    private final ArrayBlockingQueue<Foreign.Scratch> buffers = new ArrayBlockingQueue<>(32);

    private record Loaded(OpensslX25519 x25519, String whyNot) {
    }

    /** Loaded on first use, once per process. */
    private static final class Holder {
        static final Loaded LOADED = load();
    }

    private OpensslX25519(Foreign foreign, Object lib, long versionNumber) throws ReflectiveOperationException {
        this.foreign = foreign;
        this.version = (versionNumber >>> 28) + "." + ((versionNumber >>> 20) & 0xff) + "." + ((versionNumber >>> 4) & 0xff);
        newPrivate = handle(lib, "EVP_PKEY_new_raw_private_key", long.class, int.class, long.class, long.class, long.class);
        newPublic = handle(lib, "EVP_PKEY_new_raw_public_key", long.class, int.class, long.class, long.class, long.class);
        getPublic = handle(lib, "EVP_PKEY_get_raw_public_key", int.class, long.class, long.class, long.class);
        freeKey = handle(lib, "EVP_PKEY_free", void.class, long.class);
        newContext = handle(lib, "EVP_PKEY_CTX_new", long.class, long.class, long.class);
        freeContext = handle(lib, "EVP_PKEY_CTX_free", void.class, long.class);
        deriveInit = handle(lib, "EVP_PKEY_derive_init", int.class, long.class);
        setPeer = handle(lib, "EVP_PKEY_derive_set_peer", int.class, long.class, long.class);
        derive = handle(lib, "EVP_PKEY_derive", int.class, long.class, long.class, long.class);
        clearErrors = handle(lib, "ERR_clear_error", void.class);
    }

    private MethodHandle handle(Object lib, String name, Class<?> ret, Class<?>... args)
            throws ReflectiveOperationException {
        long fn = foreign.find(lib, name).orElseThrow(() -> new IllegalStateException(LIBRARY + " has no " + name));
        return foreign.downcall(fn, ret, args);
    }

    /** OpenSSL's X25519, if it loaded and passed its checks. */
    static Optional<OpensslX25519> instance() {
        return Optional.ofNullable(Holder.LOADED.x25519());
    }

    /** Why X25519 stays on Bouncy Castle's code; empty when OpenSSL's is used. */
    static Optional<String> whyNot() {
        return Optional.ofNullable(Holder.LOADED.whyNot());
    }

    /** "OpenSSL 3.0.17", for the operator. */
    String version() {
        return "OpenSSL " + version;
    }

    private static Loaded load() {
        String setting = System.getProperty(PROPERTY, "openssl");
        if (setting.equalsIgnoreCase("java")) {
            return new Loaded(null, "turned off (-D" + PROPERTY + "=java)");
        }
        if (!setting.equalsIgnoreCase("openssl")) {
            return new Loaded(null, "-D" + PROPERTY + "=" + setting + " is neither openssl nor java");
        }
        try {
            Foreign foreign = Foreign.load();
            Object lib = foreign.libraryLookup(LIBRARY);
            long versionFn = foreign.find(lib, "OpenSSL_version_num")
                    .orElseThrow(() -> new IllegalStateException(LIBRARY + " has no OpenSSL_version_num"));
            long v = (long) foreign.downcall(versionFn, long.class).invokeExact();
            if ((v >>> 28) < 3) {
                throw new IllegalStateException(LIBRARY + " says it is version 0x" + Long.toHexString(v) + ", not 3.x");
            }
            OpensslX25519 x = new OpensslX25519(foreign, lib, v);
            x.selfTest();
            return new Loaded(x, null);
        } catch (IllegalStateException | Foreign.UnavailableException e) {
            return new Loaded(null, e.getMessage());
        } catch (Throwable e) {
            // IllegalCallerException: native access not enabled (--enable-native-access);
            // IllegalArgumentException: no libcrypto.so.3 on the library path.
            Throwable cause = Foreign.cause(e);
            return new Loaded(null, cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
    }

    /**
     * RFC 7748 §6.1: Alice's public key from her private key, the shared secret from her key and
     * Bob's public key; and no secret from an all-zero peer value. Any other answer means this
     * library cannot be used as wired here.
     */
    private void selfTest() {
        HexFormat hex = HexFormat.of();
        byte[] alicePriv = hex.parseHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        byte[] alicePub = hex.parseHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
        byte[] bobPub = hex.parseHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
        byte[] shared = hex.parseHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        try (KeyPair alice = generate(fixed(alicePriv))) {
            if (!Arrays.equals(alice.publicKey(), alicePub)) {
                throw new IllegalStateException("OpenSSL's X25519 public key differs from RFC 7748 §6.1's");
            }
            if (!Arrays.equals(alice.agree(bobPub), shared)) {
                throw new IllegalStateException("OpenSSL's X25519 shared secret differs from RFC 7748 §6.1's");
            }
        }
        try (KeyPair any = generate(new SecureRandom())) {
            if (any.agree(new byte[KEY_SIZE]) != null) {
                throw new IllegalStateException("OpenSSL's X25519 gave a secret for an all-zero peer value");
            }
        }
    }

    private static SecureRandom fixed(byte[] scalar) {
        return new SecureRandom() {
            private static final long serialVersionUID = 1L;

            @Override
            public void nextBytes(byte[] out) {
                System.arraycopy(scalar, 0, out, 0, out.length);
            }
        };
    }

    /** A fresh key pair inside OpenSSL, its private scalar drawn from {@code random}. */
    KeyPair generate(SecureRandom random) {
        byte[] scalar = new byte[KEY_SIZE];
        random.nextBytes(scalar);
        Foreign.Scratch s = take();
        ByteBuffer b = s.buffer();
        try {
            b.put(IN, scalar);
            Arrays.fill(scalar, (byte) 0);
            long key = (long) newPrivate.invokeExact(NID_X25519, 0L, s.address() + IN, (long) KEY_SIZE);
            if (key == 0) {
                clearErrors.invokeExact();
                throw new IllegalStateException("OpenSSL could not make an X25519 key (EVP_PKEY_new_raw_private_key)");
            }
            KeyPair pair = new KeyPair(key);
            b.putLong(LEN, KEY_SIZE);
            int ok = (int) getPublic.invokeExact(key, s.address() + OUT, s.address() + LEN);
            if (ok != 1 || b.getLong(LEN) != KEY_SIZE) {
                pair.close();
                clearErrors.invokeExact();
                throw new IllegalStateException("OpenSSL gave no X25519 public key (EVP_PKEY_get_raw_public_key)");
            }
            byte[] pub = new byte[KEY_SIZE];
            b.get(OUT, pub);
            pair.publicKey = pub;
            return pair;
        } catch (Throwable e) {
            throw Foreign.rethrow(e);
        } finally {
            b.put(IN, ZEROS);
            give(s);
        }
    }

    private Foreign.Scratch take() {
        Foreign.Scratch s = buffers.poll();
        return s != null ? s : foreign.scratch(BUFFER);
    }

    private void give(Foreign.Scratch s) {
        buffers.offer(s);
    }

    /** One handshake's ephemeral key pair, held by OpenSSL until {@link #close}. */
    final class KeyPair implements AutoCloseable {
        private final long key;
        private final Cleaner.Cleanable free;
        private byte[] publicKey;
        private boolean closed;

        private KeyPair(long key) {
            this.key = key;
            this.free = cleaner.register(this, new Free(freeKey, key));
        }

        byte[] publicKey() {
            return publicKey.clone();
        }

        /**
         * The shared secret with the peer's public value ({@value #KEY_SIZE} bytes, checked by the
         * caller), or null when OpenSSL refuses it: an all-zero result, from a small-order point
         * (RFC 7748 §6.1, RFC 8446 §7.4.2).
         */
        byte[] agree(byte[] peerValue) {
            if (closed) {
                // the native key is gone: using it would read freed memory
                throw new IllegalStateException("this X25519 key pair was closed");
            }
            Foreign.Scratch s = take();
            ByteBuffer b = s.buffer();
            long peer = 0;
            long ctx = 0;
            try {
                b.put(IN, peerValue);
                peer = (long) newPublic.invokeExact(NID_X25519, 0L, s.address() + IN, (long) KEY_SIZE);
                ctx = peer == 0 ? 0 : (long) newContext.invokeExact(key, 0L);
                b.putLong(LEN, KEY_SIZE);
                boolean ok = ctx != 0
                        && (int) deriveInit.invokeExact(ctx) == 1
                        && (int) setPeer.invokeExact(ctx, peer) == 1
                        && (int) derive.invokeExact(ctx, s.address() + OUT, s.address() + LEN) == 1
                        && b.getLong(LEN) == KEY_SIZE;
                if (!ok) {
                    clearErrors.invokeExact();
                    return null;
                }
                byte[] secret = new byte[KEY_SIZE];
                b.get(OUT, secret);
                return secret;
            } catch (Throwable e) {
                throw Foreign.rethrow(e);
            } finally {
                b.put(OUT, ZEROS);
                try {
                    if (ctx != 0) {
                        freeContext.invokeExact(ctx);
                    }
                    if (peer != 0) {
                        freeKey.invokeExact(peer);
                    }
                } catch (Throwable e) {
                    throw Foreign.rethrow(e);
                }
                give(s);
                // Until here, not earlier: once unreachable, the Cleaner may free the key under the call.
                Reference.reachabilityFence(this);
            }
        }

        /** Frees the key in OpenSSL; idempotent. */
        @Override
        public void close() {
            closed = true;
            free.clean();
        }
    }

    /** The Cleaner's action: holds no reference to the key pair object, only to the native key. */
    private record Free(MethodHandle freeKey, long key) implements Runnable {
        @Override
        public void run() {
            try {
                freeKey.invokeExact(key);
            } catch (Throwable e) {
                throw Foreign.rethrow(e);
            }
        }
    }
}
