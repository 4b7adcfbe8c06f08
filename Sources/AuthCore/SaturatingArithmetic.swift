/// Time arithmetic on Unix seconds that cannot trap, for every scheme's freshness checks: an
/// injected clock or a client's timestamp may say anything.
extension UInt64 {
    /// `self − other`, or 0 instead of trapping.
    package func subtractingSaturated(_ other: UInt64) -> UInt64 { self >= other ? self - other : 0 }
    /// `self + other`, or `.max` instead of trapping.
    package func addingSaturated(_ other: UInt64) -> UInt64 { let (sum, overflow) = self.addingReportingOverflow(other); return overflow ? .max : sum }
}
