package io.hsmtls.token.iaik;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.testing.SoftHsm;
import io.hsmtls.token.ModuleLoadException;
import io.hsmtls.token.Pkcs11Uri;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which module file a URI, --module and the environment lead to. */
class ModuleResolverTest {
    @TempDir
    Path dir;

    static Pkcs11Uri uri(String s) {
        return Pkcs11Uri.parse(s);
    }

    @Test
    void override_winsOverTheUri() throws Exception {
        Path lib = Files.createFile(dir.resolve("libother.so"));
        assertEquals(lib, ModuleResolver.resolve(uri("pkcs11:?module-path=/nonexistent.so"), Optional.of(lib), Map.of()));
    }

    @Test
    void overrideNamingADirectory_isRefused() {
        ModuleLoadException e = assertThrows(ModuleLoadException.class,
                () -> ModuleResolver.resolve(uri("pkcs11:"), Optional.of(dir), Map.of()));
        assertTrue(e.getMessage().contains("--module names a directory"), e.getMessage());
    }

    @Test
    void modulePathDirectory_withModuleName_looksInThatDirectory() throws Exception {
        Path lib = Files.createFile(dir.resolve("libvendor.so"));
        assertEquals(lib, ModuleResolver.resolve(uri("pkcs11:?module-path=" + dir + "&module-name=vendor"),
                Optional.empty(), Map.of()));
        ModuleLoadException e = assertThrows(ModuleLoadException.class,
                () -> ModuleResolver.resolve(uri("pkcs11:?module-path=" + dir), Optional.empty(), Map.of()));
        assertTrue(e.getMessage().contains("no module-name"), e.getMessage());
        e = assertThrows(ModuleLoadException.class, () -> ModuleResolver.resolve(
                uri("pkcs11:?module-path=" + dir + "&module-name=absent"), Optional.empty(), Map.of()));
        assertTrue(e.getMessage().contains(dir.resolve("libabsent.so").toString()), "names what was tried: " + e.getMessage());
    }

    @Test
    void moduleNameWithSlash_isNotAPath() {
        ModuleLoadException e = assertThrows(ModuleLoadException.class,
                () -> ModuleResolver.resolve(uri("pkcs11:?module-name=..%2F..%2Fevil"), Optional.empty(), Map.of()));
        assertTrue(e.getMessage().contains("must not contain '/'"), e.getMessage());
    }

    @Test
    void environmentVariable_isUsedWhenTheUriNamesNoModule() throws Exception {
        Path lib = Files.createFile(dir.resolve("libenv.so"));
        assertEquals(lib, ModuleResolver.resolve(uri("pkcs11:token=x"), Optional.empty(),
                Map.of(ModuleResolver.ENV, lib.toString())));
        ModuleLoadException e = assertThrows(ModuleLoadException.class, () -> ModuleResolver.resolve(uri("pkcs11:"),
                Optional.empty(), Map.of(ModuleResolver.ENV, "/nope.so")));
        assertTrue(e.getMessage().contains(ModuleResolver.ENV), e.getMessage());
    }

    @Test
    void nothingGiven_fallsBackToSoftHsm() {
        assertEquals(SoftHsm.modulePath(), ModuleResolver.resolve(uri("pkcs11:"), Optional.empty(), Map.of()));
    }

    @Test
    void aFileThatIsNoModule_failsToLoad_withTheReason() throws Exception {
        Path bogus = Files.writeString(dir.resolve("libbogus.so"), "not an ELF file");
        ModuleLoadException e = assertThrows(ModuleLoadException.class, () -> SharedModule.acquire(bogus));
        assertTrue(e.getMessage().startsWith("cannot load PKCS#11 module '" + bogus.toRealPath() + "': "), e.getMessage());
    }
}
