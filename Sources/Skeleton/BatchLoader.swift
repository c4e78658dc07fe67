import Foundation

/// One batch: flattened `(B, 3, T, V, M)` float32 arrays (one per view), plus labels and the
/// dataset indices of its samples.
public struct SkeletonBatch: Sendable {
    /// Position of the batch within the epoch.
    public var index: Int
    /// Dataset indices of the samples, in batch order.
    public var indices: [Int]
    public var labels: [Int]
    /// Pretraining: [extreme, query, key]. Evaluation and single-view: one array.
    public var views: [[Float]]
    /// `[B, 3, T, V, M]`.
    public var shape: [Int]

    public var extreme: [Float] { views[0] }
    public var query: [Float] { views.count == 3 ? views[1] : views[0] }
    public var key: [Float] { views.count == 3 ? views[2] : views[0] }
    public var data: [Float] { views[0] }
}

/// Batches over an `(N, 3, T, V, M)` array and its labels.
///
/// The epoch order is a Philox-keyed shuffle of (seed, epoch) and each sample's views are
/// keyed by (seed, epoch, dataset index, view), so batch contents are identical whatever the
/// number of threads or the order they run in. A background thread keeps up to `prefetch`
/// batches ready; samples within a batch are built in parallel.
public final class BatchLoader: @unchecked Sendable {
    public enum Mode: Sendable {
        /// (extreme, query, key) views per sample, for contrastive pre-training.
        case pretrain(AugmentationDraws)
        /// One crop + shear view per sample (semi-supervised / fine-tune feeders).
        case augmented(AugmentationDraws)
        /// Samples as stored.
        case plain
    }

    public let data: NpyArray
    public let labels: [Int]
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let seed: UInt64
    public let mode: Mode
    public let stream: SkeletonStream
    public let layout: SkeletonLayout
    public let prefetch: Int
    /// Parallel sample workers per batch (1 = build on the producer thread only).
    public let workers: Int
    public let frames: Int, joints: Int, bodies: Int
    /// Data parallelism: this process builds only part `shard.index` of `shard.count` equal,
    /// contiguous parts of every global batch (rank r of N takes samples [r·B/N, (r+1)·B/N)).
    /// The epoch order and each sample's draws do not depend on it, so the union of the parts
    /// is the batch a single process builds.
    public private(set) var shard = (index: 0, count: 1)

    public enum LoaderError: Error, CustomStringConvertible {
        case badShape(source: String, shape: [Int])
        case labelCount(source: String, samples: Int, labels: Int)
        case batchSize(Int)
        case shard(batchSize: Int, parts: Int)
        case layout(source: String, layout: String, layoutJoints: Int, dataJoints: Int)
        public var description: String {
            switch self {
            case let .batchSize(b): return "batch size must be positive (got \(b))"
            case let .shard(b, n): return "the global batch size \(b) does not split into \(n) equal parts (one per rank); pick a batch size divisible by the number of ranks"
            case let .layout(s, l, lj, dj):
                return "\(s): the data has \(dj) joints per body but the layout \(l) has \(lj); pass --layout matching the data"
            case let .badShape(s, sh): return "\(s): expected an (N, 3, T, V, M) array, got shape \(sh)"
            case let .labelCount(s, n, l): return "\(s): \(n) samples but \(l) labels"
            }
        }
    }

    public init(data: NpyArray, labels: [Int], batchSize: Int, shuffle: Bool, dropLast: Bool, seed: UInt64 = 0,
                mode: Mode = .plain, stream: SkeletonStream = .joint, layout: SkeletonLayout = .ntuRGBD,
                prefetch: Int = 2, workers: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        guard data.shape.count == 5, data.shape[1] == 3 else { throw LoaderError.badShape(source: data.source, shape: data.shape) }
        guard labels.count == data.shape[0] else { throw LoaderError.labelCount(source: data.source, samples: data.shape[0], labels: labels.count) }
        guard batchSize > 0 else { throw LoaderError.batchSize(batchSize) }
        guard layout.jointCount == data.shape[3] else {
            throw LoaderError.layout(source: data.source, layout: layout.name, layoutJoints: layout.jointCount, dataJoints: data.shape[3])
        }
        self.data = data; self.labels = labels; self.batchSize = batchSize; self.shuffle = shuffle; self.dropLast = dropLast
        self.seed = seed; self.mode = mode; self.stream = stream; self.layout = layout
        self.prefetch = max(1, prefetch); self.workers = max(1, workers)
        frames = data.shape[2]; joints = data.shape[3]; bodies = data.shape[4]
    }

