package io.hsmtls.doctor;

import io.hsmtls.token.Token;
import io.hsmtls.token.TokenInfo;
import java.util.List;

/**
 * How the doctor reaches the token, one step at a time, so each step gets its own line: the
 * caller (the CLI) binds it to the PKCS#11 implementation. Each method may throw the token
 * layer's typed exceptions; the doctor turns them into failed checks.
 */
public interface TokenAccess {

    /** The module as the user gave it (a path or a module name), for messages. */
    String module();

    /**
     * Loads the module and lists every slot with its token, no login.
     *
     * @throws io.hsmtls.token.ModuleLoadException when the library cannot be loaded or initialised
     */
    List<TokenInfo> slots();

    /**
     * The one token the URI selects, no login.
     *
     * @throws io.hsmtls.token.TokenNotFoundException listing what was found
     */
    TokenInfo token();

    /**
     * Opens the token and logs in once. Never retried by the caller: a wrong PIN must count once.
     *
     * @throws io.hsmtls.token.LoginFailedException with the CKR_ name and the PIN tries flags
     */
    Token open();
}
