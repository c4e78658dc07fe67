import Compute

/// What `loadStateDict` did.
public struct StateDictLoadReport: Sendable, Equatable {
    /// Names (without prefix) that were loaded.
    public var loaded: [String] = []
    /// Names the module has but the state dict lacks (left unchanged).
    public var missing: [String] = []
    /// Names under the prefix that the module does not have (ignored).
    public var unexpected: [String] = []
}

extension Module {
    /// The module's state as host tensors, keyed `prefix + name`, in PyTorch `state_dict()` order
    /// per kind (parameters, then float buffers, then counters as I64 scalars).
    public func stateDict(prefix: String = "", includeParameter: (String) -> Bool = { _ in true }) -> [(name: String, tensor: HostTensor)] {
        var out: [(name: String, tensor: HostTensor)] = []
        for p in parameters where includeParameter(p.name) {
            out.append((prefix + p.name, HostTensor(shape: p.shape, floats: p.device.read(p.value))))
        }
        for b in buffers where includeParameter(b.name) {
            out.append((prefix + b.name, HostTensor(shape: b.value.shape, floats: b.value.device.read(b.value))))
        }
        for c in counters where includeParameter(c.name) {
            out.append((prefix + c.name, HostTensor(shape: [], int64s: [c.value])))
        }
        return out
    }

    /// Loads tensors named `prefix + name`. Shapes must match exactly (element counts alone are
    /// not enough: a (3·C, C, 1, 1) conv weight is not a (3·C, C) matrix in a checkpoint's eyes).
    /// `include` selects which module names to load (e.g. everything but `fc.*`).
    /// With `strict`, a missing name is an error; otherwise it is reported and left unchanged.
    @discardableResult
    public func loadStateDict(_ tensors: [String: HostTensor], prefix: String = "", strict: Bool = true,
                              include: (String) -> Bool = { _ in true }) throws -> StateDictLoadReport {
        var report = StateDictLoadReport()
        var known = Set<String>()
        func fetch(_ name: String, shape: [Int]) throws -> HostTensor? {
            known.insert(prefix + name)
            guard let t = tensors[prefix + name] else {
                if strict { throw NNError.stateDict("missing '\(prefix + name)'") }
                report.missing.append(name)
                return nil
            }
            // PyTorch stores scalars with shape []; accept [1] too.
            let same = t.shape == shape || (shape.reduce(1, *) == 1 && t.count == 1 && shape.count <= 1 && t.shape.count <= 1)
            guard same else {
                throw NNError.stateDict("'\(prefix + name)' has shape \(t.shape), expected \(shape)")
            }
            report.loaded.append(name)
            return t
        }
        for p in parameters where include(p.name) {
            if let t = try fetch(p.name, shape: p.shape) {
                t.floats.withUnsafeBufferPointer { p.device.upload($0, to: p.value) }
            }
        }
        for b in buffers where include(b.name) {
            if let t = try fetch(b.name, shape: b.value.shape) {
                t.floats.withUnsafeBufferPointer { b.value.device.upload($0, to: b.value) }
            }
        }
        for c in counters where include(c.name) {
            if let t = try fetch(c.name, shape: []) { c.value = t.int64s[0] }
        }
        report.unexpected = tensors.keys.filter { $0.hasPrefix(prefix) && !known.contains($0) }
            .map { String($0.dropFirst(prefix.count)) }.sorted()
        return report
    }
}

extension STGCN {
    /// The encoder's full state dict as the reference model writes it, including the constant
    /// adjacency buffer `A`, so a PyTorch `load_state_dict(strict=True)` accepts it.
    public func exportState(prefix: String = "", includeHead: Bool = true) -> [(name: String, tensor: HostTensor)] {
        var out = stateDict(prefix: prefix) { includeHead || !$0.hasPrefix("fc.") && $0 != "fc" }
        out.append((prefix + "A", HostTensor(shape: adjacency.shape, floats: device.read(adjacency))))
        return out
    }

    /// Loads the encoder from a state dict (e.g. `prefix: "encoder_q."` from a pre-training
    /// checkpoint). `includeHead: false` skips `fc.*` (linear evaluation loads the backbone only).
    /// The adjacency buffer `A` is not loaded (it is fixed by the graph) and counts as expected.
    @discardableResult
    public func importState(_ tensors: [String: HostTensor], prefix: String = "", includeHead: Bool = true,
                            strict: Bool = true) throws -> StateDictLoadReport {
        var report = try loadStateDict(tensors, prefix: prefix, strict: strict) {
            includeHead || !$0.hasPrefix("fc.")
        }
        report.unexpected.removeAll { $0 == "A" || (!includeHead && $0.hasPrefix("fc.")) }
        return report
    }
}
