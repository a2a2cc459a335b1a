package io.hsmtls.foreign;

import java.lang.invoke.MethodHandle;
import java.lang.reflect.Array;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * {@code java.lang.foreign} by reflection, used once at load time: library look-ups, symbol
 * addresses and downcall {@link MethodHandle}s whose arguments are {@code long}s and {@code int}s
 * (pointers travel as 64-bit integers, which is what they are on the LP64 platforms this is
 * enabled for). The hot paths then only call those handles with primitives and read and write
 * direct {@link ByteBuffer}s whose native address is known ({@link Scratch}), so no reflection and
 * no preview type is ever touched per call.
 *
 * <p>Libraries are looked up in the global arena: they stay loaded for the life of the process, so
 * no function pointer taken from them can dangle.
 */
public final class Foreign {
    private final Class<?> segment = Class.forName("java.lang.foreign.MemorySegment");
    private final Class<?> layout = Class.forName("java.lang.foreign.MemoryLayout");
    private final Class<?> descriptor = Class.forName("java.lang.foreign.FunctionDescriptor");
    private final Class<?> arena = Class.forName("java.lang.foreign.Arena");
    private final Class<?> lookup = Class.forName("java.lang.foreign.SymbolLookup");
    private final Class<?> option = Class.forName("java.lang.foreign.Linker$Option");
    private final Class<?> linkerType = Class.forName("java.lang.foreign.Linker");
    private final Class<?> valueLayout = Class.forName("java.lang.foreign.ValueLayout");
    private final Object linker = linkerType.getMethod("nativeLinker").invoke(null);
    private final Object javaLong = valueLayout.getField("JAVA_LONG").get(null);
    private final Object javaInt = valueLayout.getField("JAVA_INT").get(null);
    private final Method downcallHandle = linkerType.getMethod("downcallHandle", segment, descriptor,
            option.arrayType());
    private final Method ofAddress = segment.getMethod("ofAddress", long.class);
    private final Method ofBuffer = segment.getMethod("ofBuffer", Buffer.class);
    private final Method address = segment.getMethod("address");

    /** A direct buffer in native byte order and its address, for arguments and results. */
    public record Scratch(ByteBuffer buffer, long address) {
    }

    private Foreign() throws ReflectiveOperationException {
    }

    /**
     * The API, or why not: it needs Java 22+ and an LP64 platform other than Windows (where
     * {@code long} and {@code CK_ULONG} are 32 bits). Native access itself is only refused later,
     * at the first look-up, as an {@link IllegalCallerException}.
     */
    public static Foreign load() throws UnavailableException {
        if (Runtime.version().feature() < 22) {
            throw new UnavailableException("needs Java 22+ (the foreign-function API); this is Java "
                    + Runtime.version().feature());
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("windows") || !"64".equals(System.getProperty("sun.arch.data.model", "64"))) {
            throw new UnavailableException("C long is not 64 bits on " + os + "/" + System.getProperty("os.arch"));
        }
        try {
            return new Foreign();
        } catch (ReflectiveOperationException e) {
            throw new UnavailableException("the foreign-function API is not there: " + e);
        }
    }

    /** Why a native path is not taken; the message is for the operator. */
    public static final class UnavailableException extends Exception {
        private static final long serialVersionUID = 1L;

        public UnavailableException(String message) {
            super(message);
        }
    }

    /** The symbols of the library at {@code path}. */
    public Object libraryLookup(Path path) throws ReflectiveOperationException {
        return lookup.getMethod("libraryLookup", Path.class, arena).invoke(null, path, global());
    }

    /** The symbols of a library found by the dynamic linker's search ({@code dlopen} of a bare name). */
    public Object libraryLookup(String name) throws ReflectiveOperationException {
        return lookup.getMethod("libraryLookup", String.class, arena).invoke(null, name, global());
    }

    private Object global() throws ReflectiveOperationException {
        return arena.getMethod("global").invoke(null);
    }

    /** The address of {@code name} in {@code symbols}, if it is exported. */
    public Optional<Long> find(Object symbols, String name) throws ReflectiveOperationException {
        Optional<?> found = (Optional<?>) lookup.getMethod("find", String.class).invoke(symbols, name);
        if (found.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of((Long) address.invoke(found.get()));
    }

    /** A handle for a C function of {@code args} 64-bit integer arguments returning one (a CK_RV). */
    public MethodHandle downcall(long function, int args) throws ReflectiveOperationException {
        Class<?>[] types = new Class<?>[args];
        java.util.Arrays.fill(types, long.class);
        return downcall(function, long.class, types);
    }

    /**
     * A handle for a C function returning {@code ret} ({@code long}, {@code int} or {@code void})
     * and taking {@code args} ({@code long} or {@code int} each): pointers and {@code size_t} are
     * {@code long}, C {@code int} is {@code int}.
     */
    public MethodHandle downcall(long function, Class<?> ret, Class<?>... args) throws ReflectiveOperationException {
        Object[] layouts = (Object[]) Array.newInstance(layout, args.length);
        for (int i = 0; i < args.length; i++) {
            layouts[i] = layoutOf(args[i]);
        }
        Object fd = ret == void.class
                ? descriptor.getMethod("ofVoid", layout.arrayType()).invoke(null, (Object) layouts)
                : descriptor.getMethod("of", layout, layout.arrayType()).invoke(null, layoutOf(ret), layouts);
        return (MethodHandle) downcallHandle.invoke(linker, ofAddress.invoke(null, function), fd,
                Array.newInstance(option, 0));
    }

    private Object layoutOf(Class<?> type) {
        if (type == long.class) {
            return javaLong;
        }
        if (type == int.class) {
            return javaInt;
        }
        throw new IllegalArgumentException("no C layout for " + type + ": long or int");
    }

    /** A fresh direct buffer of {@code size} bytes and its address. */
    public Scratch scratch(int size) {
        ByteBuffer b = ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
        try {
            return new Scratch(b, (Long) address.invoke(ofBuffer.invoke(null, b)));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code n} longs from native memory at {@code at}. */
    public long[] readLongs(long at, int n) throws ReflectiveOperationException {
        Object seg = segment.getMethod("reinterpret", long.class).invoke(ofAddress.invoke(null, at), n * 8L);
        Class<?> ofLong = Class.forName("java.lang.foreign.ValueLayout$OfLong");
        return (long[]) segment.getMethod("toArray", ofLong).invoke(seg, javaLong);
    }

    /**
     * What a reflective call into the API threw, unwrapped: {@code IllegalCallerException} (native
     * access not enabled for this code) is the one callers usually want to name.
     */
    public static Throwable cause(Throwable e) {
        return e instanceof InvocationTargetException ite && ite.getCause() != null ? ite.getCause() : e;
    }

    /** Rethrows what a {@link MethodHandle#invokeExact} threw, unchecked. */
    public static RuntimeException rethrow(Throwable e) {
        if (e instanceof RuntimeException r) {
            throw r;
        }
        if (e instanceof Error err) {
            throw err;
        }
        throw new IllegalStateException(e);
    }
}
