package io.hsmtls.token.iaik;

import io.hsmtls.token.MechanismInfo;
import io.hsmtls.token.Pkcs11Uri;
import io.hsmtls.token.TokenInfo;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.xipki.pkcs11.wrapper.PKCS11Constants;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Slot;
import org.xipki.pkcs11.wrapper.SlotInfo;

/** Slot and token lookup by RFC 7512 attributes (§2.3: every attribute given must match). */
final class Slots {
    private Slots() {
    }

    static List<Slot> all(SharedModule m) {
        try {
            return List.of(m.module().getSlotList(false));
        } catch (PKCS11Exception e) {
            throw Ckr.failure("C_GetSlotList on module " + m.path(), e);
        }
    }

    /** Exactly one present token matching the URI, else TokenNotFoundException listing what was seen. */
    static Slot find(SharedModule m, Pkcs11Uri uri) {
        String library = libraryMismatch(m, uri);
        if (library != null) {
            throw new io.hsmtls.token.TokenNotFoundException(uri, List.of(library), false);
        }
        List<Slot> matching = new ArrayList<>();
        List<TokenInfo> seen = new ArrayList<>();
        List<TokenInfo> matchingInfo = new ArrayList<>();
        for (Slot slot : all(m)) {
            TokenInfo info = describe(slot);
            if (!info.tokenPresent() || !info.flags().contains("CKF_TOKEN_INITIALIZED")) {
                // SoftHSM always shows one empty, uninitialised token; it cannot be what a URI means.
                continue;
            }
            seen.add(info);
            if (matches(uri, info, slot)) {
                matching.add(slot);
                matchingInfo.add(info);
            }
        }
        if (matching.size() == 1) {
            return matching.get(0);
        }
        throw matching.isEmpty() ? IaikTokens.notFound(uri, seen, false) : IaikTokens.notFound(uri, matchingInfo, true);
    }

    /**
     * Null when the module matches the URI's library-manufacturer/-description/-version (or the URI
     * has none), else a description of the module for the error message.
     */
    static String libraryMismatch(SharedModule m, Pkcs11Uri uri) {
        if (uri.libraryManufacturer().isEmpty() && uri.libraryDescription().isEmpty() && uri.libraryVersion().isEmpty()) {
            return null;
        }
        iaik.pkcs.pkcs11.wrapper.CK_INFO info;
        try {
            info = m.raw().C_GetInfo();
        } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
            return "module " + m.path() + " (C_GetInfo failed: " + Ckr.name(e.getErrorCode()) + ")";
        }
        String man = trim(new String(info.manufacturerID));
        String desc = trim(new String(info.libraryDescription));
        int major = info.libraryVersion.major & 0xFF;
        int minor = info.libraryVersion.minor & 0xFF;
        boolean ok = eq(uri.libraryManufacturer(), man) && eq(uri.libraryDescription(), desc);
        if (ok && uri.libraryVersion().isPresent()) {
            String[] v = uri.libraryVersion().get().split("\\.");
            ok = Integer.parseInt(v[0]) == major && (v.length < 2 || Integer.parseInt(v[1]) == minor);
        }
        return ok ? null : "module " + m.path() + " is '" + desc + "' by '" + man + "', version " + major + "." + minor
                + ", not the library the URI's library-* attributes name";
    }

    static boolean matches(Pkcs11Uri uri, TokenInfo info, Slot slot) {
        if (uri.slotId().isPresent() && uri.slotId().getAsLong() != info.slotId()) return false;
        if (!eq(uri.slotDescription(), info.slotDescription())) return false;
        if (uri.slotManufacturer().isPresent()) {
            String man;
            try {
                man = slot.getSlotInfo().getManufacturerID();
            } catch (PKCS11Exception e) {
                return false;
            }
            if (!eq(uri.slotManufacturer(), man)) return false;
        }
        boolean wantsToken = uri.token().isPresent() || uri.manufacturer().isPresent() || uri.serial().isPresent()
                || uri.model().isPresent();
        if (wantsToken && !info.tokenPresent()) return false;
        return eq(uri.token(), info.label()) && eq(uri.manufacturer(), info.manufacturer())
                && eq(uri.serial(), info.serial()) && eq(uri.model(), info.model());
    }

    private static boolean eq(Optional<String> wanted, String actual) {
        return wanted.isEmpty() || wanted.get().equals(actual == null ? "" : actual.trim());
    }

    static TokenInfo describe(Slot slot) {
        try {
            SlotInfo si = slot.getSlotInfo();
            String desc = trim(si.getSlotDescription());
            if (!si.isTokenPresent()) {
                return new TokenInfo(slot.getSlotID(), desc, false, "", "", "", "", Set.of(), 0, 0, 0, 0);
            }
            org.xipki.pkcs11.wrapper.TokenInfo ti = slot.getToken().getTokenInfo();
            return new TokenInfo(slot.getSlotID(), desc, true, trim(ti.getLabel()), trim(ti.getManufacturerID()),
                    trim(ti.getModel()), trim(ti.getSerialNumber()), flagNames(ti.getFlags()), ti.getMaxSessionCount(),
                    ti.getSessionCount(), ti.getMaxRwSessionCount(), ti.getRwSessionCount());
        } catch (PKCS11Exception e) {
            throw Ckr.failure("C_GetSlotInfo/C_GetTokenInfo on slot " + slot.getSlotID(), e);
        }
    }

    static Set<String> flagNames(long flags) {
        return flagNames(flags, PKCS11Constants.Category.CKF_TOKEN);
    }

    /**
     * The CKF_ names of the set bits; bits the standard does not name are gathered into one
     * {@code CKF_OTHER_0x…} entry (some modules, SoftHSM among them, leave stray high bits set).
     */
    static Set<String> flagNames(long flags, PKCS11Constants.Category category) {
        Set<String> names = new LinkedHashSet<>();
        long unknown = 0;
        for (int bit = 0; bit < 64; bit++) {
            long f = 1L << bit;
            if ((flags & f) != 0) {
                String n = PKCS11Constants.codeToName(category, f);
                if (n == null || n.isEmpty() || n.startsWith("unknown") || n.regionMatches(true, 0, "CKF_0x", 0, 6)) {
                    unknown |= f;
                } else {
                    names.add(n);
                }
            }
        }
        if (unknown != 0) {
            names.add("CKF_OTHER_0x" + Long.toHexString(unknown));
        }
        return names;
    }

    static List<MechanismInfo> mechanisms(SharedModule m, long slotId) {
        try {
            long[] codes = m.raw().C_GetMechanismList(slotId);
            List<MechanismInfo> out = new ArrayList<>(codes.length);
            for (long code : codes) {
                var ci = m.raw().C_GetMechanismInfo(slotId, code);
                Set<String> flags = flagNames(ci.flags, PKCS11Constants.Category.CKF_MECHANISM);
                out.add(new MechanismInfo(mechanismName(code), code, ci.ulMinKeySize, ci.ulMaxKeySize, flags));
            }
            return List.copyOf(out);
        } catch (iaik.pkcs.pkcs11.wrapper.PKCS11Exception e) {
            throw Ckr.failure("C_GetMechanismList on slot " + slotId, e);
        }
    }

    static String mechanismName(long code) {
        String n = PKCS11Constants.codeToName(PKCS11Constants.Category.CKM, code);
        return n == null || n.isEmpty() || n.startsWith("unknown") ? "CKM_0x" + Long.toHexString(code) : n;
    }

    private static String trim(String s) {
        return s == null ? "" : s.trim();
    }
}
