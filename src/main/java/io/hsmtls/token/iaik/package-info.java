/**
 * The token layer over xipki's IAIK-style PKCS#11 wrapper: shared module loading, slot and token
 * lookup, one login per token, a bounded session pool worked by a small lane of platform threads,
 * key lookup and the sign/decrypt/provisioning calls behind {@link io.hsmtls.token.Token}. A
 * handshake's private-key calls go straight into the module's function list where the runtime
 * allows it ({@code DirectCalls}); everything else goes through the wrapper.
 */
package io.hsmtls.token.iaik;