    /// Builds part `index` of `count` of every batch; the batch size must split evenly.
    public func setShard(index: Int, count: Int) throws {
        guard count >= 1, index >= 0, index < count, batchSize % count == 0 else {
            throw LoaderError.shard(batchSize: batchSize, parts: count)
        }
        shard = (index, count)
    }

    public var sampleCount: Int { data.shape[0] }
    /// Batches per epoch.
    public var batchCount: Int { dropLast ? sampleCount / batchSize : (sampleCount + batchSize - 1) / batchSize }

    /// The sample order of `epoch`: identity without shuffle, else a Fisher–Yates shuffle
    /// driven by the Philox stream of (seed, epoch).
    public func order(epoch: Int) -> [Int] {
        var idx = Array(0..<sampleCount)
        guard shuffle, idx.count > 1 else { return idx }
        var s = DrawStream(seed: seed, epoch: epoch, sample: 0, rawView: 0xFFFF)
        for i in stride(from: idx.count - 1, to: 0, by: -1) { idx.swapAt(i, s.int(0, i)) }
        return idx
    }

    /// Builds batch `b` of `epoch` synchronously (given the epoch's `order`).
    public func makeBatch(epoch: Int, batch b: Int, order: [Int]) -> SkeletonBatch {
        let start = b * batchSize, end = min(start + batchSize, order.count)
        let part = (end - start + shard.count - 1) / shard.count
        let lo = min(start + shard.index * part, end), hi = min(lo + part, end)
        let indices = Array(order[lo..<hi])
        let n = indices.count, per = 3 * frames * joints * bodies
        let viewCount: Int
        if case .pretrain = mode { viewCount = 3 } else { viewCount = 1 }
        let buffers = (0..<viewCount).map { _ in UnsafeMutableBufferPointer<Float>.allocate(capacity: n * per) }
        defer { buffers.forEach { $0.deallocate() } }
        // Workers write disjoint slices of these buffers.
        nonisolated(unsafe) let out = buffers.map { $0.baseAddress! }
        let work: @Sendable (Int) -> Void = { [self] i in
            let idx = indices[i]
            switch mode {
            case .plain:
                data.copyFloats(from: idx * per, count: per, into: out[0] + i * per)
            case let .augmented(draws):
                let v = draws.single(clip(idx), epoch: epoch, sample: idx)
                store(v, into: out[0] + i * per)
            case let .pretrain(draws):
                let v = draws.views(clip(idx), epoch: epoch, sample: idx)
                store(v.extreme, into: out[0] + i * per)
                store(v.query, into: out[1] + i * per)
                store(v.key, into: out[2] + i * per)
            }
        }
        if workers > 1 && n > 1 {
            let chunks = min(workers, n)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                var i = c
                while i < n { work(i); i += chunks }
            }
        } else {
            for i in 0..<n { work(i) }
        }
        let views = buffers.map { buf -> [Float] in
            [Float](unsafeUninitializedCapacity: n * per) { out, count in
                stream.apply(UnsafeBufferPointer(buf), into: out, samples: n, frames: frames, joints: joints, bodies: bodies,
                             boneParent: layout.boneParent)
                count = n * per
            }
        }
        return SkeletonBatch(index: b, indices: indices, labels: indices.map { labels[$0] }, views: views,
                             shape: [n, 3, frames, joints, bodies])
    }

    private func clip(_ idx: Int) -> SkeletonClip {
        let per = 3 * frames * joints * bodies
        let values = [Double](unsafeUninitializedCapacity: per) { buf, c in
            data.copyDoubles(from: idx * per, count: per, into: buf.baseAddress!); c = per
        }
        return SkeletonClip(frames: frames, joints: joints, bodies: bodies, values: values)
    }

    private func store(_ clip: SkeletonClip, into out: UnsafeMutablePointer<Float>) {
        clip.values.withUnsafeBufferPointer { v in for i in 0..<v.count { out[i] = Float(v[i]) } }
    }

    /// The batches of `epoch`, produced ahead by a background thread.
    public func batches(epoch: Int) -> BatchSequence { BatchSequence(loader: self, epoch: epoch) }
}

