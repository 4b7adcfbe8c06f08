// Batch timers shared by the interleaved benchmarks (VerifyRatio, CRTAuthRatio).

/// Microseconds to run `body` `batch` times; every call must succeed (fixed inputs of our own).
@inline(never)
public func measure(_ batch: Int, _ body: () -> Bool) -> Double {
    var ok = true
    let start = ContinuousClock.now
    for _ in 0..<batch { ok = body() && ok }
    let elapsed = ContinuousClock.now - start
    precondition(ok, "a benchmark operation failed")  // fixed inputs of our own
    return microseconds(elapsed)
}

/// ``measure(_:_:)`` for async bodies.
@inline(never)
public func measureAsync(_ batch: Int, _ body: () async -> Bool) async -> Double {
    var ok = true
    let start = ContinuousClock.now
    for _ in 0..<batch { ok = await body() && ok }
    let elapsed = ContinuousClock.now - start
    precondition(ok, "a benchmark operation failed")  // fixed inputs of our own
    return microseconds(elapsed)
}

public func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.attoseconds) / 1e12 + Double(duration.components.seconds) * 1e6
}
