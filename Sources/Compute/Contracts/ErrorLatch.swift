import Foundation

/// Keeps the first op-contract violation a device has seen until it is taken (see `OpContract`).
public final class ErrorLatch: @unchecked Sendable {
    private let lock = NSLock()
    private var first: DeviceError?

    public init() {}

    /// The call's cost when it keeps its contract; otherwise nil, with the violation kept (the
    /// caller then skips the op).
    public func check(_ contract: () throws -> OpCost) -> OpCost? {
        do {
            return try contract()
        } catch {
            let e = error as? DeviceError ?? .backend(op: "contract", detail: "\(error)")
            lock.lock()
            if first == nil { first = e }
            lock.unlock()
            return nil
        }
    }

    /// Keeps `error` unless an earlier one is waiting (a backend call that failed at run time).
    public func record(_ error: DeviceError) {
        lock.lock()
        if first == nil { first = error }
        lock.unlock()
    }

    /// The first violation since the last call, cleared.
    public func take() -> DeviceError? {
        lock.lock()
        defer { lock.unlock() }
        let e = first
        first = nil
        return e
    }
}
