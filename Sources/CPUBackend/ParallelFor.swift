import Dispatch

/// Wraps a value that is shared across worker threads on purpose; the loops that use it
/// give each worker a disjoint part of the output, so no element is written twice.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
}

/// Splits `0 ..< count` into at most `threads` contiguous chunks and runs them on the
/// dispatch worker pool (persistent threads, no per-call thread creation).
///
/// Loops below `minimumPerChunk` items per chunk run inline: waking workers costs a few
/// microseconds, more than a small loop takes. A body that calls OpenBLAS must run inside
/// `CPUDevice.withSingleThreadedBLAS`, so OpenBLAS's threads and ours never nest.
@inline(__always)
func parallelFor(_ count: Int, threads: Int, minimumPerChunk: Int = 1,
                 _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    runChunks(count, chunks: min(threads, max(1, count / max(minimumPerChunk, 1)))) { _, range in body(range) }
}

/// `parallelFor` over at most `threads` chunks that also passes each chunk's index
/// (0 ..< threads), so a worker can own a slice of a scratch buffer. Always splits when
/// `count` > 1: callers use it for coarse work items (whole samples). Workers that call
/// OpenBLAS do so inside `CPUDevice.withSingleThreadedBLAS`, so the cores are not oversubscribed.
@inline(__always)
func parallelChunks(_ count: Int, threads: Int, _ body: (_ chunk: Int, _ items: Range<Int>) -> Void) {
    guard count > 0 else { return }
    runChunks(count, chunks: min(threads, count), body)
}

/// Runs `body` on `chunks` contiguous, near-equal parts of `0 ..< count` (inline when one).
@inline(__always)
private func runChunks(_ count: Int, chunks: Int, _ body: (_ chunk: Int, _ items: Range<Int>) -> Void) {
    if chunks <= 1 {
        body(0, 0 ..< count)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(value: escapable)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            box.value(chunk, count * chunk / chunks ..< count * (chunk + 1) / chunks)
        }
    }
}
