extension OpContract {
    /// upload and download: `count` host values into or out of the tensor's storage.
    public static func transfer(_ op: String, count: Int, tensor: Tensor) throws -> OpCost {
        try require(count <= tensor.count, op, "\(count) values for tensor \(tensor.shape)")
        return OpCost(bytes: floats(count))
    }

    public static func fill(_ tensor: Tensor) -> OpCost { OpCost(bytes: floats(tensor.count)) }

    public static func copy(src: Tensor, srcOffset: Int, dst: Tensor, dstOffset: Int, count: Int) throws -> OpCost {
        try require(srcOffset >= 0 && dstOffset >= 0 && count >= 0 && srcOffset + count <= src.count
                        && dstOffset + count <= dst.count, "copy",
                    "[\(srcOffset) ..< \(srcOffset + count)] of \(src.shape) to [\(dstOffset) ..< \(dstOffset + count)] "
                        + "of \(dst.shape)")
        return OpCost(bytes: floats(2 * count))
    }
}
