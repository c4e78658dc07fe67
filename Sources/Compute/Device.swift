/// What kind of hardware a device is.
public enum DeviceKind: String, Sendable {
    case cpu
    case openCLGPU = "opencl-gpu"
    case openCLCPU = "opencl-cpu"
    case openCLOther = "opencl-other"
}

/// Errors any backend may raise. Descriptions name the op, the sizes and the cause.
public enum DeviceError: Error, CustomStringConvertible, Equatable {
    case unavailable(String)
    case outOfMemory(op: String, bytes: Int, detail: String)
    case kernelBuild(file: String, log: String)
    case backend(op: String, detail: String)
    case shapeMismatch(op: String, detail: String)

    public var description: String {
        switch self {
        case .unavailable(let why): return "device unavailable: \(why)"
        case .outOfMemory(let op, let bytes, let detail):
            return "out of device memory in \(op) allocating \(bytes) bytes: \(detail)"
        case .kernelBuild(let file, let log): return "OpenCL kernel build failed for \(file):\n\(log)"
        case .backend(let op, let detail): return "\(op): \(detail)"
        case .shapeMismatch(let op, let detail): return "\(op): shape mismatch: \(detail)"
        }
    }
}

/// Geometry of an activation in the channel-major layout `(C, N, T, V)`.
public struct ActivationShape: Sendable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var batch: Int
    public var frames: Int
    public var joints: Int
    public init(channels: Int, batch: Int, frames: Int, joints: Int) {
        self.channels = channels; self.batch = batch; self.frames = frames; self.joints = joints
    }
    /// Elements per channel: N·T·V.
    public var plane: Int { batch * frames * joints }
    public var count: Int { channels * plane }
    public var dims: [Int] { [channels, batch, frames, joints] }
    public var description: String { "(C \(channels), N \(batch), T \(frames), V \(joints))" }
}

/// Time spent in one op, as measured by a backend's profiler.
public struct OpTiming: Sendable {
    public var op: String
    public var calls: Int
    public var seconds: Double
    public var flops: Double
    public var bytes: Double
    public init(op: String, calls: Int, seconds: Double, flops: Double, bytes: Double) {
        self.op = op; self.calls = calls; self.seconds = seconds; self.flops = flops; self.bytes = bytes
    }
}

/// A compute device: memory plus the op catalogue that ST-GCN and AimCLR need.
///
/// Conventions shared by every op:
/// - All tensors are float32, contiguous, row-major over their `shape`.
/// - "channel-major" activations are `(C, N, T, V)` (see `ActivationShape`).
/// - Ops write their outputs completely (no accumulation) unless a parameter says
///   `accumulate`, in which case they add into the existing contents.
/// - Ops are enqueued in order; `synchronize()` waits for all of them. `download`
///   synchronises implicitly.
/// - Weight tensors use PyTorch's memory order, so checkpoints move both ways unchanged.
public protocol Device: AnyObject {
    /// Human-readable name, e.g. "cpu (2 cores, OpenBLAS 0.3.21)".
    var name: String { get }
    var kind: DeviceKind { get }
    /// Memory of a device with its own (an OpenCL GPU's global memory); nil for the host.
    var memoryBytes: Int? { get }

    // MARK: Memory

    /// A tensor of the given shape; contents undefined.
    func makeTensor(_ shape: [Int]) throws -> Tensor
    func upload(_ values: UnsafeBufferPointer<Float>, to tensor: Tensor)
    func download(_ tensor: Tensor, into values: UnsafeMutableBufferPointer<Float>)
    /// tensor[i] = value for all i.
    func fill(_ tensor: Tensor, value: Float)
    /// dst[dstOffset ..< dstOffset+count] = src[srcOffset ..< srcOffset+count].
    func copy(_ src: Tensor, srcOffset: Int, to dst: Tensor, dstOffset: Int, count: Int)
    func synchronize()

    // MARK: Dense linear algebra

