import BenchmarkCases
import Foundation

// Our verify rate against the raw swift-crypto primitive, measured interleaved: batches of
// ours and raw alternate many times, so machine noise lands on both alike; the median batch
// time of each gives the ratio. Target: ours ≥ 90% of raw.


let cases = try makeCases()
print("| algorithm | ours µs/verify | raw µs/verify | ours/raw rate |")
print("|---|---:|---:|---:|")
for c in cases {
    let batch = 20
    _ = measure(batch, c.ours)
    _ = measure(batch, c.raw)
    var ours: [Double] = [], raw: [Double] = []
    for round in 0..<200 {
        // Alternate which goes first, so neither always follows the other.
        if round % 2 == 0 {
            ours.append(measure(batch, c.ours))
            raw.append(measure(batch, c.raw))
        } else {
            raw.append(measure(batch, c.raw))
            ours.append(measure(batch, c.ours))
        }
    }
    let o = median(ours) / Double(batch), r = median(raw) / Double(batch)
    print("| \(c.name) | \(String(format: "%.2f", o)) | \(String(format: "%.2f", r)) | \(String(format: "%.3f", r / o)) |")
}
