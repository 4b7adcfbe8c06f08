import BenchmarkCases
import Foundation

// Our verify rate against the raw swift-crypto primitive, measured interleaved: batches of
// ours and raw alternate many times, so machine noise lands on both alike; the median batch
// time of each gives the ratio. Target: ours ≥ 90% of raw.

@inline(never)
func time(_ batch: Int, _ body: () -> Bool) -> Double {
    var ok = true
    let start = ContinuousClock.now
    for _ in 0..<batch { ok = body() && ok }
    let elapsed = ContinuousClock.now - start
    precondition(ok, "a benchmark signature did not verify")  // our own fixed inputs
    return Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let cases = try makeCases()
print("| algorithm | ours µs/verify | raw µs/verify | ours/raw rate |")
print("|---|---:|---:|---:|")
for c in cases {
    let batch = 20
    _ = time(batch, c.ours)
    _ = time(batch, c.raw)
    var ours: [Double] = [], raw: [Double] = []
    for round in 0..<200 {
        // Alternate which goes first, so neither always follows the other.
        if round % 2 == 0 {
            ours.append(time(batch, c.ours))
            raw.append(time(batch, c.raw))
        } else {
            raw.append(time(batch, c.raw))
            ours.append(time(batch, c.ours))
        }
    }
    let o = median(ours) / Double(batch), r = median(raw) / Double(batch)
    print("| \(c.name) | \(String(format: "%.2f", o)) | \(String(format: "%.2f", r)) | \(String(format: "%.3f", r / o)) |")
}
