import AuthCore
import CRTAuth
import Testing

@Suite("The one username rule")
struct UsernameRuleTests {
    @Test("1 to 64 bytes, no whitespace, no control characters")
    func rule() {
        for good in ["alice", "a", "alice@example.com", "ölaf", String(repeating: "a", count: 64), String(repeating: "é", count: 32)] {
            #expect(UsernameRule.isValid(good), "\(good)")
        }
        for bad in ["", String(repeating: "a", count: 65), String(repeating: "é", count: 33), "al ice", "alice\n", "a\u{0}b", "a\u{7F}", "a\u{1}", "\u{A0}x", "x\t"] {
            #expect(!UsernameRule.isValid(bad), "\(bad.debugDescription)")
        }
        #expect(UsernameRule.requirement.contains("64"))
    }
}
