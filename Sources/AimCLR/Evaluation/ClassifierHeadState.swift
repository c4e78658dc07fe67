import NN

/// The classifier head's tensors (`fc.weight`, `fc.bias`) on their own: to start two probes
/// from the same initial fc, or to replace a trained fc by an equivalent one.
extension STGCN {
    public func classifierState() -> [(name: String, tensor: HostTensor)] {
        exportState().filter { $0.name.hasPrefix("fc.") }
    }

    public func loadClassifierState(_ state: [(name: String, tensor: HostTensor)]) throws {
        _ = try loadStateDict(Dictionary(uniqueKeysWithValues: state.map { ($0.name, $0.tensor) }), strict: false) { $0.hasPrefix("fc.") }
    }
}
