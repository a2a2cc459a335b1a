package io.hsmtls.tls.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hsmtls.token.SignatureScheme;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProbeReportTest {
    @Test
    void json_escapesAndCarriesEveryStep() {
        HandshakeRecorder rec = new HandshakeRecorder();
        rec.step("ClientHello", ProbeStep.Status.INFO, ProbeStep.d("versions", List.of("TLSv1.3")));
        rec.tokenOperation("pkcs11:token=t;object=k", SignatureScheme.ECDSA_SECP256R1_SHA256, 2_500_000, null);
        rec.negotiated("TLSv1.3", "TLS_AES_128_GCM_SHA256");
        ProbeReport r = ProbeReport.of("h:1", "h", rec, ProbeReport.Outcome.VALIDATION_FAILED,
                "bad \"name\"\n", "HOST_MISMATCH");
        String json = r.toJson();
        assertTrue(json.contains("\"error\":\"bad \\\"name\\\"\\n\""), json);
        assertTrue(json.contains("\"failureKind\":\"HOST_MISMATCH\""), json);
        assertTrue(json.contains("\"versions\":[\"TLSv1.3\"]"), json);
        assertTrue(json.contains("\"mechanism\":\"CKM_ECDSA\""), json);
        assertTrue(json.contains("\"tokenOperations\":1"), json);
        assertEquals(1, r.exitCode());
        assertTrue(r.toText().contains("Result: VALIDATION_FAILED HOST_MISMATCH"), r.toText());
    }
}
