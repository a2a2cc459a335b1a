package io.hsmtls.token;

/**
 * Counters of what a token did since it was opened, for metrics, tests and the audit trail.
 *
 * @param signs           completed C_Sign calls (successful or not)
 * @param decrypts        completed C_Decrypt calls
 * @param userLogins      C_Login(CKU_USER) calls
 * @param contextLogins   C_Login(CKU_CONTEXT_SPECIFIC) calls (CKA_ALWAYS_AUTHENTICATE keys)
 * @param failures        operations that ended in a CKR_ error
 * @param rejected        operations refused before reaching the token (queue full, token down, deadline)
 * @param reinitializations times the module was finalised and initialised again after a device error
 * @param sessionsOpen    sessions currently open
 * @param sessionsInUse   sessions currently lent out
 * @param pending         operations queued for the token
 * @param up              false while the token is marked down
 */
public record TokenStats(long signs, long decrypts, long userLogins, long contextLogins, long failures, long rejected,
                         long reinitializations, int sessionsOpen, int sessionsInUse, int pending, boolean up) {
}
