package io.hsmtls.token.iaik;

import io.hsmtls.foreign.Foreign;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;
import iaik.pkcs.pkcs11.wrapper.CK_RSA_PKCS_PSS_PARAMS;
import iaik.pkcs.pkcs11.wrapper.PKCS11Exception;

/**
 * The four calls of a handshake's private-key operation (C_SignInit and C_Sign, C_DecryptInit and
 * C_Decrypt), made straight into the module's function list with the JDK's foreign-function API
 * instead of through the wrapper's JNI layer. Two reasons, both measured under serve's load on
 * SoftHSM:
 * <ul>
 * <li>The wrapper's C_Sign and C_Decrypt ask the module for the output length first (a call with a
 * null buffer), then call again. The length query is a full module call: SoftHSM re-reads its token
 * object's file for it (openat, fstat, read, close, six getpid, three fcntl). Here the output
 * buffer is passed at once, as OpenSSL's pkcs11 engine does: one C_Sign per signature.</li>
 * <li>The wrapper's native C_SignInit looks up ~27 Java classes per call whatever the mechanism
 * (3.5 % of serve's CPU under TLS 1.3 load).</li>
 * </ul>
 *
 * <p>The project compiles for Java 21, where this API is a preview, so it is reached by reflection
 * once, at module load, and the hot path only calls the resulting {@link MethodHandle}s with
 * {@code long} arguments (pointers travel as 64-bit integers, which is what they are on the LP64
 * platforms this is enabled for). Each pooled session carries a small direct buffer for the
 * mechanism, the input and the output. Not available (Java 21, not LP64, native access refused,
 * the module's function list does not match its exported symbols, or
 * {@code -Dhsmtls.pkcs11.direct=false}): {@link #load} says why and the wrapper's path is used.
 */
final class DirectCalls {
    /** System property: "false" keeps every call on the wrapper's JNI path. */
    static final String PROPERTY = "hsmtls.pkcs11.direct";

    // CK_FUNCTION_LIST (PKCS#11 v2.40 §5.2, pkcs11f.h order): a CK_VERSION padded to 8 bytes, then
    // one pointer per function. v3.0 keeps this list unchanged at the front of CK_FUNCTION_LIST_3_0.
    private static final int C_INITIALIZE = 0;
    private static final int C_FINALIZE = 1;
    private static final int C_DECRYPT_INIT = 33;
    private static final int C_DECRYPT = 34;
    private static final int C_SIGN_INIT = 42;
    private static final int C_SIGN = 43;
    private static final long CKR_OK = 0;
    private static final long CKR_BUFFER_TOO_SMALL = 0x150;

    // The per-session buffer: CK_MECHANISM at 0, its parameters at 32, the output length (CK_ULONG)
    // at 64, the input from 128, the output after the input.
    private static final int MECHANISM = 0;
    private static final int PARAMS = 32;
    private static final int OUT_LEN = 64;
    private static final int IN = 128;
    private static final int IN_MAX = 2048;
    private static final int OUT = IN + IN_MAX;
    private static final int OUT_MAX = 2048;

    /** What {@link #load} found: the calls, or why there are none. */
    record Loaded(DirectCalls calls, String whyNot) {
    }

    private final MethodHandle signInit;
    private final MethodHandle sign;
    private final MethodHandle decryptInit;
    private final MethodHandle decrypt;
    private final Foreign ffm;

    private DirectCalls(Foreign ffm, MethodHandle signInit, MethodHandle sign, MethodHandle decryptInit,
            MethodHandle decrypt) {
        this.ffm = ffm;
        this.signInit = signInit;
        this.sign = sign;
        this.decryptInit = decryptInit;
        this.decrypt = decrypt;
    }

    /** The direct calls into the module at {@code module}, or why the wrapper's path is used. */
    static Loaded load(Path module) {
        if ("false".equalsIgnoreCase(System.getProperty(PROPERTY, "true"))) {
            return new Loaded(null, "turned off (-D" + PROPERTY + "=false)");
        }
        try {
            Foreign ffm = Foreign.load();
            Object lookup = ffm.libraryLookup(module);
            long getFunctionList = ffm.find(lookup, "C_GetFunctionList")
                    .orElseThrow(() -> new IllegalStateException("the module exports no C_GetFunctionList"));
            MethodHandle gfl = ffm.downcall(getFunctionList, 1);
            Foreign.Scratch out = ffm.scratch(8);
            long rv = (long) gfl.invokeExact(out.address());
            if (rv != CKR_OK) {
                throw new IllegalStateException("C_GetFunctionList returned " + Ckr.name(rv));
            }
            long list = out.buffer().getLong(0);
            rv = (long) gfl.invokeExact(out.address());
            if (rv != CKR_OK || out.buffer().getLong(0) != list) {
                // p11-kit's client and proxy modules hand each caller a list of its own, with its own
                // initialisation: this one would not be the wrapper's.
                throw new IllegalStateException("the module gives each caller its own function list");
            }
            long[] entries = ffm.readLongs(list, 1 + C_SIGN + 1);
            int major = (int) (entries[0] & 0xff);
            if (major != 2 && major != 3) {
                throw new IllegalStateException("the function list says version " + major + ".x");
            }
            // Where the module also exports the functions by name, they must be the list's entries;
            // anything else means this layout is not the module's, and a wrong pointer would crash.
            String[] names = {"C_DecryptInit", "C_Decrypt", "C_SignInit", "C_Sign"};
            int[] slots = {C_DECRYPT_INIT, C_DECRYPT, C_SIGN_INIT, C_SIGN};
            for (int i = 0; i < names.length; i++) {
                long entry = entries[1 + slots[i]];
                if (entry == 0) {
                    throw new IllegalStateException("the function list has no " + names[i]);
                }
                Optional<Long> exported = ffm.find(lookup, names[i]);
                if (exported.isPresent() && exported.get() != entry) {
                    throw new IllegalStateException("the function list's " + names[i]
                            + " is not the exported one: unexpected layout");
                }
            }
            // The wrapper has initialised the module: through the same list, C_Initialize must say so.
            // CKR_OK would mean a second instance (now initialised by us, so finalise it again).
            rv = (long) ffm.downcall(entries[1 + C_INITIALIZE], 1).invokeExact(0L);
            if (rv != Ckr.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
                if (rv == CKR_OK) {
                    long finalized = (long) ffm.downcall(entries[1 + C_FINALIZE], 1).invokeExact(0L);
                }
                throw new IllegalStateException("C_Initialize through the module's list returned " + Ckr.name(rv)
                        + ", not CKR_CRYPTOKI_ALREADY_INITIALIZED: not the wrapper's instance");
            }
            return new Loaded(new DirectCalls(ffm, ffm.downcall(entries[1 + C_SIGN_INIT], 3),
                    ffm.downcall(entries[1 + C_SIGN], 5), ffm.downcall(entries[1 + C_DECRYPT_INIT], 3),
                    ffm.downcall(entries[1 + C_DECRYPT], 5)), null);
        } catch (IllegalStateException | Foreign.UnavailableException e) {
            return new Loaded(null, e.getMessage());
        } catch (Throwable e) {
            // IllegalCallerException: native access not enabled for this code (--enable-native-access).
            Throwable cause = Foreign.cause(e);
            return new Loaded(null, cause.getClass().getSimpleName() + ": " + cause.getMessage());
        }
    }

