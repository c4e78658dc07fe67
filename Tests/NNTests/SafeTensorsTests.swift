import Compute
import Foundation
import XCTest
@testable import NN

/// The safetensors reader/writer and encoder state-dict import/export.
final class SafeTensorsTests: XCTestCase {
    /// A file assembled byte by byte from the format description: 8-byte LE header length,
    /// JSON header, data.
    func handMade(header: String, data: [UInt8]) -> Data {
        var out = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: data)
        return out
    }

    func floatBytes(_ v: [Float]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } } }
    func doubleBytes(_ v: [Double]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian) { Array($0) } } }
    func int64Bytes(_ v: [Int64]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.littleEndian) { Array($0) } } }

    func testReadsHandMadeFileWithF32F64AndI64() throws {
        let header = #"{"__metadata__":{"format":"pt"},"b":{"dtype":"F64","shape":[2],"data_offsets":[8,24]},"# +
            #""a":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"n":{"dtype":"I64","shape":[],"data_offsets":[24,32]}}"#
        let bytes = floatBytes([1.5, -2]) + doubleBytes([0.25, 3]) + int64Bytes([7])
        let st = try SafeTensors.decode(handMade(header: header, data: bytes), file: "hand.safetensors")
        XCTAssertEqual(st.metadata, ["format": "pt"])
        XCTAssertEqual(st.entries.map { $0.name }, ["a", "b", "n"], "file (offset) order")
        XCTAssertEqual(st["a"], HostTensor(shape: [1, 2], floats: [1.5, -2]))
        XCTAssertEqual(st["b"], HostTensor(shape: [2], floats: [0.25, 3]))
        XCTAssertEqual(st["n"], HostTensor(shape: [], int64s: [7]))
    }

    func testRoundTripThroughDiskIsExactAndAtomic() throws {
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let original = SafeTensors(entries: [
            ("encoder_q.fc.weight", HostTensor(shape: [2, 3], floats: [1, -2, 3.25, .pi, -0.0, 1e-30])),
            ("weird \"name\"\\x", HostTensor(shape: [1], floats: [42])),
            ("num_batches_tracked", HostTensor(shape: [], int64s: [123_456_789_012])),
            ("empty", HostTensor(shape: [0, 4], floats: [])),
        ], metadata: ["epoch": "300", "note": "line\nbreak"])
        try original.write(to: url)
        let read = try SafeTensors.read(contentsOf: url)
        XCTAssertEqual(read, original)
        // The header is padded to 8 bytes and nothing but the file is left behind.
        let data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        XCTAssertEqual(headerLength % 8, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.safetensors"])
        // Overwriting replaces the file.
        try SafeTensors(entries: [("x", HostTensor(shape: [1], floats: [1]))]).write(to: url)
        XCTAssertEqual(try SafeTensors.read(contentsOf: url).entries.map { $0.name }, ["x"])
    }

    func assertMalformed(_ data: Data, contains text: String, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors.decode(data, file: "bad.safetensors"), line: line) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("bad.safetensors"), "error names the file: \(message)", line: line)
            XCTAssertTrue(message.contains(text), "'\(message)' should mention '\(text)'", line: line)
        }
    }

    func testMalformedFilesGiveClearErrors() {
        assertMalformed(Data([1, 2, 3]), contains: "shorter than the 8-byte")
        assertMalformed(handMade(header: "{}", data: []).prefix(9), contains: "runs past the end")
        assertMalformed(handMade(header: "{\"a\":", data: []), contains: "not valid JSON")
        assertMalformed(handMade(header: "[1]", data: []), contains: "does not start with '{'")
        assertMalformed(handMade(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}}"#,
                                 data: floatBytes([1, 2])), contains: "outside the 8-byte data section")
        assertMalformed(handMade(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
                                 data: floatBytes([1, 2])), contains: "needs 12")
        assertMalformed(handMade(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                 data: floatBytes([1, 2])), contains: "overlaps")
        assertMalformed(handMade(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                 data: floatBytes([1, 2])), contains: "hole")
        assertMalformed(handMade(header: #"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#, data: []),
                        contains: "non-negative integer")
        assertMalformed(handMade(header: #"{"a":{"dtype":"F32","shape":[1]}}"#, data: floatBytes([1])),
                        contains: "data_offsets")
        XCTAssertThrowsError(try SafeTensors.decode(
            handMade(header: #"{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}"#, data: [0, 0]),
            file: "bad.safetensors")) { error in
            XCTAssertEqual(error as? SafeTensorsError,
                           .unsupportedDType(file: "bad.safetensors", tensor: "a", dtype: "BF16"))
        }
        XCTAssertThrowsError(try SafeTensors.read(contentsOf: URL(fileURLWithPath: "/nonexistent/x.safetensors"))) {
            XCTAssertTrue(String(describing: $0).contains("/nonexistent/x.safetensors"))
        }
    }

    func testEncoderStateRoundTripWithPrefix() throws {
        let device = TestSupport.cpu()
        let config = STGCNConfig(hiddenChannels: 4, hiddenDim: 8, adjacency: TestSupport.adjacency(joints: 5),
                                 joints: 5, head: .projection(hidden: 8, out: 4))
        let a = try STGCN(config: config, device: device, seed: 1)
        TestSupport.randomizeState(a, seed: 3)
        a.dataBN.bn.numBatchesTracked.value = 17
        let dir = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ckpt.safetensors")
        try SafeTensors(entries: a.exportState(prefix: "encoder_q."), metadata: ["epoch": "5"]).write(to: url)

        let st = try SafeTensors.read(contentsOf: url)
        XCTAssertEqual(st["encoder_q.st_gcn_networks.0.gcn.conv.weight"]?.shape, [12, 3, 1, 1])
        XCTAssertEqual(st["encoder_q.data_bn.num_batches_tracked"], HostTensor(shape: [], int64s: [17]))
        XCTAssertEqual(st["encoder_q.A"]?.shape, [3, 5, 5])
        XCTAssertEqual(st.entries.count, a.parameters.count + a.buffers.count + a.counters.count + 1)

        let b = try STGCN(config: config, device: device, seed: 2)
        let report = try b.importState(st.dictionary, prefix: "encoder_q.")
        XCTAssertEqual(report.missing, [])
        XCTAssertEqual(report.unexpected, [])
        for (pa, pb) in zip(a.parameters, b.parameters) { XCTAssertEqual(device.read(pa.value), device.read(pb.value), pa.name) }
        for (ba, bb) in zip(a.buffers, b.buffers) { XCTAssertEqual(device.read(ba.value), device.read(bb.value), ba.name) }
        XCTAssertEqual(b.dataBN.bn.numBatchesTracked.value, 17)

        // Same state, same eval-mode outputs.
        let ca = try a.makeContext(samples: 2, frames: 8, persons: 2, requiresGrad: false)
        let cb = try b.makeContext(samples: 2, frames: 8, persons: 2, requiresGrad: false)
        let x = TestSupport.uniform(count: ca.geometry.count, lo: -1, hi: 1, seed: 5, stream: 0)
        x.withUnsafeBufferPointer { device.upload($0, to: ca.input); device.upload($0, to: cb.input) }
        XCTAssertEqual(device.read(try a.forward(ca.input, context: ca, training: false).output),
                       device.read(try b.forward(cb.input, context: cb, training: false).output))

        // Linear evaluation: backbone only, a classifier of another shape is left alone.
        let cls = try STGCN(config: STGCNConfig(hiddenChannels: 4, hiddenDim: 8, adjacency: config.adjacency,
                                                joints: 5, head: .classifier(numClass: 3)), device: device, seed: 9)
        let fcBefore = device.read(cls.head.first!.weight.value)
        let r2 = try cls.importState(st.dictionary, prefix: "encoder_q.", includeHead: false)
        XCTAssertEqual(r2.unexpected, [])
        XCTAssertEqual(device.read(cls.head.first!.weight.value), fcBefore)
        XCTAssertEqual(device.read(cls.edgeImportance[2].value), device.read(a.edgeImportance[2].value))

        // A wrong shape and a missing tensor are errors naming the tensor.
        var broken = st.dictionary
        broken["encoder_q.edge_importance.0"] = HostTensor(shape: [75], floats: [Float](repeating: 1, count: 75))
        XCTAssertThrowsError(try b.importState(broken, prefix: "encoder_q.")) {
            XCTAssertTrue(String(describing: $0).contains("encoder_q.edge_importance.0"))
        }
        broken = st.dictionary
        broken["encoder_q.fc.2.bias"] = nil
        XCTAssertThrowsError(try b.importState(broken, prefix: "encoder_q.")) {
            XCTAssertTrue(String(describing: $0).contains("missing 'encoder_q.fc.2.bias'"))
        }
    }
}
