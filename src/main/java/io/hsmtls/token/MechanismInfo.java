package io.hsmtls.token;

import java.util.Set;

/** One mechanism a token lists (C_GetMechanismInfo), by CKM_ name. */
public record MechanismInfo(String name, long code, long minKeySize, long maxKeySize, Set<String> flags) {
    public MechanismInfo {
        flags = Set.copyOf(flags);
    }
}