    /// Row-major SGEMM on sub-matrices starting at the given element offsets:
    /// C = alpha·op(A)·op(B) + beta·C, op(A) is m×k, op(B) is k×n, C is m×n.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: Tensor, aOffset: Int, lda: Int,
              b: Tensor, bOffset: Int, ldb: Int,
              beta: Float, c: Tensor, cOffset: Int, ldc: Int)

    /// `batch` independent GEMMs; matrix i of A starts at aOffset + i·strideA (likewise B, C).
    func gemmStridedBatched(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: Tensor, aOffset: Int, lda: Int, strideA: Int,
                            b: Tensor, bOffset: Int, ldb: Int, strideB: Int,
                            beta: Float, c: Tensor, cOffset: Int, ldc: Int, strideC: Int,
                            batch: Int)

    // MARK: Convolutions (channel-major activations)

    /// 1x1 convolution with temporal stride: y(Cout, N, Tout, V) = W(Cout, Cin)·x[:, :, ::stride, :] + b,
    /// Tout = (T - 1) / stride + 1. `x` is `input` geometry, `y` has Cout channels and Tout frames.
    func conv1x1Forward(x: Tensor, input: ActivationShape, stride: Int,
                        weight: Tensor, bias: Tensor, y: Tensor)
    /// Gradients of `conv1x1Forward`. dW and db are overwritten; dx is overwritten or, with
    /// `accumulate`, added to (frames skipped by the stride get no gradient).
    func conv1x1Backward(x: Tensor, input: ActivationShape, stride: Int, weight: Tensor,
                         dy: Tensor, dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor)

    /// ST-GCN graph convolution over K partitions (K = adjacency.dim(0)):
    ///   z(K·Cout, N, T, V) = W(K·Cout, Cin)·x + b   (channel index k·Cout + c, k-major)
    ///   y[c, n, t, j] = Σ_k Σ_i z[k·Cout + c, n, t, i] · A_k(i, j)·E_k(i, j)
    /// `z` (K·Cout·N·T·V elements) is caller-owned state that `graphConvBackward` reads again;
    /// what it holds is the backend's choice (a backend may apply the mixing first when the layer
    /// widens, since both steps are linear), so only `y` and the gradients are comparable.
    func graphConvForward(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                          adjacency: Tensor, importance: Tensor, z: Tensor, y: Tensor)
    /// Gradients of `graphConvForward`; dImportance = (∂L/∂Â) ⊙ A. `dz` is scratch of z's size.
    /// dx is overwritten or, with `accumulate`, added to.
    func graphConvBackward(x: Tensor, input: ActivationShape, weight: Tensor,
                           adjacency: Tensor, importance: Tensor, z: Tensor, dy: Tensor,
                           dz: Tensor, dx: Tensor?, accumulate: Bool,
                           dWeight: Tensor, dBias: Tensor, dImportance: Tensor)

    /// Temporal convolution, kernel (kt, 1), padding (kt-1)/2, stride s, with bias:
    /// y[co, n, to, v] = b[co] + Σ_ci Σ_k W[co, ci, k]·x[ci, n, to·s + k - pad, v] (zero outside).
    /// `columns`, when given, is caller-owned scratch of at least Cin·kt·N·Tout·V elements that
    /// keeps the im2col for the backward; nil streams it through the device's own scratch.
    func temporalConvForward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                             weight: Tensor, bias: Tensor, columns: Tensor?, y: Tensor)
    /// Gradients of `temporalConvForward`. With `columns` they must still hold the forward's
    /// im2col; with nil the backward rebuilds it from `x` block by block.
    func temporalConvBackward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                              weight: Tensor, columns: Tensor?, dy: Tensor,
                              dx: Tensor?, accumulate: Bool, dWeight: Tensor, dBias: Tensor)

    // MARK: Forward-only (inference) variants

    /// `graphConvForward` without the state a backward needs (the backend may work in cache-sized
    /// pieces and never materialise z), with an optional epilogue on y (channels = Cout).
    func graphConvInference(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                            adjacency: Tensor, importance: Tensor, epilogue: ChannelEpilogue?, y: Tensor)
    /// `temporalConvForward` with streamed columns and an optional epilogue on y (channels = Cout).
    func temporalConvInference(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                               weight: Tensor, bias: Tensor, epilogue: ChannelEpilogue?, y: Tensor)
    /// y = epilogue(x) over a channel-major (C, P) tensor; in place is allowed (y === x).
    func applyEpilogue(_ epilogue: ChannelEpilogue, x: Tensor, channels: Int, y: Tensor)
    /// An inference-mode batch norm as a per-channel affine map: scale = γ·(1/√(var + ε)),
    /// shift = β − mean·scale (the same float operations as `batchNormForward` in eval mode).
    func batchNormInferenceAffine(gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                  epsilon: Float, scale: Tensor, shift: Tensor)

    // MARK: Normalisation

    /// Batch norm over a channel-major `(C, P)` tensor (P = all other dims; BatchNorm1d and
    /// BatchNorm2d are the same op in this layout). Training: normalise with the biased batch
    /// variance, store mean and 1/sqrt(var+eps) in `savedMean`/`savedInvStd`, update running
    /// stats with the unbiased variance and `momentum`. Eval: use the running stats (and
    /// store them in saved* so the backward can run in eval mode too). With `relu`, y =
    /// max(BN(x), 0) in the same pass (the backward then takes dy already masked by
    /// `reluBackward` on that y).
    func batchNormForward(x: Tensor, channels: Int, training: Bool, momentum: Float, epsilon: Float,
                          gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                          savedMean: Tensor, savedInvStd: Tensor, relu: Bool, y: Tensor)
    /// Gradients of `batchNormForward` for the same mode.
    func batchNormBackward(x: Tensor, channels: Int, training: Bool, gamma: Tensor,
                           savedMean: Tensor, savedInvStd: Tensor, dy: Tensor,
                           dx: Tensor, dGamma: Tensor, dBeta: Tensor)

    // MARK: Elementwise

    /// y = max(x, 0). In place is allowed (y === x).
    func reluForward(x: Tensor, y: Tensor)
    /// dx = dy where y > 0, else 0. In place is allowed (dx === dy).
    func reluBackward(y: Tensor, dy: Tensor, dx: Tensor)
    /// Inverted dropout: element i is kept iff key.uniform(i) >= p; kept values are scaled
    /// by 1/(1-p). p == 0 copies. In place is allowed. With a `slice` (a data-parallel rank's
    /// part of the batch), element i is kept iff key.uniform(slice.globalIndex(i)) >= p: the
    /// whole batch's mask restricted to the part, whatever the split.
    func dropoutForward(x: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?, y: Tensor)
    /// Same mask as the forward with the same key and slice.
    func dropoutBackward(dy: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?, dx: Tensor)
    /// y = a + b (y may alias a or b).
    func add(_ a: Tensor, _ b: Tensor, y: Tensor)
    /// y = max(a + b, 0): a residual sum and its ReLU in one pass (y may alias a or b).
    func addReLU(_ a: Tensor, _ b: Tensor, y: Tensor)
    /// y = max(dropout(x) + residual, 0), or max(dropout(x), 0) without a residual: the end of a
    /// training block in one pass, with `dropoutForward`'s mask for the same key and slice. y may
    /// alias x, not the residual.
    func dropoutResidualReLU(x: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?, residual: Tensor?, y: Tensor)
    /// Its backward: masked = dy where y > 0, else 0 (the residual's gradient), then
    /// dx = dropoutBackward(masked). masked may alias dy; dx must not alias masked.
    func reluDropoutBackward(y: Tensor, dy: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?,
                             masked: Tensor, dx: Tensor)
    /// y = a ⊙ b elementwise (y may alias a or b).
    func multiply(_ a: Tensor, _ b: Tensor, y: Tensor)
    /// y = alpha·x + beta·y over `count` elements (beta == 0 ignores y's old contents).
    func axpby(alpha: Float, x: Tensor, beta: Float, y: Tensor)
    /// Reorders dims: y = x.permuted(perm), x has shape `shape` (at most 6 dims).
    /// y's shape is shape[perm[0]], shape[perm[1]], ...
    func permute(x: Tensor, shape: [Int], perm: [Int], y: Tensor)

    // MARK: Pooling and heads

    /// x (C, N·M, T·V) channel-major → y (N, C): mean over T·V, then mean over the M persons
    /// of each sample (person m of sample n is row n·M + m).
    func poolForward(x: Tensor, channels: Int, samples: Int, persons: Int, plane: Int, y: Tensor)
    /// dx[c, n·M+m, p] = dy[n, c] / (M·plane).
    func poolBackward(dy: Tensor, channels: Int, samples: Int, persons: Int, plane: Int, dx: Tensor)

    /// y(B, out) = x(B, in)·Wᵀ + b with W (out, in) as in PyTorch.
    func linearForward(x: Tensor, weight: Tensor, bias: Tensor, y: Tensor)
    /// dW, db overwritten; dx overwritten when given.
    func linearBackward(x: Tensor, weight: Tensor, dy: Tensor, dx: Tensor?, dWeight: Tensor, dBias: Tensor)

    /// Rows of x (B, D) scaled to unit L2 norm: y = x / max(‖x‖, eps) (PyTorch F.normalize).
    func l2NormalizeForward(x: Tensor, epsilon: Float, y: Tensor)
    func l2NormalizeBackward(x: Tensor, epsilon: Float, dy: Tensor, dx: Tensor)

    // MARK: Losses (results stay on the device)

    /// loss[0] = mean_b −log softmax(logits_b)[label_b]; dLogits = (softmax − onehot)/B·scale.
    /// `labels` holds class indices as floats. dLogits may be nil (forward only).
    func softmaxCrossEntropy(logits: Tensor, labels: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?)
    /// Soft-target cross-entropy: target p = softmax(targetLogits) (no gradient),
    /// loss[0] = −mean_b Σ_j p_bj · log softmax(logits_b)_j; dLogits = (softmax(logits) − p)/B·scale.
    func softTargetCrossEntropy(logits: Tensor, targetLogits: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?)
    /// Multi-positive cross-entropy (NNM): loss[0] = mean_b −(1/|P_b|) Σ_{j∈P_b} log softmax(logits_b)_j,
    /// with positives given as a 0/1 mask (B, K). dLogits = (softmax − mask/|P_b|)/B·scale.
    func maskedCrossEntropy(logits: Tensor, positives: Tensor, scale: Float, loss: Tensor, dLogits: Tensor?)

    /// MoCo logits: l(B, 1+K) = [q·k, q·queue] / tau, q and k (B, D), queue (D, K).
    func contrastiveLogits(q: Tensor, k: Tensor, queue: Tensor, temperature: Float, logits: Tensor)
    /// dq = (dl[:,0]·k + dl[:,1:]·queueᵀ) / tau  (k and queue get no gradient).
    func contrastiveLogitsBackward(k: Tensor, queue: Tensor, temperature: Float, dLogits: Tensor, dq: Tensor)
    /// NNM positives: mask(B, 1+K) = 1 at column 0 and at 1 + the top-`topK` columns of each row
    /// of each similarity matrix in `similarities` (each (B, 1+K), column 0 ignored); 0 elsewhere.
    func nearestNeighbourMask(similarities: [Tensor], topK: Int, mask: Tensor)
    /// queue[:, ptr ..< ptr+B] = keysᵀ, keys (B, D), queue (D, K).
    func enqueue(keys: Tensor, queue: Tensor, pointer: Int)

    // MARK: EADM

    /// Energy-based attention drop over F (C, N, T, V) channel-major (spec §2.6):
    /// writes the kept-element scale (mask · batch-global rescales) into `scale` (same size as F)
    /// and y = F · scale. With `noOp` the scale is all ones.
    /// `rescales`, when given (2 elements), receives the two batch-global factors applied,
    /// [N·V / kept joints, numel / kept elements] (0 when none kept; with `noOp` [1, 1]), from
    /// which a data-parallel caller recovers the counts of its part of the batch.
    func eadmForward(x: Tensor, shape: ActivationShape, threshold: Float, lambda: Float,
                     noOp: Bool, scale: Tensor, y: Tensor, rescales: Tensor?)

    // MARK: Optimisation

    /// PyTorch SGD: d = g + wd·w; buf = momentum·buf + d (buf = d when `firstStep`); w -= lr·buf,
    /// or with `nesterov` w -= lr·(d + momentum·buf).
    func sgdStep(weight: Tensor, grad: Tensor, momentumBuffer: Tensor, learningRate: Float,
                 momentum: Float, weightDecay: Float, firstStep: Bool, nesterov: Bool)
    /// Momentum-encoder update: k = m·k + (1 − m)·q.
    func momentumUpdate(key: Tensor, query: Tensor, momentum: Float)
    /// out[0] = Σ x_i² (for gradient clipping and diagnostics).
    func sumOfSquares(_ x: Tensor, out: Tensor)

    // MARK: Errors

    /// The first op-contract violation since the last call, cleared (nil when there was none).
    /// The violating op was skipped and wrote nothing; see `OpContract`.
    func takeError() -> DeviceError?

    // MARK: Profiling

    /// Per-op accumulated timings since the last reset (empty when profiling is off).
    var profilingEnabled: Bool { get set }
    func profile() -> [OpTiming]
    func resetProfile()
}

