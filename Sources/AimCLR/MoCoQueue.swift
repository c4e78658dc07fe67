import Compute

/// The MoCo queue of negative keys: a (D, K) tensor of unit columns and a write pointer
/// (spec §4.1, §4.3 step 5, §8.9).
public final class MoCoQueue {
    public let dimension: Int
    public let size: Int
    public let keys: Tensor
    public private(set) var pointer: Int

    public enum Error: Swift.Error, CustomStringConvertible {
        case sizeNotDivisible(queue: Int, batch: Int)
        public var description: String {
            switch self {
            case .sizeNotDivisible(let k, let b):
                return "queue size \(k) is not divisible by the batch size \(b) (the reference asserts K % B == 0; "
                    + "pick a batch size that divides \(k) or change --queue-size)"
            }
        }
    }

    /// Random unit columns: N(0, 1) entries, each column scaled to unit L2 norm, pointer 0.
    public init(device: Device, dimension: Int, size: Int, batch: Int, seed: UInt64) throws {
        guard size % batch == 0 else { throw Error.sizeNotDivisible(queue: size, batch: batch) }
        self.dimension = dimension
        self.size = size
        self.pointer = 0
        let key = RandomKey(seed: seed, stream: 0x5155_4555, step: 0) // "QUEU"
        var host = [Float](repeating: 0, count: dimension * size)
        host.withUnsafeMutableBufferPointer { h in
            for i in 0..<(dimension * size) { h[i] = key.gaussian(i) }
            for col in 0..<size {
                var norm: Double = 0
                for row in 0..<dimension { let v = Double(h[row * size + col]); norm += v * v }
                let inv = Float(1 / max(norm.squareRoot(), 1e-12))
                for row in 0..<dimension { h[row * size + col] *= inv }
            }
        }
        keys = try device.tensor(host, shape: [dimension, size])
    }

    /// Writes this step's keys (B, D) into columns [pointer, pointer + B) and advances the pointer mod K.
    public func enqueue(_ batchKeys: Tensor) {
        let b = batchKeys.dim(0)
        keys.device.enqueue(keys: batchKeys, queue: keys, pointer: pointer)
        pointer = (pointer + b) % size
    }

    /// Restores the pointer (resume from a checkpoint).
    public func restore(pointer: Int) {
        precondition(pointer >= 0 && pointer < size)
        self.pointer = pointer
    }
}
