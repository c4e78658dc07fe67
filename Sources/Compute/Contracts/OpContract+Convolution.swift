extension OpContract {
    static func requireShape(_ op: String, _ s: ActivationShape) throws {
        try require([s.channels, s.batch, s.frames, s.joints].allSatisfy { $0 >= 0 }, op, "negative size in \(s)")
    }

    /// Output frames of a stride-s convolution that keeps T at stride 1 (odd kernel, same padding).
    public static func outputFrames(_ frames: Int, stride: Int) -> Int { frames == 0 ? 0 : (frames - 1) / stride + 1 }

    public static func conv1x1Forward(x: Tensor, input: ActivationShape, stride: Int, weight: Tensor, bias: Tensor,
                                      y: Tensor) throws -> OpCost {
        let op = "conv1x1Forward"
        let (cout, cols) = try conv1x1Geometry(op, x: x, input: input, stride: stride, weight: weight)
        try require(bias.count >= cout && y.count >= cout * cols, op,
                    "bias \(bias.shape), y \(y.shape) for Cout \(cout) × \(cols) positions")
        let cin = input.channels
        return OpCost(flops: 2 * Double(cout * cin) * Double(cols), bytes: floats(cin * cols + cout * cin + cout * cols))
    }

    public static func conv1x1Backward(x: Tensor, input: ActivationShape, stride: Int, weight: Tensor, dy: Tensor,
                                       dx: Tensor?, dWeight: Tensor, dBias: Tensor) throws -> OpCost {
        let op = "conv1x1Backward"
        let (cout, cols) = try conv1x1Geometry(op, x: x, input: input, stride: stride, weight: weight)
        let cin = input.channels
        try require(dy.count >= cout * cols && dWeight.count >= cout * cin && dBias.count >= cout
                        && (dx == nil || dx!.count >= input.count), op,
                    "dy \(dy.shape), dWeight \(dWeight.shape), dBias \(dBias.shape), dx \(dx.map { "\($0.shape)" } ?? "none") "
                        + "for \(input) → Cout \(cout)")
        let passes = dx == nil ? 1 : 2
        return OpCost(flops: 2 * Double(cout * cin) * Double(cols) * Double(passes),
                      bytes: floats(cin * cols * passes + 2 * cout * cin + cout * cols))
    }

    /// (Cout, output positions) of a 1×1 convolution.
    static func conv1x1Geometry(_ op: String, x: Tensor, input: ActivationShape, stride: Int, weight: Tensor) throws
        -> (cout: Int, cols: Int) {
        try requireShape(op, input)
        try require(stride >= 1, op, "stride \(stride)")
        let cout = weight.shape.isEmpty ? 0 : weight.dim(0)
        try require(weight.count == cout * input.channels && x.count >= input.count, op,
                    "x \(x.shape) as \(input), weight \(weight.shape)")
        return (cout, input.batch * outputFrames(input.frames, stride: stride) * input.joints)
    }

    /// (Cout, output positions) of a temporal convolution.
    public static func temporalGeometry(_ op: String, x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                        weight: Tensor) throws -> (cout: Int, cols: Int) {
        try requireShape(op, input)
        try require(kernel >= 1 && kernel % 2 == 1 && stride >= 1, op, "kernel \(kernel) (must be odd), stride \(stride)")
        let cout = weight.shape.isEmpty ? 0 : weight.dim(0)
        try require(weight.count == cout * input.channels * kernel && x.count >= input.count, op,
                    "x \(x.shape) as \(input), weight \(weight.shape), kernel \(kernel)")
        return (cout, input.batch * outputFrames(input.frames, stride: stride) * input.joints)
    }

    static func temporalFlops(input: ActivationShape, kernel: Int, cout: Int, cols: Int) -> Double {
        2 * Double(cout * input.channels * kernel) * Double(cols)
    }

    public static func temporalConvForward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int, weight: Tensor,
                                           bias: Tensor, columns: Tensor?, y: Tensor) throws -> OpCost {
        let op = "temporalConvForward"
        let (cout, cols) = try temporalGeometry(op, x: x, input: input, kernel: kernel, stride: stride, weight: weight)
        let rowsK = input.channels * kernel
        try require(bias.count >= cout && y.count >= cout * cols && (columns == nil || columns!.count >= rowsK * cols), op,
                    "bias \(bias.shape), y \(y.shape), columns \(columns.map { "\($0.shape)" } ?? "none") "
                        + "for Cout \(cout) × \(cols) positions, kernel \(kernel)")
        return OpCost(flops: temporalFlops(input: input, kernel: kernel, cout: cout, cols: cols),
                      bytes: floats(input.count + cout * rowsK + cout * cols))
    }

    public static func temporalConvBackward(x: Tensor, input: ActivationShape, kernel: Int, stride: Int, weight: Tensor,
                                            columns: Tensor?, dy: Tensor, dx: Tensor?, dWeight: Tensor,
                                            dBias: Tensor) throws -> OpCost {
        let op = "temporalConvBackward"
        let (cout, cols) = try temporalGeometry(op, x: x, input: input, kernel: kernel, stride: stride, weight: weight)
        let rowsK = input.channels * kernel
        try require(dy.count >= cout * cols && dWeight.count >= cout * rowsK && dBias.count >= cout
                        && (dx == nil || dx!.count >= input.count) && (columns == nil || columns!.count >= rowsK * cols), op,
                    "dy \(dy.shape), dWeight \(dWeight.shape), dBias \(dBias.shape), dx \(dx.map { "\($0.shape)" } ?? "none"), "
                        + "columns \(columns.map { "\($0.shape)" } ?? "none") for \(input), kernel \(kernel)")
        let passes = dx == nil ? 1 : 2
        return OpCost(flops: temporalFlops(input: input, kernel: kernel, cout: cout, cols: cols) * Double(passes),
                      bytes: floats(input.count * passes + 2 * cout * rowsK + cout * cols))
    }

    public static func temporalConvInference(x: Tensor, input: ActivationShape, kernel: Int, stride: Int,
                                             weight: Tensor, bias: Tensor, epilogue: ChannelEpilogue?,
                                             y: Tensor) throws -> OpCost {
        let op = "temporalConvInference"
        let (cout, cols) = try temporalGeometry(op, x: x, input: input, kernel: kernel, stride: stride, weight: weight)
        try require(bias.count >= cout && y.count >= cout * cols, op,
                    "bias \(bias.shape), y \(y.shape) for Cout \(cout) × \(cols) positions")
        try epilogueFits(op, epilogue, channels: cout, count: cout * cols)
        let residual = epilogue?.residual == nil ? 0 : cout * cols
        return OpCost(flops: temporalFlops(input: input, kernel: kernel, cout: cout, cols: cols),
                      bytes: floats(input.count + cout * input.channels * kernel + cout * cols + residual))
    }

    /// (K, Cout, positions) of a graph convolution: weight (K·Cout, Cin), adjacency and importance (K, V, V).
    public static func graphGeometry(_ op: String, x: Tensor, input: ActivationShape, weight: Tensor,
                                     adjacency: Tensor, importance: Tensor) throws -> (k: Int, cout: Int, cols: Int) {
        try requireShape(op, input)
        let k = adjacency.shape.isEmpty ? 0 : adjacency.dim(0), v = input.joints
        let kc = weight.shape.isEmpty ? 0 : weight.dim(0)
        try require(k > 0 && kc % k == 0 && weight.count == kc * input.channels && adjacency.count == k * v * v
                        && importance.count == adjacency.count && x.count >= input.count, op,
                    "x \(x.shape) as \(input), weight \(weight.shape), adjacency \(adjacency.shape), "
                        + "importance \(importance.shape)")
        return (k, kc / k, input.plane)
    }

    static func graphFlops(input: ActivationShape, k: Int, cout: Int, cols: Int) -> Double {
        2 * Double(k * cout) * Double(input.channels * cols) + 2 * Double(k * cout * cols * input.joints)
    }

    public static func graphConvForward(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                        adjacency: Tensor, importance: Tensor, z: Tensor, y: Tensor) throws -> OpCost {
        let op = "graphConvForward"
        let (k, cout, cols) = try graphGeometry(op, x: x, input: input, weight: weight, adjacency: adjacency,
                                                importance: importance)
        try require(bias.count >= k * cout && z.count >= k * cout * cols && y.count >= cout * cols, op,
                    "bias \(bias.shape), z \(z.shape), y \(y.shape) for K \(k), Cout \(cout), \(input)")
        return OpCost(flops: graphFlops(input: input, k: k, cout: cout, cols: cols),
                      bytes: floats(input.count + weight.count + 2 * k * cout * cols + cout * cols))
    }

    public static func graphConvBackward(x: Tensor, input: ActivationShape, weight: Tensor, adjacency: Tensor,
                                         importance: Tensor, z: Tensor, dy: Tensor, dz: Tensor, dx: Tensor?,
                                         dWeight: Tensor, dBias: Tensor, dImportance: Tensor) throws -> OpCost {
        let op = "graphConvBackward"
        let (k, cout, cols) = try graphGeometry(op, x: x, input: input, weight: weight, adjacency: adjacency,
                                                importance: importance)
        let v = input.joints
        try require(z.count >= k * cout * cols && dz.count >= k * cout * cols && dy.count >= cout * cols
                        && dWeight.count >= weight.count && dBias.count >= k * cout && dImportance.count >= k * v * v
                        && (dx == nil || dx!.count >= input.count), op,
                    "z \(z.shape), dz \(dz.shape), dy \(dy.shape), dWeight \(dWeight.shape), dBias \(dBias.shape), "
                        + "dImportance \(dImportance.shape), dx \(dx.map { "\($0.shape)" } ?? "none") for K \(k), Cout \(cout), \(input)")
        // The mix's adjoint and ∂Â (two mixes), dW and, with dx, its GEMM.
        let mixes = 4 * Double(k * cout * cols * v), gemm = 2 * Double(k * cout) * Double(input.channels * cols)
        return OpCost(flops: mixes + gemm * (dx == nil ? 1 : 2),
                      bytes: floats(input.count * (dx == nil ? 1 : 2) + 2 * weight.count + 3 * k * cout * cols + cout * cols))
    }

    public static func graphConvInference(x: Tensor, input: ActivationShape, weight: Tensor, bias: Tensor,
                                          adjacency: Tensor, importance: Tensor, epilogue: ChannelEpilogue?,
                                          y: Tensor) throws -> OpCost {
        let op = "graphConvInference"
        let (k, cout, cols) = try graphGeometry(op, x: x, input: input, weight: weight, adjacency: adjacency,
                                                importance: importance)
        try require(bias.count >= k * cout && y.count >= cout * cols, op,
                    "bias \(bias.shape), y \(y.shape) for K \(k), Cout \(cout), \(input)")
        try epilogueFits(op, epilogue, channels: cout, count: cout * cols)
        return OpCost(flops: graphFlops(input: input, k: k, cout: cout, cols: cols),
                      bytes: floats(input.count + weight.count + cout * cols))
    }

    /// An epilogue over `channels` channels of `count` elements (its scale, shift, residual sizes).
    static func epilogueFits(_ op: String, _ e: ChannelEpilogue?, channels: Int, count: Int) throws {
        guard let e else { return }
        try require(e.scale.count >= channels && e.shift.count >= channels && (e.residual?.count ?? count) >= count
                        && (e.residualScale?.count ?? channels) >= channels, op,
                    "epilogue scale \(e.scale.shape), shift \(e.shift.shape), residual \(e.residual.map { "\($0.shape)" } ?? "none") "
                        + "for \(channels) channels × \(count / max(channels, 1))")
    }
}
