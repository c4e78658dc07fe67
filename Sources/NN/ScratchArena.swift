import Compute

/// Named scratch slots whose storage is shared by tensors that are never live at the same time.
///
/// Planning runs in two passes: `reserve` records the largest request per slot, `allocate`
/// creates one device buffer per slot, then `view` hands out tensors of any shape that fits,
/// all aliasing the slot's buffer. This is how the layers keep one allocation per geometry
/// while the short-lived intermediates of ten blocks (or their gradients) share memory.
final class ScratchArena {
    private let device: Device
    private var sizes: [String: Int] = [:]
    private var buffers: [String: Tensor] = [:]

    init(device: Device) { self.device = device }

    /// Notes that `slot` must hold `count` elements.
    func reserve(_ slot: String, _ count: Int) {
        sizes[slot] = max(sizes[slot] ?? 0, count)
    }

    /// Allocates every reserved slot.
    func allocate() throws {
        for (slot, n) in sizes where buffers[slot] == nil {
            buffers[slot] = try device.makeTensor([max(n, 1)])
        }
    }

    /// A tensor of `shape` over the storage of `slot` (reserved and allocated before).
    func view(_ slot: String, _ shape: [Int]) -> Tensor {
        guard let base = buffers[slot] else { preconditionFailure("scratch slot '\(slot)' was never reserved") }
        precondition(shape.reduce(1, *) <= base.buffer.count, "scratch slot '\(slot)' too small for \(shape)")
        return Tensor(device: device, shape: shape, buffer: base.buffer)
    }

    /// Elements held by all slots (for memory reports).
    var elementCount: Int { sizes.values.reduce(0, +) }
}