    /** C_SignInit with {@code mechanism} and, for PSS, its parameters. */
    void signInit(SessionPool.Lease s, long mechanism, CK_RSA_PKCS_PSS_PARAMS pss, long key) throws PKCS11Exception {
        Foreign.Scratch m = mechanism(s, mechanism, pss);
        check(call3(signInit, s.handle, m.address() + MECHANISM, key));
    }

    /** C_DecryptInit with {@code mechanism} (no parameters). */
    void decryptInit(SessionPool.Lease s, long mechanism, long key) throws PKCS11Exception {
        Foreign.Scratch m = mechanism(s, mechanism, null);
        check(call3(decryptInit, s.handle, m.address() + MECHANISM, key));
    }

    /**
     * C_Sign with room for the signature, or null when the input or the signature does not fit the
     * session's buffer: the operation is still active then (CKR_BUFFER_TOO_SMALL does not end it,
     * v2.40 §5.2), and the caller finishes it through the wrapper.
     */
    byte[] sign(SessionPool.Lease s, byte[] data) throws PKCS11Exception {
        return finish(sign, s, data, false);
    }

    /** C_Decrypt, like {@link #sign}; the plaintext is wiped from the native buffer once copied. */
    byte[] decrypt(SessionPool.Lease s, byte[] data) throws PKCS11Exception {
        return finish(decrypt, s, data, true);
    }

    private byte[] finish(MethodHandle call, SessionPool.Lease s, byte[] data, boolean secret) throws PKCS11Exception {
        if (data.length > IN_MAX) {
            return null;
        }
        Foreign.Scratch m = scratch(s);
        ByteBuffer b = m.buffer();
        b.put(IN, data);
        b.putLong(OUT_LEN, OUT_MAX);
        long rv;
        try {
            rv = (long) call.invokeExact(s.handle, m.address() + IN, (long) data.length, m.address() + OUT,
                    m.address() + OUT_LEN);
        } catch (Throwable e) {
            throw Foreign.rethrow(e);
        }
        if (rv == CKR_BUFFER_TOO_SMALL) {
            return null;
        }
        check(rv);
        long length = b.getLong(OUT_LEN);
        if (length < 0 || length > OUT_MAX) {
            throw new IllegalStateException("the module reported " + length + " output bytes for a " + OUT_MAX
                    + "-byte buffer");
        }
        int n = (int) length;
        byte[] out = new byte[n];
        b.get(OUT, out);
        if (secret) {
            b.put(OUT, new byte[n]);
        }
        return out;
    }

    private Foreign.Scratch mechanism(SessionPool.Lease s, long mechanism, CK_RSA_PKCS_PSS_PARAMS pss) {
        Foreign.Scratch m = scratch(s);
        ByteBuffer b = m.buffer();
        b.putLong(MECHANISM, mechanism);
        if (pss == null) {
            b.putLong(MECHANISM + 8, 0);
            b.putLong(MECHANISM + 16, 0);
        } else {
            b.putLong(PARAMS, pss.hashAlg);
            b.putLong(PARAMS + 8, pss.mgf);
            b.putLong(PARAMS + 16, pss.sLen);
            b.putLong(MECHANISM + 8, m.address() + PARAMS);
            b.putLong(MECHANISM + 16, 24);
        }
        return m;
    }

    private Foreign.Scratch scratch(SessionPool.Lease s) {
        if (s.scratch == null) {
            s.scratch = ffm.scratch(OUT + OUT_MAX);
        }
        return s.scratch;
    }

    private static long call3(MethodHandle h, long a, long b, long c) {
        try {
            return (long) h.invokeExact(a, b, c);
        } catch (Throwable e) {
            throw Foreign.rethrow(e);
        }
    }

    private static void check(long rv) throws PKCS11Exception {
        if (rv != CKR_OK) {
            throw new PKCS11Exception(rv);
        }
    }

}