/// A single pass over one epoch's batches. Dropping the iterator early stops the producer.
public struct BatchSequence: Sequence {
    let loader: BatchLoader
    let epoch: Int
    public func makeIterator() -> Iterator { Iterator(Handle(PrefetchQueue(loader: loader, epoch: epoch))) }

    public struct Iterator: IteratorProtocol {
        let handle: Handle
        init(_ h: Handle) { handle = h }
        public mutating func next() -> SkeletonBatch? { handle.queue.next() }
    }

    /// Owned only by the consumer: when it goes away the producer thread is told to stop.
    final class Handle {
        let queue: PrefetchQueue
        init(_ q: PrefetchQueue) { queue = q }
        deinit { queue.cancel() }
    }
}

/// Bounded producer/consumer queue fed by one background thread.
final class PrefetchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready: [SkeletonBatch] = []
    private var produced = 0
    private var consumed = 0
    private var cancelled = false
    private let total: Int
    private let capacity: Int

    init(loader: BatchLoader, epoch: Int) {
        total = loader.batchCount
        capacity = loader.prefetch
        let thread = Thread { [self] in
            let order = loader.order(epoch: epoch)
            for b in 0..<total {
                condition.lock()
                while ready.count >= capacity && !cancelled { condition.wait() }
                let stop = cancelled
                condition.unlock()
                if stop { return }
                let batch = loader.makeBatch(epoch: epoch, batch: b, order: order)
                condition.lock()
                ready.append(batch); produced += 1
                condition.broadcast()
                condition.unlock()
            }
        }
        thread.name = "BatchLoader.prefetch"
        thread.start()
    }

    func cancel() {
        condition.lock(); cancelled = true; condition.broadcast(); condition.unlock()
    }

    func next() -> SkeletonBatch? {
        condition.lock()
        defer { condition.unlock() }
        guard consumed < total else { return nil }
        while ready.isEmpty { condition.wait() }
        let b = ready.removeFirst()
        consumed += 1
        condition.broadcast()
        return b
    }
}

/// A prepared part on disk: `{part}_position.npy` (memory-mapped) and `{part}_label.pkl`.
public struct SkeletonDataset: Sendable {
    public var positions: NpyArray
    public var labels: LabelFile

    /// Opens `directory/{part}_position.npy` and `directory/{part}_label.pkl`, checking they agree.
    public static func open(directory: String, part: DataPart) throws -> SkeletonDataset {
        let positions = try NpyArray.read("\(directory)/\(part.rawValue)_position.npy")
        let labels = try LabelFile.read("\(directory)/\(part.rawValue)_label.pkl")
        guard positions.shape.count == 5, positions.shape[1] == 3 else {
            throw BatchLoader.LoaderError.badShape(source: positions.source, shape: positions.shape)
        }
        guard positions.shape[0] == labels.labels.count else {
            throw BatchLoader.LoaderError.labelCount(source: positions.source, samples: positions.shape[0], labels: labels.labels.count)
        }
        return SkeletonDataset(positions: positions, labels: labels)
    }

    public var count: Int { positions.shape[0] }
    /// Number of classes (max label + 1).
    public var classCount: Int { (labels.labels.max() ?? -1) + 1 }
}
