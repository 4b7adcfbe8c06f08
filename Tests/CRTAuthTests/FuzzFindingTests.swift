import CRTAuth
import SSHKeys
import Testing

/// Inputs the fuzz targets (`./scripts/fuzz`, docs/fuzzing.md) found, kept as named cases.
@Suite("fuzz findings")
struct FuzzFindingTests {
    @Test("crtauth-request: a v1/v2 request whose username is empty is no request; classify reads the text as a v0 username",
          arguments: ["AXGgylYWcpY", "AnGgYWxpY4U", "AnGg4YlxAWU"])
    func emptyUsername(text: String) {
        #expect(throws: CRTAuthError.self) { try CRTAuthRequest(decoding: text) }
        #expect(CRTAuthRequest.classify(text) == CRTAuthRequest(username: text, version: .v0))
    }

    @Test("base64url: padding is optional but, when present, exactly RFC 4648's; stray bits are refused")
    func base64urlPadding() {
        // Found by the base64url target: the padded form decodes like the unpadded one (by
        // design: crtauth writes none and reads both).
        #expect(Base64URL.decode("dgAAAKe5Adg=") == Base64URL.decode("dgAAAKe5Adg") && Base64URL.decode("dgAAAKe5Adg") != nil)
        for text in ["dgAAAKe5Adg==", "dgAAAKe5Adh", "dgAAAKe5Adg=A", "d=gA"] { #expect(Base64URL.decode(text) == nil, "\(text)") }
    }
}