extension Device {
    /// A tensor initialised from host values.
    public func tensor(_ values: [Float], shape: [Int]) throws -> Tensor {
        precondition(values.count == shape.reduce(1, *), "values \(values.count) vs shape \(shape)")
        let t = try makeTensor(shape)
        values.withUnsafeBufferPointer { upload($0, to: t) }
        return t
    }

    /// A tensor filled with a constant.
    public func tensor(filledWith value: Float, shape: [Int]) throws -> Tensor {
        let t = try makeTensor(shape)
        fill(t, value: value)
        return t
    }

    /// Downloads a tensor into a new array.
    public func read(_ tensor: Tensor) -> [Float] {
        var out = [Float](repeating: 0, count: tensor.count)
        out.withUnsafeMutableBufferPointer { download(tensor, into: $0) }
        return out
    }

    /// Reads a one-element tensor.
    public func scalar(_ tensor: Tensor) -> Float { read(tensor)[0] }

    /// `dropoutResidualReLU` as its three ops (the backends without a fused kernel).
    public func composedDropoutResidualReLU(x: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?,
                                            residual: Tensor?, y: Tensor) {
        dropoutForward(x: x, p: p, key: key, slice: slice, y: y)
        if let residual { addReLU(y, residual, y: y) } else { reluForward(x: y, y: y) }
    }

