/*
 * slow-pkcs11: a PKCS#11 module that forwards every call to a real module and adds a fixed delay
 * to each private-key operation, to stand in for a network HSM in benchmarks and tests.
 *
 *   SLOW_PKCS11_MODULE    path of the real module (required), e.g. /usr/lib/softhsm/libsofthsm2.so
 *   SLOW_PKCS11_DELAY_MS  delay added before C_Sign, C_SignFinal and C_Decrypt (default 5)
 *
 * Build: cc -O2 -shared -fPIC -I/usr/include/p11-kit-1 -o libslow-pkcs11.so slow-pkcs11.c -ldl
 *
 * A JVM cannot set its own environment, so a test may instead build the defaults in:
 *   -DSLOW_PKCS11_DEFAULT_MODULE='"/path/libsofthsm2.so"' -DSLOW_PKCS11_DEFAULT_DELAY_MS='"5"'
 * (the environment still wins when set).
 *
 * Built with -DSLOW_PKCS11_REFUSE_LENGTH_QUERIES, a C_Sign or C_Decrypt without an output buffer
 * (the "how long will it be" call) fails with CKR_FUNCTION_FAILED: a test's proof that hsmtls
 * passes the buffer at once, one call per operation.
 *
 * The delay is slept with no lock of ours held: a network HSM's latency belongs to each call,
 * and calls on different sessions overlap. Whatever the real module serialises stays serialised.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#ifndef SLOW_PKCS11_DEFAULT_MODULE
#define SLOW_PKCS11_DEFAULT_MODULE NULL
#endif
#ifndef SLOW_PKCS11_DEFAULT_DELAY_MS
#define SLOW_PKCS11_DEFAULT_DELAY_MS NULL
#endif

static CK_FUNCTION_LIST forward;      /* the real module's list with the slow entries swapped in */
static CK_FUNCTION_LIST_PTR real;     /* the real module's own list */
static long delay_ns = 5L * 1000 * 1000;
static CK_RV init_rv = CKR_GENERAL_ERROR;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void pause_for_network(void)
{
    struct timespec t = { delay_ns / 1000000000L, delay_ns % 1000000000L };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
        /* a signal cut the sleep short: sleep the rest */
    }
}

#ifdef SLOW_PKCS11_REFUSE_LENGTH_QUERIES
#define LENGTH_QUERY_REFUSED(out) if ((out) == NULL) return CKR_FUNCTION_FAILED
#else
#define LENGTH_QUERY_REFUSED(out) (void) 0
#endif

static CK_RV slow_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    LENGTH_QUERY_REFUSED(sig);
    /* A length query (sig == NULL) is answered by the client library of a network HSM, no round trip. */
    if (sig != NULL) {
        pause_for_network();
    }
    return real->C_Sign(s, data, len, sig, sig_len);
}

static CK_RV slow_sign_final(CK_SESSION_HANDLE s, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
    if (sig != NULL) {
        pause_for_network();
    }
    return real->C_SignFinal(s, sig, sig_len);
}

static CK_RV slow_decrypt(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
    LENGTH_QUERY_REFUSED(out);
    if (out != NULL) {
        pause_for_network();
    }
    return real->C_Decrypt(s, in, in_len, out, out_len);
}

static void load(void)
{
    const char *path = getenv("SLOW_PKCS11_MODULE");
    const char *ms = getenv("SLOW_PKCS11_DELAY_MS");
    if (path == NULL || *path == '\0') {
        path = SLOW_PKCS11_DEFAULT_MODULE;
    }
    if (ms == NULL || *ms == '\0') {
        ms = SLOW_PKCS11_DEFAULT_DELAY_MS;
    }
    if (path == NULL || *path == '\0') {
        fprintf(stderr, "slow-pkcs11: SLOW_PKCS11_MODULE is not set: set it to the real module's path\n");
        return;
    }
    if (ms != NULL && *ms != '\0') {
        char *end;
        double v = strtod(ms, &end);
        if (*end != '\0' || v < 0 || v > 60000) {
            fprintf(stderr, "slow-pkcs11: SLOW_PKCS11_DELAY_MS '%s' is not a number of milliseconds in 0..60000\n", ms);
            return;
        }
        delay_ns = (long) (v * 1e6);
    }
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "slow-pkcs11: cannot load %s: %s\n", path, dlerror());
        return;
    }
    CK_C_GetFunctionList get = (CK_C_GetFunctionList) dlsym(lib, "C_GetFunctionList");
    if (get == NULL) {
        fprintf(stderr, "slow-pkcs11: %s has no C_GetFunctionList\n", path);
        return;
    }
    CK_RV rv = get(&real);
    if (rv != CKR_OK) {
        init_rv = rv;
        return;
    }
    forward = *real;
    forward.C_Sign = slow_sign;
    forward.C_SignFinal = slow_sign_final;
    forward.C_Decrypt = slow_decrypt;
    init_rv = CKR_OK;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    if (list == NULL) {
        return CKR_ARGUMENTS_BAD;
    }
    pthread_once(&once, load);
    if (init_rv != CKR_OK) {
        return init_rv;
    }
    *list = &forward;
    return CKR_OK;
}
