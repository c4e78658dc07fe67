import CZlib
import Foundation

/// A decoded 8-bit RGB or RGBA PNG (non-interlaced, the kind headless Chromium writes), for
/// checking screenshots pixel by pixel.
public struct PNGImage {
    public struct DecodeError: Error, CustomStringConvertible { public var description: String }

    public let width: Int
    public let height: Int
    /// Channels per pixel: 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// Rows top to bottom, `width * channels` bytes each.
    public let pixels: [UInt8]

    public init(contentsOf path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        guard bytes.count > 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else {
            throw DecodeError(description: "\(path): not a PNG")
        }
        func u32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        var offset = 8
        var width = 0, height = 0, channels = 0
        var compressed: [UInt8] = []
        while offset + 12 <= bytes.count {
            let length = u32(offset)
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let start = offset + 8
            guard start + length + 4 <= bytes.count else { throw DecodeError(description: "\(path): chunk \(type) runs past the end") }
            switch type {
            case "IHDR":
                width = u32(start); height = u32(start + 4)
                let depth = bytes[start + 8], colour = bytes[start + 9], interlace = bytes[start + 12]
                guard depth == 8, colour == 2 || colour == 6, interlace == 0 else {
                    throw DecodeError(description: "\(path): bit depth \(depth), colour type \(colour), interlace \(interlace) not handled")
                }
                channels = colour == 2 ? 3 : 4
            case "IDAT": compressed += bytes[start..<(start + length)]
            default: break
            }
            offset = start + length + 4
        }
        guard width > 0, height > 0, channels > 0 else { throw DecodeError(description: "\(path): no IHDR") }
        let stride = width * channels
        var raw = [UInt8](repeating: 0, count: height * (stride + 1))
        var rawLength = uLongf(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { out in
            compressed.withUnsafeBufferPointer { input in
                uncompress(out.baseAddress, &rawLength, input.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK, Int(rawLength) == raw.count else {
            throw DecodeError(description: "\(path): zlib status \(status), \(rawLength) of \(raw.count) bytes")
        }
        // Undo the per-row filters (PNG spec §9): none, sub, up, average, Paeth.
        var pixels = [UInt8](repeating: 0, count: height * stride)
        var badFilter: (row: Int, type: UInt8)?
        raw.withUnsafeBufferPointer { r in
            pixels.withUnsafeMutableBufferPointer { px in
                rows: for y in 0..<height {
                    let filter = r[y * (stride + 1)]
                    let input = y * (stride + 1) + 1, row = y * stride, above = row - stride
                    for x in 0..<stride {
                        let value = Int(r[input + x])
                        let a = x >= channels ? Int(px[row + x - channels]) : 0
                        let b = y > 0 ? Int(px[above + x]) : 0
                        let c = x >= channels && y > 0 ? Int(px[above + x - channels]) : 0
                        let predicted: Int
                        switch filter {
                        case 0: predicted = 0
                        case 1: predicted = a
                        case 2: predicted = b
                        case 3: predicted = (a + b) / 2
                        case 4:
                            let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                            predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                        default:
                            badFilter = (y, filter)
                            break rows
                        }
                        px[row + x] = UInt8((value + predicted) & 0xFF)
                    }
                }
            }
        }
        if let bad = badFilter { throw DecodeError(description: "\(path): row \(bad.row) has filter type \(bad.type)") }
        self.width = width; self.height = height; self.channels = channels; self.pixels = pixels
    }

    /// (r, g, b) at column x, row y.
    public func rgb(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * channels
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