    /// `reluDropoutBackward` as its two ops.
    public func composedReLUDropoutBackward(y: Tensor, dy: Tensor, p: Float, key: RandomKey, slice: DropoutSampleSlice?,
                                            masked: Tensor, dx: Tensor) {
        reluBackward(y: y, dy: dy, dx: masked)
        dropoutBackward(dy: masked, p: p, key: key, slice: slice, dx: dx)
    }

    /// Dropout over the whole batch (no sample slice).
    public func dropoutForward(x: Tensor, p: Float, key: RandomKey, y: Tensor) {
        dropoutForward(x: x, p: p, key: key, slice: nil, y: y)
    }

    public func dropoutBackward(dy: Tensor, p: Float, key: RandomKey, dx: Tensor) {
        dropoutBackward(dy: dy, p: p, key: key, slice: nil, dx: dx)
    }

    /// `eadmForward` without reading back its rescale factors.
    public func eadmForward(x: Tensor, shape: ActivationShape, threshold: Float, lambda: Float,
                            noOp: Bool, scale: Tensor, y: Tensor) {
        eadmForward(x: x, shape: shape, threshold: threshold, lambda: lambda, noOp: noOp, scale: scale, y: y, rescales: nil)
    }

    /// Plain (heavy-ball) SGD, the reference optimiser of pre-training and evaluation.
    public func sgdStep(weight: Tensor, grad: Tensor, momentumBuffer: Tensor, learningRate: Float,
                        momentum: Float, weightDecay: Float, firstStep: Bool) {
        sgdStep(weight: weight, grad: grad, momentumBuffer: momentumBuffer, learningRate: learningRate,
                momentum: momentum, weightDecay: weightDecay, firstStep: firstStep, nesterov: false)
    }

    /// Throws the first op-contract violation since the last check (see `OpContract`).
    public func checkErrors() throws {
        if let e = takeError() { throw e }
    }
}
